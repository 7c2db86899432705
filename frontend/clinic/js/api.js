// The workspace's API calls: shared/api.js (cookies, CSRF, one error type) plus what staff
// sessions need: every answer restarts the idle clock, a 401 for an ended session shows the
// sign-in again, and a change the server wants the password for (`reauth_required`) asks for
// it and is sent once more.
import * as shared from "/shared/api.js";
import { state, update } from "./store.js";

export const ApiError = shared.ApiError;

// The server restarts its idle clock when a request arrives, so the clock here counts from
// when the request was sent (a slow answer must not make the session look younger than it is).
export function touched(sentAt = Date.now()) {
  if (sentAt > state.lastActive) update({ lastActive: sentAt });
}

export function applySession(data, sentAt = Date.now()) {
  if (data && data.authenticated && data.account?.type === "staff") {
    update({
      status: "signed-in",
      account: data.account,
      idleSeconds: data.idle_timeout_seconds || state.idleSeconds,
      lastActive: Math.max(state.lastActive, sentAt),
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
  const sentAt = Date.now();
  try {
    const data = await shared.request(method, path, body);
    touched(sentAt);
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
  const sentAt = Date.now();
  return applySession(await shared.session(), sentAt);
}

export async function signIn(email, password) {
  const sentAt = Date.now();
  const data = await shared.login(email, password, "staff");
  update({ reason: null });
  return applySession(data, sentAt);
}

export async function signOut() {
  try {
    await shared.logout();
  } finally {
    update({ status: "signed-out", account: null, reason: null });
  }
}

export async function reauthenticate(password) {
  const sentAt = Date.now();
  await shared.post("/api/auth/reauth", { password });
  touched(sentAt);
}

// A file from the API (exports): fetched with the session, then saved under the server's name.
// Fetched rather than linked so an error shows as a message, not as a downloaded error page.
export async function download(path, fallbackName) {
  const sentAt = Date.now();
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
  touched(sentAt);
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
