// The workspace's API calls: shared/api.js (cookies, CSRF, one error type) plus what staff
// sessions need: every answer restarts the idle clock, a 401 for an ended session shows the
// sign-in again, and a change the server wants the password for (`reauth_required`) asks for
// it and is sent once more.
import * as shared from "/shared/api.js";
import { state, update } from "./store.js";

export const ApiError = shared.ApiError;

export function touched() {
  update({ lastActive: Date.now() });
}

export function applySession(data) {
  if (data && data.authenticated && data.account?.type === "staff") {
    update({
      status: "signed-in",
      account: data.account,
      idleSeconds: data.idle_timeout_seconds || state.idleSeconds,
      lastActive: Date.now(),
    });
  } else {
    update({ status: "signed-out", account: null });
  }
  return data;
}

function askPassword(message) {
  return new Promise((resolve, reject) => update({ reauth: { message, resolve, reject } }));
}

async function call(method, path, body, retried = false) {
  try {
    const data = await shared.request(method, path, body);
    touched();
    return data;
  } catch (error) {
    if (error.status === 401 && error.code === "reauth_required" && !retried) {
      await askPassword(error.message); // rejects when the person cancels
      return call(method, path, body, true);
    }
    if (error.status === 401 && error.code === "unauthenticated" && state.status === "signed-in") {
      update({ status: "signed-out", account: null, reason: "expired" });
    }
    throw error;
  }
}

export const api = {
  get: (path) => call("GET", path),
  post: (path, body) => call("POST", path, body),
  patch: (path, body) => call("PATCH", path, body),
  put: (path, body) => call("PUT", path, body),
  delete: (path) => call("DELETE", path),
};

export async function loadSession() {
  return applySession(await shared.session());
}

export async function signIn(email, password) {
  const data = await shared.login(email, password, "staff");
  update({ reason: null });
  return applySession(data);
}

export async function signOut() {
  try {
    await shared.logout();
  } finally {
    update({ status: "signed-out", account: null, reason: null });
  }
}

export async function reauthenticate(password) {
  await shared.post("/api/auth/reauth", { password });
  touched();
}

// A file from the API (exports): fetched with the session, then saved under the server's name.
// Fetched rather than linked so an error shows as a message, not as a downloaded error page.
export async function download(path, fallbackName) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin" });
  } catch {
    throw new ApiError(0, null);
  }
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    if (response.status === 401 && state.status === "signed-in") update({ status: "signed-out", account: null, reason: "expired" });
    throw new ApiError(response.status, body);
  }
  touched();
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = disposition.match(/filename\*=UTF-8''([^;]+)|filename="?([^";]+)"?/i);
  const name = match ? decodeURIComponent(match[1] || match[2]) : fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}
