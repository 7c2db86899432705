// What the app knows about the signed-in patient. The server is the record of truth; a copy
// of the last answers is kept in IndexedDB (never in the service worker's cache) so the app
// works offline, and it is wiped on sign-out or when a different person signs in.
import * as api from "/shared/api.js";
import * as db from "./db.js";
import { setZone } from "/shared/format.js";

export const state = { account: null, online: navigator.onLine };

export async function adoptSession(body) {
  if (!body || !body.authenticated) return null;
  const previous = await db.get("account").catch(() => null);
  if (previous && previous.id !== body.account.id) await wipe();
  state.account = body.account;
  await db.set("account", body.account);
  return body.account;
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
    state.account = null;
    if (await db.exists()) await db.del("account").catch(() => {});
    return null;
  } catch (err) {
    if (!err.offline && err.status < 500) throw err;
    state.account = (await db.get("account").catch(() => null)) || null;
    return state.account;
  }
}

// The answers kept for offline use: "today", "plan", "protocol" and "settings", each the
// signed-in patient's own /api/me/<name>.
const SNAPSHOTS = new Set(["today", "plan", "protocol", "settings"]);

// Fresh from the network when possible, else the stored copy (marked stale).
export async function load(name) {
  if (!SNAPSHOTS.has(name)) throw new Error(`no snapshot called ${name}`);
  try {
    const data = await api.get(`/api/me/${name}`);
    await db.set(`snap:${name}`, data).catch(() => {});
    if (data && data.patient) setZone(data.patient.time_zone);
    if (data && data.time_zone && name !== "plan") setZone(data.time_zone);
    return { data, fresh: true };
  } catch (err) {
    if (err.status === 401) throw err;
    const data = await db.get(`snap:${name}`).catch(() => null);
    if (!data) throw err;
    if (data.patient) setZone(data.patient.time_zone);
    return { data, fresh: false, error: err };
  }
}

export const cached = (name) => db.get(`snap:${name}`).catch(() => null);
export const remember = (name, data) => db.set(`snap:${name}`, data).catch(() => {});

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
