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
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
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

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return; // network only, never cached
  if (request.mode === "navigate") {
    // The page itself: fresh when online, the cached shell when not.
    event.respondWith(fetch(request).catch(() => caches.match("/", { cacheName: CACHE })));
    return;
  }
  if (SHELL.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
  }
});

// Reminders (the push issue fills in the details). Tapping the notification opens today's
// application: action buttons are extras, Safari shows none.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "Anagen", {
      body: data.body || "Open Anagen to see what is due.",
      tag: data.tag || data.id || undefined,
      icon: "/app/icons/icon-192.png",
      badge: "/app/icons/icon-192.png",
      data: { url: data.url || "/#/today" },
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/#/today", self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((list) => {
      for (const client of list) {
        if (new URL(client.url).origin === self.location.origin) {
          return client.focus().then((c) => c.navigate(target));
        }
      }
      return self.clients.openWindow(target);
    })
  );
});
