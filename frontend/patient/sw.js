// Anagen service worker. The server fills in VERSION (a hash of the shell files) and SHELL
// (their URLs), so every release gets a new cache and old ones are deleted on activate.
// Only the app shell is ever cached: /api/ requests are not touched (network only), so no
// authenticated response is kept where another account could read it.
const VERSION = "__ANAGEN_VERSION__";
const SHELL = ["__ANAGEN_SHELL__"];
const CACHE = `anagen-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // "no-cache" revalidates against what the page just loaded (a 304 per file), instead of
      // downloading the whole app a second time as "reload" would.
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "no-cache" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

// The worker's scope is the whole origin (the app is the page at "/"), so it also sees the
// requests of pages that are not the patient app (the clinic app under /clinic/, error
// pages). It answers only for the patient app: the navigation to "/" and the shell files a
// patient page asks for. Everything else goes to the network untouched, online or offline,
// and never gets the patient shell.
const APP_PAGE = "/";

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (url.pathname !== APP_PAGE) return;
    // The page itself: fresh when online, the cached shell when not.
    event.respondWith(fetch(request).catch(() => caches.match(APP_PAGE, { cacheName: CACHE })));
    return;
  }
  if (!SHELL.includes(url.pathname)) return; // /api/ included: network only, never cached
  event.respondWith(shellFile(event, request, url.pathname));
});

// A shell file from this release's cache, for the patient app's pages; another page in the
// scope (one that shares /shared/ modules) gets the server's current copy.
async function shellFile(event, request, path) {
  const client = event.clientId ? await self.clients.get(event.clientId) : null;
  if (client && new URL(client.url).pathname !== APP_PAGE) return fetch(request);
  return (await caches.match(path, { cacheName: CACHE })) || fetch(request);
}

// Reminders. Every push shows a notification (iOS revokes a subscription whose pushes show
// none), tagged with the occurrence id so a repeated delivery replaces rather than adds.
// Tapping the notification does the main thing (opens the app where the reminder points);
// the "Snooze" action is an extra that only Chromium shows.
const ICON = "/app/icons/icon-192.png";
const GENERIC = { title: "Anagen reminder", body: "Open Anagen to see what is due." };

// Only the app's own screens: a URL from a payload never leaves the origin.
function appUrl(value) {
  return typeof value === "string" && /^\/#\/[\w\-/]*$/.test(value) ? value : "/#/today";
}

const text = (value, fallback, max) => (typeof value === "string" && value.trim() ? value.slice(0, max) : fallback);

self.addEventListener("push", (event) => {
  let data = null;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null;
  }
  if (!data || typeof data !== "object") data = {};
  const id = /^[\w-]{1,64}$/.test(String(data.id ?? "")) ? String(data.id) : null;
  const snooze = data.snooze === true && id !== null;
  event.waitUntil(
    self.registration.showNotification(text(data.title, GENERIC.title, 80), {
      body: text(data.body, GENERIC.body, 240),
      tag: id ? `occurrence-${id}` : "anagen-reminder",
      renotify: false,
      icon: ICON,
      badge: ICON,
      data: { url: appUrl(data.url), id, snooze },
      actions: snooze ? [{ action: "snooze", title: "Snooze 1 h" }] : [],
    })
  );
});

// Snooze from the notification: the worker has the session cookie but not the CSRF token,
// so it asks for the session first. If it fails, a notification offers the app's own
// snooze screen instead (nothing is lost silently).
async function snoozeFromWorker(id) {
  try {
    const session = await fetch("/api/auth/session", { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = session.ok ? await session.json() : {};
    if (!body.authenticated) throw new Error("signed out");
    const response = await fetch(`/api/me/reminders/${encodeURIComponent(id)}/snooze`, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": body.csrf_token },
    });
    if (response.ok || response.status === 409 || response.status === 404) return;
    throw new Error(`snooze ${response.status}`);
  } catch {
    await self.registration.showNotification("Anagen reminder", {
      body: "The reminder could not be snoozed. Tap to open Anagen.",
      tag: `occurrence-${id}`,
      icon: ICON,
      badge: ICON,
      data: { url: `/#/snooze/${id}`, id, snooze: false },
    });
  }
}

async function openApp(path) {
  const target = new URL(path, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const app = windows.find((c) => new URL(c.url).origin === self.location.origin && new URL(c.url).pathname === "/");
  if (app) {
    // Focus first (allowed while handling the click), then let the app route itself:
    // no reload, so a guided application in progress is not interrupted.
    const focused = await app.focus().catch(() => app);
    (focused || app).postMessage({ type: "anagen:open", url: path });
    return;
  }
  await self.clients.openWindow(target);
}

self.addEventListener("notificationclick", (event) => {
  const notification = event.notification;
  const data = notification.data || {};
  notification.close();
  if (event.action === "snooze" && data.id) {
    event.waitUntil(snoozeFromWorker(data.id));
    return;
  }
  event.waitUntil(openApp(appUrl(data.url)));
});
