// Reminder days and time, time zone, quiet hours, notifications, your data, sign out.
import * as api from "/shared/api.js";
import * as outbox from "../outbox.js";
import * as push from "../push.js";
import { load, remember, state, wipe } from "../state.js";
import { h, show, screen, alert, notice, button, busy, ask } from "/shared/dom.js";
import { go, lease } from "../router.js";
import { reminderFields, fieldErrors } from "./reminderform.js";

export async function render() {
  const live = lease();
  show(screen("Settings", h("p", { class: "loading", role: "status" }, "Loading…")));
  let settings, protocol, fresh;
  try {
    const [sr, pr] = await Promise.all([load("settings"), load("protocol").catch(() => ({ data: null }))]);
    settings = sr.data;
    fresh = sr.fresh;
    protocol = pr.data;
  } catch (err) {
    if (!live()) return;
    if (err.status === 401) return go("/login", { replace: true });
    show(screen("Settings", alert(err.message), button("Try again", () => render()), signOutBlock()));
    return;
  }
  // A change still in the outbox is what the patient last chose: show that.
  for (const item of await outbox.pending()) if (item.kind === "settings") Object.assign(settings, item.body);
  if (!live()) return;

  const form = reminderFields(settings, protocol);
  const errors = h("div", { class: "errors", role: "status" });
  const submit = h("button", { type: "submit", class: "btn primary" }, "Save settings");
  const el = h(
    "form",
    { class: "stack" },
    form.element,
    errors,
    submit
  );
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const { value, error } = form.value();
    if (error) return errors.append(notice(error));
    await busy(submit, "Saving…", async () => {
      try {
        const saved = await api.patch("/api/me/settings", value);
        await remember("settings", saved);
        errors.append(notice("Saved.", "ok"));
      } catch (err) {
        if (!err.offline && !(err.status >= 500)) return errors.append(fieldErrors(err, notice));
        await outbox.enqueue({ kind: "settings", method: "PATCH", path: "/api/me/settings", body: value, label: "Reminder settings" });
        await remember("settings", { ...settings, ...value });
        errors.append(notice("Saved on this phone. It will be sent to your clinic when you are back online.", "warn"));
      }
    });
  });

  show(
    screen(
      "Settings",
      fresh ? null : alert("You are offline. Changes will be sent when you are back online.", "warn"),
      h("h2", {}, "Reminders"),
      el,
      notificationsBlock(),
      dataBlock(),
      signOutBlock()
    )
  );
}

// The patient's own data, to keep or to take to another clinic: plain links (the session cookie
// goes with them; the service worker leaves /api/ alone), so the browser saves the file itself.
function dataBlock() {
  const link = (href, file, text) => h("p", {}, h("a", { href, download: file, class: "btn secondary" }, text));
  return h(
    "div",
    { class: "card" },
    h("h2", {}, "Your data"),
    h("p", {}, "Download everything Anagen holds about you: your details, every application and check-in, your kits, reminder settings and your clinic's messages."),
    link("/api/me/export.json", "my-anagen-data.json", "Download my data"),
    link("/api/me/export.fhir.json", "my-anagen-fhir.json", "Download for another clinic (FHIR)"),
    h("p", { class: "hint" }, "The FHIR file is the health-record standard other clinics and apps can read.")
  );
}

// What notifications do on this phone, in plain words, and what to do about it. "on" and the
// "Not working" states come from the browser's subscription and the server's record of it
// (push.check), never from the permission alone.
const OFF = ["Notifications are off. Turn them on to get a reminder when an application is due.", "warn"];
const STATE_TEXT = {
  on: ["Notifications are on for this phone.", "ok"],
  off: OFF,
  none: OFF,
  unregistered: ["Not working: Anagen's server has no record of this phone, so reminders cannot reach it. Try again to register it.", "error"],
  failed: ["Not working: the phone's notification service keeps refusing Anagen's reminders for this phone. Try again to register it anew.", "error"],
  unchecked: ["Notifications are allowed, but Anagen could not check that this phone is registered for reminders.", "warn"],
  blocked: [
    "Notifications are blocked in your browser's settings, so reminders cannot reach you. To fix it, open the site settings for Anagen (tap the icon next to the address, or on Android: Settings → Apps → your browser → Notifications), allow notifications, then come back here.",
    "warn",
  ],
  unsupported: ["This browser cannot show notifications. Open Anagen on your application days to see what is due.", "warn"],
  "ios-install": [
    "On iPhone and iPad, reminders only arrive when Anagen is on your home screen. In Safari, tap Share → “Add to Home Screen”, open Anagen from your home screen, then turn notifications on there.",
    "warn",
  ],
};

