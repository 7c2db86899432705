// Hash routes ("#/session/3"): back and forward work, and nothing in the URL reaches the server.
const routes = [];
let current = null;

export function route(pattern, handler, options = {}) {
  const keys = [];
  const regex = new RegExp(
    "^" + pattern.replace(/:(\w+)/g, (_, k) => (keys.push(k), "([^/]+)")) + "/?$"
  );
  routes.push({ regex, keys, handler, options });
}

export function resolve(hash) {
  const path = (hash || "").replace(/^#/, "") || "/";
  for (const r of routes) {
    const m = path.match(r.regex);
    if (m) return { ...r, params: Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])), path };
  }
  return null;
}

export const go = (path, { replace = false } = {}) => {
  const hash = "#" + path;
  if (location.hash === hash) return render();
  if (replace) {
    history.replaceState(null, "", hash);
    return render();
  }
  location.hash = hash;
};

let guard = () => true;
export const setGuard = (fn) => (guard = fn);

export async function render() {
  const match = resolve(location.hash);
  if (!match) return go("/today", { replace: true });
  if (!(await guard(match))) return;
  current = match;
  await match.handler(match.params, match);
}

export const currentRoute = () => current;

// A screen that awaits the network must not draw over the screen the patient has moved on
// to meanwhile: `const live = lease()` when it starts, `if (!live()) return` after each wait.
export function lease() {
  const hash = location.hash;
  return () => location.hash === hash;
}

export function start() {
  window.addEventListener("hashchange", render);
  return render();
}
