// Notifications and the web-push subscription of this device.
// Permission is asked during onboarding (or from Settings); the subscription is then sent to
// the server, and re-sent on every start while signed in: iOS and `pushsubscriptionchange`
// are unreliable, so the server's copy is refreshed whenever the app opens. Sign-out removes
// it from the server and unsubscribes this device.
import * as api from "/shared/api.js";
import { platform } from "./install.js";

const PATH = "/api/me/push-subscriptions";

export const supported = () => "Notification" in window && "serviceWorker" in navigator && "PushManager" in window;

export const permission = () => ("Notification" in window ? Notification.permission : "unsupported");

export async function requestPermission() {
  if (!("Notification" in window)) return "unsupported";
  return Notification.requestPermission();
}

// What Settings tells the patient: "on" | "off" | "blocked" | "unsupported" | "ios-install"
// (iPhone/iPad in the browser: web push only reaches an app added to the home screen).
export function state() {
  const where = platform();
  if ((where === "ios-safari" || where === "ios-other") && !supported()) return "ios-install";
  if (!supported()) return "unsupported";
  return { granted: "on", denied: "blocked", default: "off" }[permission()] || "off";
}

function keyBytes(base64url) {
  const b64 = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function sameKey(buffer, bytes) {
  if (!buffer) return true; // the browser does not say: trust the subscription
  const a = new Uint8Array(buffer);
  return a.length === bytes.length && a.every((v, i) => v === bytes[i]);
}

// The active registration; null if the worker is not installed within a few seconds.
function registration(ms = 10000) {
  return Promise.race([navigator.serviceWorker.ready, new Promise((resolve) => setTimeout(() => resolve(null), ms))]);
}

// Subscribes this device (or keeps its subscription) and sends it to the server. Resolves to
// { subscription, state } (the server's "active" or "failed"), or null when notifications are
// not allowed here.
export async function subscribeToPush() {
  if (!supported() || permission() !== "granted") return null;
  const reg = await registration();
  if (!reg) throw new Error("The app is still installing. Try again in a moment.");
  const { public_key } = await api.get("/api/push/public-key");
  const key = keyBytes(public_key);
  let sub = await reg.pushManager.getSubscription();
  // A subscription made for another server key (keys rotated) cannot be sent to: replace it.
  if (sub && !sameKey(sub.options && sub.options.applicationServerKey, key)) {
    await sub.unsubscribe().catch(() => false);
    sub = null;
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const saved = await api.request("PUT", PATH, sub.toJSON());
  return { subscription: sub, state: saved.state };
}

// Whether reminders can reach this phone, from the browser's own subscription and the server's
// record of it (read, not changed): "on" (the server holds it, working), "none" (allowed, but
// this browser holds no subscription), "unregistered" (the server holds none for it), "failed"
// (the push service keeps refusing it) or "unchecked" (the server could not be asked); when
// notifications are not allowed, what state() says.
export async function check() {
  if (!supported() || permission() !== "granted") return { state: state() };
  const reg = await registration();
  const sub = reg && (await reg.pushManager.getSubscription().catch(() => null));
  if (!sub) return { state: "none" };
  if (!(await sameServerKey(sub))) return { state: "unregistered" };
  try {
    const answer = await api.post(PATH + "/status", { endpoint: sub.endpoint });
    return { state: { active: "on", failed: "failed" }[answer.state] || "unregistered", failure: answer.failure };
  } catch (err) {
    return { state: "unchecked", offline: err.offline };
  }
}

async function sameServerKey(sub) {
  try {
    const { public_key } = await api.get("/api/push/public-key");
    return sameKey(sub.options && sub.options.applicationServerKey, keyBytes(public_key));
  } catch {
    return true; // cannot tell: the server's answer about the endpoint decides
  }
}

// "Try again": this phone's subscription is replaced by a new one (the old one is forgotten on
// the server, then ended here) and the new one is sent. Resolves like subscribeToPush().
export async function resubscribe() {
  const reg = await registration();
  if (!reg) throw new Error("The app is still installing. Try again in a moment.");
  const old = await reg.pushManager.getSubscription().catch(() => null);
  if (old) {
    await forget(old.endpoint);
    await old.unsubscribe().catch(() => false);
  }
  return subscribeToPush();
}

// This phone in a few words ("Chrome on Android"), so the patient knows which one Settings means.
export function deviceName() {
  const ua = navigator.userAgent;
  const browser = /SamsungBrowser/.test(ua) ? "Samsung Internet" : /Edg/.test(ua) ? "Edge" : /Firefox|FxiOS/.test(ua) ? "Firefox" : /Chrome|CriOS/.test(ua) ? "Chrome" : /Safari/.test(ua) ? "Safari" : "this browser";
  const system = /Android/.test(ua) ? "Android" : /iPhone/.test(ua) ? "iPhone" : /iPad/.test(ua) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1) ? "iPad" : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "Mac" : /Linux|CrOS/.test(ua) ? "Linux" : "";
  return system ? `${browser} on ${system}` : browser;
}

// On every start (and sign-in) while signed in: quietly re-sync; failures wait for next time.
export function resync() {
  if (supported() && permission() === "granted") subscribeToPush().catch(() => null);
}

// Before sign-out (while the session still exists): forget this device on the server, then
// unsubscribe it here. Offline, the local unsubscribe still happens (the push service then
// answers 410 and the server drops the row), and the endpoint is returned so the caller can
// ask the server again on the next start.
export async function unsubscribeFromPush() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return { endpoint: null, removed: true };
  const reg = await navigator.serviceWorker.getRegistration().catch(() => null);
  const sub = reg && (await reg.pushManager.getSubscription().catch(() => null));
  if (!sub) return { endpoint: null, removed: true };
  const endpoint = sub.endpoint;
  const removed = await forget(endpoint);
  await sub.unsubscribe().catch(() => false);
  return { endpoint, removed };
}

export const forget = (endpoint) => api.request("DELETE", PATH, { endpoint }).then(() => true, () => false);

export const sendTest = () => api.post(PATH + "/test");

export const snooze = (id) => api.post(`/api/me/reminders/${encodeURIComponent(id)}/snooze`);
