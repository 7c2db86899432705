// Sign in for returning patients.
import * as api from "/shared/api.js";
import * as outbox from "../outbox.js";
import { adoptSession } from "../state.js";
import { h, show, screen, alert, busy } from "/shared/dom.js";
import { go } from "../router.js";

export function render() {
  const errors = h("div", { class: "errors" });
  const email = h("input", { id: "email", name: "email", type: "email", autocomplete: "username", required: true, inputmode: "email", autocapitalize: "none", spellcheck: false });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "btn primary" }, "Sign in");
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    field("Email", email),
    field("Password", password),
    errors,
    submit
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errors.replaceChildren();
    if (!email.value.trim() || !password.value) {
      errors.append(alert("Enter the email your clinic has for you and your password."));
      return;
    }
    await busy(submit, "Signing in…", async () => {
      try {
        const body = await api.login(email.value.trim(), password.value, "patient");
        await adoptSession(body);
        window.dispatchEvent(new Event("anagen:signedin"));
        go("/today", { replace: true });
      } catch (err) {
        errors.append(alert(loginMessage(err)));
      }
    });
  });
  // On a shared phone: what someone signed out left unsent, without saying whose it is.
  const waiting = h("div", {});
  outbox.stored().then((items) => {
    if (!items.length) return;
    const it = items.length === 1 ? "it" : "them";
    waiting.append(
      alert(
        `${outbox.describe(items)} saved on this phone ${items.length === 1 ? "has" : "have"} not been sent yet. ` +
          `Signing in to the account that saved ${it} sends ${it}; signing in to another account removes ${it} from this phone.`,
        "warn"
      )
    );
  });
  show(
    screen(
      "Sign in",
      h("p", {}, "Use the email your clinic has for you and the password you set when you joined."),
      waiting,
      form,
      h("p", { class: "hint" }, "New patient? Open the invite link or scan the QR code your clinic gave you. Forgotten your password? Ask your clinic for a new invite.")
    )
  );
}

function loginMessage(err) {
  if (err.offline) return "You are offline. Connect to the internet to sign in.";
  if (err.code === "invalid_credentials") return "That email and password do not match. Check them and try again.";
  if (err.status === 429) {
    const s = parseInt(err.retryAfter, 10);
    return `Too many attempts. Please wait ${s ? Math.ceil(s / 60) + " minute" + (s > 60 ? "s" : "") : "a few minutes"}, then try again.`;
  }
  return err.message;
}

export function field(label, input, hint) {
  const id = input.id;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", `${id}-hint`);
  return h("div", { class: "field" }, h("label", { for: id }, label), hintEl, input);
}
