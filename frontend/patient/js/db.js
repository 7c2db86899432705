// IndexedDB helpers. Two stores: "kv" (the last copy of the patient's course for offline
// use, and a guided session in progress) and "outbox" (changes waiting to reach the server).
// Every record carries its owner (api.ownerOf: "patient:12"): kv values as { owner, data },
// outbox items as item.owner; "owner" itself names the account whose data this device holds.
import { ownerOf } from "/shared/api.js";

const NAME = "anagen";
let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(NAME, 2);
      req.onupgradeneeded = (event) => {
        if (event.oldVersion < 1) {
          req.result.createObjectStore("kv");
          req.result.createObjectStore("outbox", { keyPath: "key" });
        } else if (event.oldVersion < 2) stampOwner(req.transaction);
      };
      req.onsuccess = () => {
        req.result.onversionchange = () => req.result.close();
        resolve(req.result);
      };
      req.onerror = () => reject(req.error);
    });
    opening.catch(() => (opening = null));
  }
  return opening;
}

async function run(store, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const result = fn(tx.objectStore(store));
    tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const get = (key) => run("kv", "readonly", (s) => s.get(key));
export const set = (key, value) => run("kv", "readwrite", (s) => s.put(value, key));
export const del = (key) => run("kv", "readwrite", (s) => s.delete(key));

export const outboxAll = async () =>
  ((await run("outbox", "readonly", (s) => s.getAll())) || []).sort((a, b) => a.queued_at.localeCompare(b.queued_at));
export const outboxPut = (item) => run("outbox", "readwrite", (s) => s.put(item));
export const outboxDelete = (key) => run("outbox", "readwrite", (s) => s.delete(key));
// Rewrites an item that is still there; one removed meanwhile (the device wiped for another
// account) is not brought back.
export const outboxUpdate = (item) =>
  run("outbox", "readwrite", (s) => {
    s.getKey(item.key).onsuccess = (e) => e.target.result !== undefined && s.put(item);
  });

const each = (store, fn) => {
  store.openCursor().onsuccess = (e) => {
    const cursor = e.target.result;
    if (!cursor) return;
    fn(cursor);
    cursor.continue();
  };
};

// Removes every record that is not `owner`'s (kv values without an owner stay: "owner", "account").
export async function purge(owner) {
  const db = await open();
  await new Promise((resolve, reject) => {
    const tx = db.transaction(["kv", "outbox"], "readwrite");
    each(tx.objectStore("kv"), (c) => c.value && c.value.owner && c.value.owner !== owner && c.delete());
    each(tx.objectStore("outbox"), (c) => c.value.owner !== owner && c.delete());
    tx.oncomplete = resolve;
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

// Version 1 stored records without an owner: they become the last signed-in account's
// ("account"). With no account known they stay unowned, read by no one, and the next
// sign-in clears the device (state.adoptSession).
function stampOwner(tx) {
  const kv = tx.objectStore("kv");
  kv.get("account").onsuccess = (e) => {
    const owner = ownerOf(e.target.result);
    if (!owner) return;
    each(kv, (c) => c.key !== "account" && c.key !== "owner" && c.update({ owner, data: c.value }));
    kv.put(owner, "owner");
    each(tx.objectStore("outbox"), (c) => c.update({ ...c.value, owner }));
  };
}

// Whether the database exists, without creating it (a signed-out visit leaves nothing behind).
export async function exists() {
  if (opening) return true;
  if (!indexedDB.databases) return true;
  return (await indexedDB.databases()).some((d) => d.name === NAME);
}

// Sign-out: drop the whole database, not just its rows.
export async function destroy() {
  if (opening) {
    try {
      (await opening).close();
    } catch {
      /* it never opened */
    }
    opening = null;
  }
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(NAME);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
}
