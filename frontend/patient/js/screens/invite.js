// Onboarding from the clinic's link <origin>/#/invite/<token>: welcome, password, consent (the
// first steps of the one onboarding path, setup.js). The token stays in the fragment and in
// memory; the password is never stored. The clinic's name goes where any name reads well
// ("the staff of …"): no possessive that breaks on "Phi Hair Clinic (demo)".
import * as api from "/shared/api.js";
import { adoptSession } from "../state.js";
import { h, show, screen, alert, busy, button } from "/shared/dom.js";
import { go } from "../router.js";
import { field } from "./login.js";
import { onboardingStep } from "./setup.js";

const MIN_PASSWORD = 10;
const draft = { token: null, invite: null, password: null, passwordError: null };

function forToken(token) {
  if (draft.token !== token) Object.assign(draft, { token, invite: null, password: null, passwordError: null });
  return draft;
}

function inviteMessage(err) {
  if (err.offline) return "You are offline. Connect to the internet, then open the invite link again.";
  if (err.code === "invite_used") return "This invite has already been used. If that was not you, or you need to set up again, ask your clinic for a new invite.";
  if (err.code === "invite_expired") return "This invite has expired. Ask your clinic for a new invite.";
  if (err.code === "invite_not_found") return "We could not find this invite. Check that you opened the whole link, or ask your clinic for a new invite.";
  return err.message;
}

export async function welcome({ token }) {
  const d = forToken(token);
  show(screen("Welcome", h("p", { class: "loading", role: "status" }, "Checking your invite…")));
  try {
    d.invite = d.invite || (await api.post("/api/invites/lookup", { token }));
  } catch (err) {
    show(screen("This invite cannot be used", alert(inviteMessage(err)), h("a", { class: "btn secondary", href: "#/login" }, "I already have an account")));
    return;
  }
  const { clinic_name: clinic, first_name: name } = d.invite;
  show(
    screen(
      `Welcome, ${name}`,
      onboardingStep("welcome"),
      h("p", { class: "lead" }, `${clinic} has invited you to Anagen.`),
      h("p", {}, "Anagen guides you through each application of your hair treatment, reminds you when the next one is due and keeps track of your kit. Your clinic sees how you are getting on."),
      h("p", {}, "Setting up takes about two minutes."),
      button("Get started", () => go(`/invite/${encodeURIComponent(token)}/password`))
    )
  );
}

export function password({ token }) {
  const d = forToken(token);
  if (!d.invite) return go(`/invite/${encodeURIComponent(token)}`, { replace: true });
  const errors = h("div", { class: "errors" });
  const email = h("input", { id: "username", name: "username", type: "email", autocomplete: "username", readOnly: true, value: d.invite.email });
  const pw = h("input", { id: "new-password", name: "new-password", type: "password", autocomplete: "new-password", minLength: MIN_PASSWORD, required: true, value: d.password || "" });
  const reveal = h("input", { id: "show-password", type: "checkbox", onchange: () => (pw.type = reveal.checked ? "text" : "password") });
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    field("Your email", email, "Your clinic set this. You will use it to sign in."),
    field("Choose a password", pw, `At least ${MIN_PASSWORD} characters. Your password manager can make one for you.`),
    h("div", { class: "check" }, reveal, h("label", { for: "show-password" }, "Show password")),
    errors,
    h("button", { type: "submit", class: "btn primary" }, "Continue")
  );
  if (d.passwordError) {
    errors.append(alert(d.passwordError));
    pw.setAttribute("aria-invalid", "true");
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    errors.replaceChildren();
    if (pw.value.length < MIN_PASSWORD) {
      pw.setAttribute("aria-invalid", "true");
      errors.append(alert(`Your password needs at least ${MIN_PASSWORD} characters. It has ${pw.value.length}.`));
      pw.focus();
      return;
    }
    d.password = pw.value;
    d.passwordError = null;
    go(`/invite/${encodeURIComponent(token)}/consent`);
  });
  show(screen("Set your password", onboardingStep("password"), form));
}

export function consent({ token }) {
  const d = forToken(token);
  if (!d.invite || !d.password) return go(`/invite/${encodeURIComponent(token)}`, { replace: true });
  const clinic = d.invite.clinic_name;
  const errors = h("div", { class: "errors" });
  const box = h("input", { id: "photo-consent", type: "checkbox" });
  const submit = h("button", { type: "submit", class: "btn primary" }, "Create my account");
  const form = h(
    "form",
    { class: "stack" },
    h("p", {}, `During your course you will take photos of your scalp at set points, so ${clinic} can see how your hair is responding.`),
    h("ul", { class: "plain-list" },
      h("li", {}, `Only the staff of ${clinic} can see your photos.`),
      h("li", {}, "Photos are never public, and location data is removed."),
      h("li", {}, "You can change your mind at any time by telling your clinic.")
    ),
    h("div", { class: "check" }, box, h("label", { for: "photo-consent" }, `I agree to share my treatment photos with ${clinic}.`)),
    h("p", { class: "hint" }, "You can continue without agreeing. You will not be able to send photos until you do."),
    errors,
    submit
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    await busy(submit, "Creating your account…", async () => {
      try {
        const body = await api.post("/api/invites/redeem", { token, password: d.password, photo_consent: box.checked });
        d.password = null;
        await adoptSession(body);
        window.dispatchEvent(new Event("anagen:signedin"));
        history.replaceState(null, "", "#/setup/install"); // the used token leaves the history
        go("/setup/install", { replace: true });
      } catch (err) {
        if (err.fields && err.fields.password) {
          d.passwordError = `Please choose another password: ${err.fields.password}`;
          go(`/invite/${encodeURIComponent(token)}/password`);
          return;
        }
        errors.append(alert(err.status === 410 || err.status === 404 ? inviteMessage(err) : err.message));
      }
    });
  });
  show(screen("Sharing your photos", onboardingStep("consent"), form));
}
