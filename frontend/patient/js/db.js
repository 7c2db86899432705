// IndexedDB helpers. Two stores: "kv" (the last copy of the patient's course for offline
// use, and a guided session in progress) and "outbox" (changes waiting to reach the server).
const NAME = "anagen";
let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(NAME, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore("kv");
        req.result.createObjectStore("outbox", { keyPath: "key" });
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
