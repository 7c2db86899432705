// After the account exists: install to home screen, notifications, reminder days and quiet hours.
import * as api from "/shared/api.js";
import * as installer from "../install.js";
import * as push from "../push.js";
import { load } from "../state.js";
import { h, show, screen, alert, notice, button, busy, progress } from "/shared/dom.js";
import { go } from "../router.js";
import { reminderFields, fieldErrors } from "./reminderform.js";

// The whole onboarding, from the invite's welcome to the reminder days, is one path with one
// step counter. Already installed (opened from the home screen), the install step is skipped,
// so it is not counted.
const ONBOARDING = ["welcome", "password", "consent", "install", "notifications", "reminders"];

export function onboardingStep(name) {
  const steps = installer.platform() === "installed" ? ONBOARDING.filter((s) => s !== "install") : ONBOARDING;
  const n = steps.indexOf(name) + 1;
  return progress(n, steps.length, `Setting up · step ${n} of ${steps.length}`);
}

export function install() {
  const where = installer.platform();
  if (where === "installed") return go("/setup/notifications", { replace: true });
  const next = () => go("/setup/notifications");
  const body = [];
  if (where === "ios-safari") {
    body.push(
      h("p", {}, "On iPhone and iPad, reminders only arrive once Anagen is on your home screen."),
      h("ol", { class: "steps-list" },
        h("li", {}, "Tap the Share button (a square with an arrow pointing up) at the bottom of Safari."),
        h("li", {}, "Scroll down and tap “Add to Home Screen”."),
        h("li", {}, "Tap “Add”, then open Anagen from your home screen.")),
      button("I have added it", next),
      button("Skip for now", next, { kind: "secondary" })
    );
  } else if (where === "ios-other") {
    body.push(
      h("p", {}, "On iPhone and iPad, reminders only arrive once Anagen is on your home screen, and only Safari can add it."),
      h("p", {}, "Copy this page's address, open it in Safari, then tap Share → “Add to Home Screen”."),
      button("Skip for now", next, { kind: "secondary" })
    );
  } else {
    const status = h("p", { role: "status" });
    const installBtn = button("Install Anagen", async () => {
      const outcome = await installer.prompt();
      if (outcome === "accepted") next();
      else status.textContent = outcome === "dismissed" ? "Not installed. You can install Anagen later from your browser's menu." : "Use your browser's menu and choose “Install app” or “Add to Home screen”.";
    });
    body.push(
      h("p", {}, "Install Anagen so it opens like an app, works without signal and can remind you."),
      installer.canPrompt() ? installBtn : h("p", {}, "Open your browser's menu (⋮) and choose “Install app” or “Add to Home screen”."),
      status,
      button(installer.canPrompt() ? "Not now" : "Next", next, { kind: "secondary" })
    );
  }
  show(screen("Add Anagen to your home screen", onboardingStep("install"), ...body));
}

export function notifications() {
  const next = () => go("/setup/reminders");
  const status = h("div", { role: "status" });
  const permission = push.permission();
  const describe = (p) => {
    status.replaceChildren();
    if (p === "granted") status.append(notice("Notifications are on. We will remind you on your application days.", "ok"));
    if (p === "denied") status.append(notice("Notifications are blocked. To get reminders, allow notifications for Anagen in your phone's settings. Until then, open the app on your application days.", "warn"));
    if (p === "unsupported") status.append(notice("This browser cannot show notifications. Add Anagen to your home screen, or open the app on your application days.", "warn"));
  };
  const allow = button("Allow notifications", async (event) => {
    await busy(event.currentTarget, "Asking…", async () => {
      const p = await push.requestPermission();
      describe(p);
      if (p === "granted") await register();
      if (p !== "default") allow.hidden = true;
    });
  });
  // Allowed: this phone's subscription goes to the server (again, if it already went).
  const register = () =>
    push.subscribeToPush().catch(() => {
      status.replaceChildren(notice("Notifications are on, but this phone could not be registered for reminders just now. Anagen will try again each time you open it.", "warn"));
    });
  if (permission !== "default") allow.hidden = true;
  describe(permission);
  if (permission === "granted") register();
  show(
    screen(
      "Reminders on your phone",
      onboardingStep("notifications"),
      h("p", {}, "Anagen can send a reminder when an application is due, and a nudge if you have not done it yet. Reminders never include health details."),
      allow,
      status,
      button("Next", next, { kind: "secondary" })
    )
  );
}

export async function reminders() {
  show(screen("Your reminder days", h("p", { class: "loading", role: "status" }, "Loading…")));
  let settings, protocol;
  try {
    [settings, protocol] = await Promise.all([load("settings"), load("protocol")]).then((r) => r.map((x) => x.data));
  } catch (err) {
    show(screen("Your reminder days", alert(err.message), button("Try again", () => reminders())));
    return;
  }
  const form = reminderFields(settings, protocol, { confirmZone: true });
  const errors = h("div", { class: "errors" });
  const submit = h("button", { type: "submit", class: "btn primary" }, "Save and finish");
  const el = h("form", { class: "stack" }, form.element, errors, submit);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    const { value, error } = form.value();
    if (error) return errors.append(alert(error));
    await busy(submit, "Saving…", async () => {
      try {
        await api.patch("/api/me/settings", value);
        go("/today", { replace: true });
      } catch (err) {
        errors.append(fieldErrors(err));
      }
    });
  });
  show(screen("Your reminder days", onboardingStep("reminders"), h("p", {}, "Pick the two days of the week you will do your applications, a time that suits you, and the hours when Anagen should not disturb you."), el));
}
