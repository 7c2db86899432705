// Staff sessions end after a stretch without activity (STAFF_IDLE_MINUTES on the server, 30 by
// default). The server only counts requests, so: working in the page (typing, clicking) keeps
// the session alive with a quiet check every few minutes; two minutes before the end, a
// warning counts down with "Stay signed in"; at the end the sign-in page says why.
import { html, useState, useEffect, useRef } from "./html.js";
import { state, update, useStore } from "./store.js";
import { loadSession, signOut, reauthenticate } from "./api.js";
import { Dialog, ErrorSummary, fieldError, TextInput, Submit } from "./ui.js";
import { clock } from "/shared/format.js";

const WARN_BEFORE_MS = 2 * 60 * 1000;
// The server moves its "last seen" at most once a minute: count the session as ending a
// minute early so the warning never comes after the fact.
const SERVER_SLACK_MS = 60 * 1000;
const KEEPALIVE_AFTER_MS = 5 * 60 * 1000;

export const endsAt = () => state.lastActive + state.idleSeconds * 1000 - SERVER_SLACK_MS;

export function watchActivity() {
  let checking = false;
  const onActivity = () => {
    if (state.status !== "signed-in" || checking) return;
    const now = Date.now();
    // Only while no warning shows: the warning asks the person, rather than a stray key press deciding.
    if (now - state.lastActive > KEEPALIVE_AFTER_MS && endsAt() - now > WARN_BEFORE_MS) {
      checking = true;
      loadSession()
        .catch(() => {})
        .finally(() => (checking = false));
    }
  };
  for (const type of ["keydown", "pointerdown", "input"]) document.addEventListener(type, onActivity, { passive: true, capture: true });
}

export function IdleWarning() {
  const [now, setNow] = useState(Date.now());
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = endsAt() - now;
  useEffect(() => {
    if (left <= 0 && state.status === "signed-in") {
      // Ended (or about to): ask the server, which has the last word.
      loadSession()
        .then((s) => {
          if (!s.authenticated) update({ reason: "expired" });
        })
        .catch(() => {});
    }
  }, [left <= 0]);
  const open = left <= WARN_BEFORE_MS && left > 0;
  const stay = async () => {
    setBusy(true);
    try {
      await loadSession();
    } finally {
      setBusy(false);
    }
  };
  const minutes = Math.round(state.idleSeconds / 60);
  return html`<${Dialog} open=${open} title="Are you still there?" onClose=${stay} className="idle-warning" describedBy="idle-text">
    <p id="idle-text">For patients' privacy you will be signed out after ${minutes} minutes without activity.</p>
    <p class="countdown">Signing out in <span role="timer" aria-live="off">${clock(left / 1000)}</span></p>
    <div class="actions">
      <button type="button" class="btn primary" onClick=${stay} disabled=${busy} autofocus>Stay signed in</button>
      <button type="button" class="btn secondary" onClick=${() => signOut()}>Sign out now</button>
    </div>
  </${Dialog}>`;
}

// Asked when the API answers `reauth_required` (staff changes, clinic settings): the change
// that asked is sent again once the password is confirmed; Cancel drops it.
export function ReauthDialog() {
  useStore();
  const [password, setPassword] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const pending = state.reauth;
  const close = () => {
    setPassword("");
    setError(null);
    update({ reauth: null });
  };
  const cancel = () => {
    const err = new Error("Cancelled: nothing was changed.");
    err.code = "cancelled";
    pending?.reject(err);
    close();
  };
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await reauthenticate(password);
      const resolve = pending.resolve;
      close();
      resolve();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Dialog} open=${!!pending} title="Confirm your password" onClose=${cancel}>
    <form onSubmit=${submit} novalidate>
      <p>${pending?.message || "Please confirm your password to make this change."} It stays confirmed for 10 minutes.</p>
      <${ErrorSummary} error=${error} prefix="reauth-" />
      <${TextInput} id="reauth-password" label="Your password" type="password" autocomplete="current-password" value=${password} onValue=${setPassword} error=${fieldError(error, "password")} required autofocus />
      <div class="actions">
        <${Submit} busy=${busy}>Confirm</${Submit}>
        <button type="button" class="btn secondary" onClick=${cancel}>Cancel</button>
      </div>
    </form>
  </${Dialog}>`;
}
