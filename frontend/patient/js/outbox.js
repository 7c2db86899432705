// The outbox: completed applications, settings changes and photos wait here until the server
// has them. A photo item holds its file's bytes (an ArrayBuffer, which every browser's
// IndexedDB stores; Blobs were not always) and is sent as multipart/form-data with progress. Replayed from the page (Background Sync is Chromium-only) on start, on sign-in, on
// `online` and when the app becomes visible. Each item keeps the Idempotency-Key made when it
// was queued, so a replay after a lost response is recorded once. Each item belongs to the
// account that queued it (item.owner) and is only ever sent with that account's session
// (api.request's `owner`); other accounts neither see nor send it. Nothing is dropped
// silently: an item the server refuses stays, marked failed, until the patient retries or
// removes it.
import { ApiError, request, session, upload } from "/shared/api.js";
import { plural } from "/shared/format.js";
import * as db from "./db.js";
import { me } from "./state.js";

const listeners = new Set();
const progressListeners = new Set();
let replaying = null;

export const onChange = (fn) => listeners.add(fn);
// `fn(key, fraction)` while a photo item's bytes are leaving; returns a function that stops it.
export function onProgress(fn) {
  progressListeners.add(fn);
  return () => progressListeners.delete(fn);
}
const notify = async () => {
  const items = await pending();
  listeners.forEach((fn) => fn(items));
};

// The signed-in account's items (none while signed out).
export async function pending() {
  const owner = me();
  if (!owner) return [];
  return (await db.outboxAll().catch(() => [])).filter((i) => i.owner === owner);
}

// Every item on this device, whoever queued it, without creating the database.
export const stored = async () => ((await db.exists()) ? db.outboxAll().catch(() => []) : []);

const NOUNS = { complete: "application", settings: "settings change", photo: "photo" };

// What the items are, in words: "1 application", "2 applications and 1 settings change".
export function describe(items) {
  const counts = new Map();
  for (const item of items) {
    const noun = NOUNS[item.kind] || "change";
    counts.set(noun, (counts.get(noun) || 0) + 1);
  }
  return [...counts].map(([noun, n]) => plural(n, noun)).join(" and ");
}

// A photo item also carries `file` ({ data: ArrayBuffer, type, name }) and `fields` (the
// form's other fields, strings).
export async function enqueue({ kind, method, path, body, label, number = null, file = null, fields = null }) {
  const owner = me();
  if (!owner) throw new Error("signed out");
  const item = {
    key: crypto.randomUUID(),
    owner,
    kind,
    number,
    method,
    path,
    body,
    label,
    file,
    fields,
    queued_at: new Date().toISOString(),
    status: "waiting",
    attempts: 0,
    error: null,
  };
  await db.outboxPut(item);
  await notify();
  return item;
}

export async function remove(key) {
  await db.outboxDelete(key);
  await notify();
}

export async function retry(key) {
  const item = (await pending()).find((i) => i.key === key);
  if (item) await db.outboxUpdate({ ...item, status: "waiting", error: null });
  return replay();
}

// One replay at a time; a second call while one runs waits for the same run.
export function replay() {
  if (!replaying) replaying = drain().finally(() => (replaying = null));
  return replaying;
}

async function drain() {
  const done = [];
  for (const item of await pending()) {
    if (item.status !== "waiting") continue;
    const outcome = await send(item);
    if (outcome === "stop") break;
    if (outcome) done.push({ item, result: outcome });
  }
  await notify();
  return done;
}

function transmit(item) {
  const headers = { "Idempotency-Key": item.key };
  if (!item.file) return request(item.method, item.path, item.body, headers, { owner: item.owner });
  const form = new FormData();
  for (const [name, value] of Object.entries(item.fields || {})) form.append(name, value);
  form.append("file", new Blob([item.file.data], { type: item.file.type }), item.file.name);
  const onProgress = (fraction) => progressListeners.forEach((fn) => fn(item.key, fraction));
  return upload(item.path, form, headers, { owner: item.owner, onProgress });
}

async function send(item, csrfRetried = false) {
  try {
    const result = await transmit(item);
    await db.outboxDelete(item.key);
    return result || {};
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 403 && err.code === "csrf_failed" && !csrfRetried) {
      await session().catch(() => null);
      return send(item, true);
    }
    // Offline, server trouble, "still working on it", signed out or signed in as someone
    // else: keep it and try later.
    if (err.offline || err.status >= 500 || err.status === 429 || err.status === 401 || err.code === "request_in_progress") {
      await db.outboxUpdate({ ...item, attempts: item.attempts + 1 });
      return "stop";
    }
    await db.outboxUpdate({ ...item, attempts: item.attempts + 1, status: "failed", error: { code: err.code, message: err.message } });
    return null;
  }
}

let started = false;
let synced = () => {};
// After any run in progress (it may have stopped on the session that just ended, or started
// before the newest item was queued), a run of its own; what it sent.
export const flush = () =>
  (replaying || Promise.resolve())
    .catch(() => {})
    .then(replay)
    .then((done) => {
      if (done.length) synced(done);
      return done;
    });
const go = () => flush().catch(() => {});

// On start and on every sign-in: replay now, then whenever the device is back online or the app visible.
export function start(onSynced) {
  synced = onSynced;
  if (!started) {
    started = true;
    window.addEventListener("online", go);
    document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && go());
  }
  go();
}
