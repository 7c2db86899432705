// The JSON API client of both apps: same-origin cookies, the CSRF token on every change,
// one error type.
let csrfToken = null;

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

function setCsrf(token) {
  if (token) csrfToken = token;
}

export async function request(method, path, body, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (method !== "GET") {
    if (!csrfToken) await session();
    init.headers["X-CSRF-Token"] = csrfToken;
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
  if (data && data.csrf_token) setCsrf(data.csrf_token);
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body, headers) => request("POST", path, body, headers);
export const patch = (path, body) => request("PATCH", path, body);

export const session = () => request("GET", "/api/auth/session");
// `account` is "patient" or "staff": the server checks the email against that kind of account.
export const login = (email, password, account) => post("/api/auth/login", { email, password, account });
export const logout = () => post("/api/auth/logout");
