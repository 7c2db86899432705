// The workspace's small shared state (who is signed in, the idle clock, a pending password
// prompt), with subscribe/notify so the shell re-renders when it changes.
const listeners = new Set();

export const state = {
  status: "loading", // loading | signed-in | signed-out
  account: null,
  reason: null, // why the person is looking at sign-in: "expired" (idle) or null
  idleSeconds: 30 * 60, // the server's figure replaces it at sign-in
  lastActive: Date.now(), // the last request the server saw from this tab
  reauth: null, // { message, resolve, reject } while the password is asked again
};

export function update(changes) {
  Object.assign(state, changes);
  for (const fn of listeners) fn(state);
}

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export const isAdmin = () => state.account?.role === "admin";
