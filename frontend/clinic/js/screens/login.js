// Staff sign-in. After it, the page that was asked for opens (the router's current path).
import { html, useState } from "../html.js";
import { signIn } from "../api.js";
import { ErrorSummary, TextInput, Submit, Notice, fieldError } from "../ui.js";
import { state } from "../store.js";

export function Login({ reason }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(email, password);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<section class="screen signin">
    <p class="brand big">Anagen <span class="brand-sub">clinic</span></p>
    <h1>Sign in to the clinic workspace</h1>
    ${reason === "expired" &&
    html`<${Notice} kind="warn" title="Signed out" role="status">
      <p>You were signed out after ${Math.round(state.idleSeconds / 60)} minutes without activity, to keep patients' details private. Sign in again to carry on where you were.</p>
    </${Notice}>`}
    <form onSubmit=${submit} novalidate class="card stack">
      <${ErrorSummary} error=${error} />
      <${TextInput} id="email" label="Work email" type="email" autocomplete="username" value=${email} onValue=${setEmail} error=${fieldError(error, "email")} required />
      <${TextInput} id="password" label="Password" type="password" autocomplete="current-password" value=${password} onValue=${setPassword} error=${fieldError(error, "password")} required />
      <${Submit} busy=${busy}>Sign in</${Submit}>
    </form>
    <p class="hint">Patients sign in on their phone, in the Anagen app, not here.</p>
  </section>`;
}
