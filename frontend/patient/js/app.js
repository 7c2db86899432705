// Boot: service worker, who is signed in, routes, and the outbox replay.
import "./install.js";
import * as outbox from "./outbox.js";
import * as push from "./push.js";
import * as router from "./router.js";
import { state, restore } from "./state.js";
import { h, show, screen, alert, button } from "/shared/dom.js";
import { plural } from "/shared/format.js";
import * as login from "./screens/login.js";
import * as invite from "./screens/invite.js";
import * as setup from "./screens/setup.js";
import * as today from "./screens/today.js";
import * as session from "./screens/session.js";
import * as plan from "./screens/plan.js";
import * as settings from "./screens/settings.js";
import * as sync from "./screens/sync.js";
import * as snooze from "./screens/snooze.js";

const PUBLIC = new Set(["login", "invite"]);

router.route("/login", login.render, { name: "login" });
router.route("/invite/:token", invite.welcome, { name: "invite" });
router.route("/invite/:token/password", invite.password, { name: "invite" });
router.route("/invite/:token/consent", invite.consent, { name: "invite" });
router.route("/setup/install", setup.install, { name: "setup" });
router.route("/setup/notifications", setup.notifications, { name: "setup" });
router.route("/setup/reminders", setup.reminders, { name: "setup" });
router.route("/today", today.render, { name: "today", tab: "today" });
router.route("/session/:step", session.render, { name: "session" });
router.route("/plan", plan.render, { name: "plan", tab: "plan" });
router.route("/settings", settings.render, { name: "settings", tab: "settings" });
router.route("/sync", sync.render, { name: "sync", tab: "today" });
router.route("/snooze/:id", snooze.render, { name: "snooze" });
// The photo screens load on first use (the camera code stays out of the first load); the
// service worker has them cached with the rest of the shell, so they open offline too.
const lazy = (load, name) => (params, match) => load().then((m) => m[name](params, match));
router.route("/photos", lazy(() => import("./screens/photos.js"), "render"), { name: "photos", tab: "photos" });
router.route("/photos/:checkpoint/:view", lazy(() => import("./screens/capture.js"), "render"), { name: "capture" });
router.route("/reminder/:id", snooze.reminder, { name: "snooze" });

router.setGuard(async (match) => {
  const name = match.options.name;
  if (!state.account) renderSync([]); // what waits belongs to someone not signed in
  if (!PUBLIC.has(name) && !state.account) {
    router.go("/login", { replace: true });
    return false;
  }
  if (name === "login" && state.account) {
    router.go("/today", { replace: true });
    return false;
  }
  const tabs = document.getElementById("tabs");
  tabs.hidden = !match.options.tab;
  for (const a of tabs.querySelectorAll("a")) {
    if (a.dataset.tab === match.options.tab) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  return true;
});

function renderSync(items) {
  const el = document.getElementById("sync");
  el.replaceChildren();
  const failed = items.filter((i) => i.status === "failed").length;
  const waiting = items.length - failed;
  if (!items.length) return;
  const text = failed
    ? `${plural(failed, "change")} could not be saved`
    : `${plural(waiting, "change")} waiting to sync`;
  el.append(h("a", { href: "#/sync", class: failed ? "sync-link failed" : "sync-link" }, text));
}

function onSynced() {
  const name = router.currentRoute()?.options.name;
  if (name === "today" || name === "plan" || name === "sync" || name === "photos") router.render();
}

async function boot() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
    // A tapped notification, with the app already open: the worker asks for its screen.
    navigator.serviceWorker.addEventListener("message", (event) => {
      const data = event.data || {};
      if (data.type === "anagen:open" && typeof data.url === "string" && data.url.startsWith("/#/")) router.go(data.url.slice(2));
    });
  }
  outbox.onChange(renderSync);
  window.addEventListener("online", () => (state.online = true));
  window.addEventListener("offline", () => (state.online = false));
  try {
    await restore();
  } catch {
    show(screen("Anagen cannot start", alert("We could not reach your clinic's service. Check your connection, then try again."), button("Try again", () => location.reload())));
    return;
  }
  await router.start();
  if (state.account) {
    outbox.start(onSynced);
    push.resync();
  }
}

// Login and invite screens announce a new session (any other account's data already gone):
// the outbox replays what this account left waiting.
window.addEventListener("anagen:signedin", () => {
  outbox.start(onSynced);
  push.resync();
});

boot();
