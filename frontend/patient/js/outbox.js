// The outbox: completed applications and settings changes wait here until the server has
// them. Replayed from the page (Background Sync is Chromium-only) on start, on `online` and
// when the app becomes visible. Each item keeps the Idempotency-Key made when it was
// queued, so a replay after a lost response is recorded once. Nothing is dropped silently:
// an item the server refuses stays, marked failed, until the patient retries or removes it.
import { ApiError, request, session } from "/shared/api.js";
import * as db from "./db.js";

const listeners = new Set();
let replaying = null;

export const onChange = (fn) => listeners.add(fn);
const notify = async () => {
  const items = await pending();
  listeners.forEach((fn) => fn(items));
};

export const pending = () => db.outboxAll().catch(() => []);

export async function enqueue({ kind, method, path, body, label, number = null }) {
  const item = {
    key: crypto.randomUUID(),
    kind,
    number,
    method,
    path,
    body,
    label,
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
  if (item) await db.outboxPut({ ...item, status: "waiting", error: null });
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

async function send(item, csrfRetried = false) {
  try {
    const result = await request(item.method, item.path, item.body, { "Idempotency-Key": item.key });
    await db.outboxDelete(item.key);
    return result || {};
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 403 && err.code === "csrf_failed" && !csrfRetried) {
      await session().catch(() => null);
      return send(item, true);
    }
    // Offline, server trouble, "still working on it" or signed out: keep it and try later.
    if (err.offline || err.status >= 500 || err.status === 429 || err.status === 401 || err.code === "request_in_progress") {
      await db.outboxPut({ ...item, attempts: item.attempts + 1 });
      return "stop";
    }
    await db.outboxPut({ ...item, attempts: item.attempts + 1, status: "failed", error: { code: err.code, message: err.message } });
    return null;
  }
}

let started = false;
export function start(onSynced) {
  if (started) return;
  started = true;
  const go = () =>
    replay()
      .then((done) => done.length && onSynced(done))
      .catch(() => {});
  window.addEventListener("online", go);
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && go());
  go();
}
