// Reminder days and time, time zone, quiet hours, notifications, sign out.
import * as api from "../api.js";
import * as outbox from "../outbox.js";
import * as push from "../push.js";
import { load, remember, state, wipe } from "../state.js";
import { h, show, screen, alert, notice, button, busy } from "../dom.js";
import { go } from "../router.js";
import { reminderFields, fieldErrors } from "./reminderform.js";

export async function render() {
  show(screen("Settings", h("p", { class: "loading", role: "status" }, "Loading…")));
  let settings, protocol, fresh;
  try {
    const [sr, pr] = await Promise.all([load("settings"), load("protocol").catch(() => ({ data: null }))]);
    settings = sr.data;
    fresh = sr.fresh;
    protocol = pr.data;
  } catch (err) {
    if (err.status === 401) return go("/login", { replace: true });
    show(screen("Settings", alert(err.message), button("Try again", () => render()), signOutBlock()));
    return;
  }
  // A change still in the outbox is what the patient last chose: show that.
  for (const item of await outbox.pending()) if (item.kind === "settings") Object.assign(settings, item.body);

  const form = reminderFields(settings, protocol);
  const quietOn = h("input", { id: "quiet-on", type: "checkbox", checked: !!settings.quiet_hours });
  const qStart = h("input", { id: "quiet-start", type: "time", value: settings.quiet_hours ? settings.quiet_hours.start : "22:00" });
  const qEnd = h("input", { id: "quiet-end", type: "time", value: settings.quiet_hours ? settings.quiet_hours.end : "07:00" });
  const quietTimes = h("div", { class: "row" },
    h("div", { class: "field" }, h("label", { for: "quiet-start" }, "From"), qStart),
    h("div", { class: "field" }, h("label", { for: "quiet-end" }, "Until"), qEnd));
  const syncQuiet = () => (quietTimes.hidden = !quietOn.checked);
  quietOn.addEventListener("change", syncQuiet);
  syncQuiet();

  const errors = h("div", { class: "errors", role: "status" });
  const submit = h("button", { type: "submit", class: "btn primary" }, "Save settings");
  const el = h(
    "form",
    { class: "stack" },
    form.element,
    h("fieldset", {},
      h("legend", {}, "Quiet hours"),
      h("div", { class: "check" }, quietOn, h("label", { for: "quiet-on" }, "No notifications during quiet hours")),
      quietTimes),
    errors,
    submit
  );
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const { value, error } = form.value();
    if (error) return errors.append(notice(error));
    value.quiet_hours = quietOn.checked ? { start: qStart.value, end: qEnd.value } : null;
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
      signOutBlock()
    )
  );
}

function notificationsBlock() {
  const p = push.permission();
  const text = {
    granted: "Notifications are on.",
    denied: "Notifications are blocked. To get reminders, allow notifications for Anagen in your phone's settings.",
    default: "Notifications are off.",
    unsupported: "This browser cannot show notifications. On iPhone, add Anagen to your home screen first.",
  }[p];
  const status = h("p", { role: "status" }, text);
  return h("div", { class: "card" },
    h("h2", {}, "Notifications"),
    status,
    p === "default"
      ? button("Turn on notifications", async (e) => {
          const result = await push.requestPermission();
          if (result === "granted") await push.subscribeToPush().catch(() => null);
          e.target.hidden = result !== "default";
          status.textContent = result === "granted" ? "Notifications are on." : "Notifications are still off.";
        }, { kind: "secondary" })
      : null);
}

function signOutBlock() {
  const status = h("div", { role: "status" });
  const btn = button("Sign out", async () => {
    const waiting = await outbox.pending();
    if (waiting.length && !confirm(`${waiting.length} change(s) have not reached your clinic yet. If you sign out now they will be lost. Sign out anyway?`)) return;
    await busy(btn, "Signing out…", async () => {
      const ended = await api.logout().then(() => true, () => false);
      await wipe();
      // Offline, the server session outlives the sign-out: end it on the next start.
      if (!ended) localStorage.setItem("anagen.signout", "1");
      history.replaceState(null, "", "/#/login");
      location.reload();
    });
  }, { kind: "secondary danger" });
  const who = state.account ? `Signed in as ${state.account.name}, ${state.account.clinic.name}.` : "";
  return h("div", { class: "card" }, h("h2", {}, "Account"), h("p", {}, who), h("p", { class: "hint" }, "Signing out removes everything Anagen keeps on this phone."), status, btn);
}
