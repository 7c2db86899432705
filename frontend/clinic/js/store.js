// The workspace's small shared state (who is signed in, the idle clock, a pending password
// prompt), with subscribe/notify so the shell re-renders when it changes.
import { useState, useLayoutEffect } from "./html.js";

const listeners = new Set();
let version = 0; // counts updates: a view that subscribes late can tell it missed one

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
  version += 1;
  for (const fn of listeners) fn(state);
}

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// The state, for a view that re-renders when it changes. Subscribed in a layout effect (right
// after the first render, not after the next paint as useEffect is), and an update that came
// between the render and the subscription re-renders at once: the session answer could
// otherwise arrive first and leave the shell on "Loading" for good.
export function useStore() {
  const [seen, setSeen] = useState(version);
  useLayoutEffect(() => {
    const off = subscribe(() => setSeen(version));
    if (version !== seen) setSeen(version);
    return off;
  }, []);
  return state;
}

export const isAdmin = () => state.account?.role === "admin";
