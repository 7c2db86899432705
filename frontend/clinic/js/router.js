// Real paths under /clinic/ (history API), so a reload, a bookmark or "open in new tab" lands on
// the same page; the server answers every /clinic/… page with the shell (anagen/web.py).
export const BASE = "/clinic";
const routes = [];
const listeners = new Set();

// `options`: { title, nav: "patients" | "enrol" | "admin", admin: true (admins only), public: true }
export function route(pattern, component, options = {}) {
  const keys = [];
  const regex = new RegExp("^" + pattern.replace(/:(\w+)/g, (_, k) => (keys.push(k), "([^/]+)")) + "/?$");
  routes.push({ pattern, regex, keys, component, options });
}

export function current() {
  const path = location.pathname.slice(BASE.length) || "/";
  const query = Object.fromEntries(new URLSearchParams(location.search));
  for (const r of routes) {
    const m = path.match(r.regex);
    if (m) return { ...r, path, query, params: Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])) };
  }
  return { path, query, params: {}, component: null, options: { title: "Page not found" } };
}

export const href = (path) => BASE + path;

export function navigate(path, { replace = false } = {}) {
  const url = BASE + path;
  if (url !== location.pathname + location.search) history[replace ? "replaceState" : "pushState"](null, "", url);
  for (const fn of listeners) fn();
}

// Change the query string without a new history entry or moving focus (filters, sorting).
export function setQuery(query) {
  const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== "" && v != null && v !== false)).toString();
  history.replaceState(null, "", location.pathname + (qs ? "?" + qs : ""));
  for (const fn of listeners) fn({ quiet: true });
}

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function start() {
  // Back and forward to another page re-render; an in-page anchor (the skip link) also fires
  // popstate, but it is the same page.
  let shown = location.pathname + location.search;
  subscribe(() => (shown = location.pathname + location.search));
  window.addEventListener("popstate", () => {
    if (location.pathname + location.search === shown) return;
    listeners.forEach((fn) => fn());
  });
  // Plain links inside the workspace navigate without reloading; new-tab clicks, downloads,
  // in-page anchors (the skip link) and links elsewhere keep the browser's behaviour.
  document.addEventListener("click", (event) => {
    const a = event.target.closest && event.target.closest("a[href]");
    if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (a.target || a.hasAttribute("download") || a.getAttribute("href").startsWith("#")) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || !url.pathname.startsWith(BASE + "/") || url.pathname.startsWith(BASE + "/assets/")) return;
    event.preventDefault();
    navigate(url.pathname.slice(BASE.length) + url.search);
  });
}
