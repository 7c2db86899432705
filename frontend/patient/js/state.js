// What the app knows about the signed-in patient. The server is the record of truth; a copy
// of the last answers is kept in IndexedDB (never in the service worker's cache) so the app
// works offline. Everything kept is filed under its owner (the account of the session that
// made it): it is read only while that account is signed in, kept for it while no one is,
// and wiped on sign-out or as soon as a different account signs in.
import * as api from "/shared/api.js";
import * as db from "./db.js";
import { setZone } from "/shared/format.js";

export const state = { account: null, online: navigator.onLine };

// The signed-in account's owner key ("patient:12"), or null.
export const me = () => api.ownerOf(state.account);

// A new session (sign-in, invite, start): another account's data leaves the device before
// anything of this one loads; this account's own waiting items stay, to be sent.
export async function adoptSession(body) {
  if (!body || !body.authenticated) return null;
  const owner = api.ownerOf(body.account);
  if (await db.exists()) {
    if ((await db.get("owner").catch(() => null)) !== owner) await wipe();
    else await db.purge(owner).catch(() => {});
  }
  state.account = body.account;
  await db.set("owner", owner);
  await db.set("account", body.account);
  return body.account;
}

// The server no longer knows this session: signed out here too. What is on the device stays
// with its owner, for when they sign in again.
async function ended() {
  state.account = null;
  if (await db.exists()) await db.del("account").catch(() => {});
}

// A record of the signed-in account's, or null (another account's is never read).
export async function mine(key) {
  const record = await db.get(key).catch(() => null);
  return record && record.owner && record.owner === me() ? record.data : null;
}

// Kept as `owner`'s (the signed-in account by default); not written once someone else is signed in.
export async function keep(key, data, owner = me()) {
  if (owner && owner === me()) await db.set(key, { owner, data });
}

// On start: ask the server who is signed in; offline, trust the copy from last time.
export async function restore() {
  try {
    if (localStorage.getItem("anagen.signout")) {
      // Signed out offline: the server still has this phone's push subscription and session.
      const endpoint = localStorage.getItem("anagen.signout.push");
      if (endpoint) await api.request("DELETE", "/api/me/push-subscriptions", { endpoint }).catch(() => null);
      await api.logout();
      localStorage.removeItem("anagen.signout");
      localStorage.removeItem("anagen.signout.push");
    }
    const body = await api.session();
    if (body.authenticated) return adoptSession(body);
    // Signed out on the server (or the session expired): anything still in the outbox is
    // kept for when this patient signs in again, but nothing new is created.
    await ended();
    return null;
  } catch (err) {
    if (!err.offline && err.status < 500) throw err;
    state.account = (await db.exists()) ? (await db.get("account").catch(() => null)) || null : null;
    return state.account;
  }
}

// The answers kept for offline use: "today", "plan", "protocol", "settings" and "photos", each
// the signed-in patient's own /api/me/<name>.
const SNAPSHOTS = new Set(["today", "plan", "protocol", "settings", "photos"]);

// Fresh from the network when possible, else the stored copy (marked stale).
export async function load(name) {
  if (!SNAPSHOTS.has(name)) throw new Error(`no snapshot called ${name}`);
  const owner = me();
  try {
    const data = await api.get(`/api/me/${name}`);
    await keep(`snap:${name}`, data, owner).catch(() => {});
    if (data && data.patient) setZone(data.patient.time_zone);
    if (data && data.time_zone && name !== "plan") setZone(data.time_zone);
    return { data, fresh: true };
  } catch (err) {
    if (err.status === 401) {
      await ended();
      throw err;
    }
    const data = await mine(`snap:${name}`);
    if (!data) throw err;
    if (data.patient) setZone(data.patient.time_zone);
    return { data, fresh: false, error: err };
  }
}

export const cached = (name) => mine(`snap:${name}`);
export const remember = (name, data) => keep(`snap:${name}`, data).catch(() => {});

// Everything personal goes: IndexedDB, the Cache Storage entries, local and session storage.
export async function wipe() {
  state.account = null;
  await db.destroy();
  try {
    localStorage.clear();
    sessionStorage.clear();
  } catch {
    /* storage disabled */
  }
  if ("caches" in window) {
    // The app shell holds nothing personal, but drop any cache that is not the shell.
    for (const name of await caches.keys()) if (!name.startsWith("anagen-shell-")) await caches.delete(name);
  }
}
