// Notifications. Permission is asked during onboarding; the push subscription itself
// (GET /api/push/public-key, PUT /api/me/push-subscriptions) is wired by the push issue,
// behind subscribeToPush() here, and re-synced on every start.
export const supported = () => "Notification" in window && "serviceWorker" in navigator && "PushManager" in window;

export const permission = () => ("Notification" in window ? Notification.permission : "unsupported");

export async function requestPermission() {
  if (!("Notification" in window)) return "unsupported";
  return Notification.requestPermission();
}

// Placeholder until the push issue lands: resolves to null (no subscription yet).
export async function subscribeToPush() {
  return null;
}
