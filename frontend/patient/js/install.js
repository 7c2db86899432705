// "Add to home screen": which guidance fits this device. Chromium fires beforeinstallprompt
// (kept for the install button); iOS Safari has no prompt and needs Share → Add to Home Screen.
let deferred = null;

window.addEventListener("beforeinstallprompt", (event) => {
  event.preventDefault();
  deferred = event;
});
window.addEventListener("appinstalled", () => (deferred = null));

export function platform() {
  const standalone = matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
  if (standalone) return "installed";
  const ua = navigator.userAgent;
  const ios = /iPhone|iPad|iPod/.test(ua) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  if (ios) return /CriOS|FxiOS|EdgiOS/.test(ua) ? "ios-other" : "ios-safari";
  if (deferred) return "prompt";
  return "other";
}

export const canPrompt = () => deferred !== null;

export async function prompt() {
  if (!deferred) return "unavailable";
  const event = deferred;
  deferred = null;
  event.prompt();
  const choice = await event.userChoice;
  return choice.outcome;
}