function notificationsBlock() {
  const status = h("div", { role: "status" }, h("p", { class: "loading" }, "Checking notifications for this phone…"));
  const actions = h("div", { class: "stack" });
  const which = h("p", { class: "hint" }, `This phone: ${push.deviceName()}.`);
  const say = (text, kind = "ok") => status.replaceChildren(notice(text, kind));
  const act = (label, work, kind = "secondary", doing = "Working…") =>
    button(label, (e) => busy(e.currentTarget, doing, work), { kind });
  // Registers this phone with the server (`how`: keep or renew the subscription); true once
  // the server holds it. A failure is said and stays on screen.
  const register = async (how = push.subscribeToPush) => {
    try {
      await how();
      return true;
    } catch (err) {
      say(err.offline ? "Notifications are allowed, but this phone could not be registered for reminders while offline. It will be done the next time you open Anagen online." : "Notifications are allowed, but this phone could not be registered for reminders. Try again in a moment.", "warn");
      return false;
    }
  };
  const allowed = async () => {
    if (await register()) await refresh();
  };
  const sendTest = async () => {
    if (!(await register())) return;
    try {
      await push.sendTest();
      say("Sent — it should arrive within a minute. If nothing arrives, check that Do Not Disturb is off and that notifications for Anagen are allowed in your phone's settings.");
    } catch (err) {
      if (err.status === 429) say("You have sent several tests just now. Wait a minute, then try again.", "warn");
      else say(err.offline ? "You are offline. Connect to the internet, then try again." : err.message, "error");
    }
  };
  const refresh = async () => {
    const { state: s, offline } = await push.check().catch(() => ({ state: "unchecked" }));
    const [text, kind] = STATE_TEXT[s];
    say(s === "unchecked" && offline ? text + " You seem to be offline: open Settings again when you are back online." : text, kind);
    actions.replaceChildren();
    if (s === "off" || s === "none") {
      actions.append(act("Turn on notifications", async () => {
        const result = await push.requestPermission();
        if (result === "granted") await allowed();
        else await refresh();
      }, "primary", "Asking…"));
    } else if (s === "blocked") {
      actions.append(act("I have allowed them", () => (push.permission() === "granted" ? allowed() : refresh())));
    } else if (s === "unregistered" || s === "failed") {
      actions.append(act("Try again", async () => {
        if (await register(push.resubscribe)) await refresh();
      }, "primary", "Registering…"));
    } else if (s === "unchecked") {
      actions.append(act("Check again", refresh));
    } else if (s === "on") {
      actions.append(act("Send me a test notification", sendTest, "secondary", "Sending…"));
    }
  };
  refresh();
  return h("div", { class: "card" }, h("h2", {}, "Notifications"), status, which, actions);
}

function signOutBlock() {
  const status = h("div", { role: "status" });
  const btn = button("Sign out", async () => {
    const waiting = await outbox.pending();
    if (waiting.length && !(await ask(unsentQuestion(waiting)))) return;
    await busy(btn, "Signing out…", async () => {
      // This phone stops getting this patient's reminders: the server forgets it first
      // (while still signed in), then the browser's subscription ends.
      const unsubscribed = await push.unsubscribeFromPush().catch(() => ({ removed: true }));
      const ended = await api.logout().then(() => true, () => false);
      await wipe();
      // Offline, the server session outlives the sign-out: end it on the next start.
      if (!ended) localStorage.setItem("anagen.signout", "1");
      if (!ended && !unsubscribed.removed) localStorage.setItem("anagen.signout.push", unsubscribed.endpoint);
      history.replaceState(null, "", "/#/login");
      location.reload();
    });
  }, { kind: "secondary danger" });
  const who = state.account ? `Signed in as ${state.account.name}, a patient of ${state.account.clinic.name}.` : "";
  return h("div", { class: "card" }, h("h2", {}, "Account"), h("p", {}, who), h("p", { class: "hint" }, "Signing out removes everything Anagen keeps on this phone."), status, btn);
}

// Signing out removes what has not been sent: the patient decides, knowing what it is.
function unsentQuestion(items) {
  const one = items.length === 1;
  return {
    title: `${outbox.describe(items)} not yet sent — sign out anyway?`,
    text: `${one ? "It is" : "They are"} saved only on this phone. Signing out removes ${one ? "it" : "them"}, and your clinic will not receive ${one ? "it" : "them"}. To send ${one ? "it" : "them"}, stay signed in and connect to the internet.`,
    yes: "Sign out anyway",
    no: "Stay signed in",
  };
}
