// Keeps the screen on during a guided application, where supported. Never relied on: the
// massage timer works from timestamps, so a locked screen loses nothing.
let sentinel = null;
let wanted = false;

async function acquire() {
  if (!wanted || !("wakeLock" in navigator) || document.visibilityState !== "visible") return;
  try {
    sentinel = await navigator.wakeLock.request("screen");
    sentinel.addEventListener("release", () => (sentinel = null));
  } catch {
    sentinel = null; // low battery, or not allowed: carry on without it
  }
}

document.addEventListener("visibilitychange", () => {
  if (wanted && !sentinel) acquire();
});

export function keepAwake() {
  wanted = true;
  if (!sentinel) acquire();
}

export function release() {
  wanted = false;
  if (sentinel) sentinel.release().catch(() => {});
  sentinel = null;
}
