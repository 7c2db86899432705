// The JSON API client of both apps: same-origin cookies, the CSRF token on every change,
// one error type. The server derives the CSRF token from the session (anagen/auth/security.py),
// so a token sent under another session's cookie is refused: the client remembers whose
// session each token came from, and a change made for one account (`owner`) is only sent
// with that account's token.
let csrf = { token: null, owner: null };

// The key an account's data on this device is filed under: "patient:12".
export const ownerOf = (account) => (account ? `${account.type}:${account.id}` : null);

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const err = (body && body.error) || {};
    super(err.message || defaultMessage(status));
    this.status = status;
    this.code = err.code || (status === 0 ? "network" : "http_" + status);
    this.fields = err.fields || {};
    this.retryAfter = retryAfter;
  }
  get offline() {
    return this.status === 0;
  }
}

function defaultMessage(status) {
  if (status === 0) return "You seem to be offline. Check your connection and try again.";
  if (status >= 500) return "Something went wrong at our end. Please try again in a few minutes.";
  return "That did not work. Please try again.";
}

// `owner`: send only while the session in hand is that account's (else a 401 "other_account",
// and nothing leaves the device).
export async function request(method, path, body, headers = {}, { owner } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (method !== "GET") {
    if (!csrf.token) await session();
    if (owner !== undefined && csrf.owner !== owner) {
      throw new ApiError(401, { error: { code: "other_account", message: "Signed in as someone else." } });
    }
    init.headers["X-CSRF-Token"] = csrf.token;
  }
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, null);
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data, response.headers.get("Retry-After"));
  // Every session answer (session, sign-in, invite) says whose session the token belongs to.
  if (data && data.csrf_token) csrf = { token: data.csrf_token, owner: data.authenticated ? ownerOf(data.account) : null };
  return data;
}

// A file upload (multipart/form-data) with progress: XMLHttpRequest, because fetch reports no
// upload progress outside Chromium's request streams. Same CSRF and `owner` rule as request();
// `onProgress(fraction)` as the bytes leave; `signal` aborts it (an ApiError with status 0).
export async function upload(path, form, headers = {}, { owner, onProgress, signal } = {}) {
  if (!csrf.token) await session();
  if (owner !== undefined && csrf.owner !== owner) {
    throw new ApiError(401, { error: { code: "other_account", message: "Signed in as someone else." } });
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", csrf.token);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let data = null;
      try {
        data = xhr.status === 204 ? null : JSON.parse(xhr.responseText);
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data, xhr.getResponseHeader("Retry-After")));
    };
    xhr.onerror = xhr.onabort = xhr.ontimeout = () => reject(new ApiError(0, null));
    if (signal) signal.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

export const get = (path) => request("GET", path);
export const post = (path, body, headers) => request("POST", path, body, headers);
export const patch = (path, body) => request("PATCH", path, body);

export const session = () => request("GET", "/api/auth/session");
// `account` is "patient" or "staff": the server checks the email against that kind of account.
export const login = (email, password, account) => post("/api/auth/login", { email, password, account });
export async function logout() {
  await post("/api/auth/logout");
  csrf = { token: null, owner: null };
}
