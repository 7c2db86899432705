// Dates and times in the person's own zone (setZone), en-GB: "Thu 4 Dec, 20:00".
const LOCALE = "en-GB";
let zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

export const setZone = (z) => z && (zone = z);
export const deviceZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function parts(iso, options) {
  const f = new Intl.DateTimeFormat(LOCALE, { timeZone: zone, ...options });
  return Object.fromEntries(f.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
}

export function when(iso) {
  const p = parts(iso, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return `${p.weekday} ${p.day} ${p.month}, ${p.hour}:${p.minute}`;
}

export function day(iso) {
  const p = parts(iso, { weekday: "short", day: "numeric", month: "short" });
  return `${p.weekday} ${p.day} ${p.month}`;
}

export function dayKey(iso) {
  const p = parts(iso, { year: "numeric", month: "2-digit", day: "2-digit" });
  return `${p.year}-${p.month}-${p.day}`;
}

export function relative(iso, now = Date.now()) {
  const minutes = Math.round((new Date(iso) - now) / 60000);
  const abs = Math.abs(minutes);
  if (abs < 1) return "now";
  const text = abs < 60 ? `${abs} minute${abs === 1 ? "" : "s"}` : abs < 48 * 60 ? `${Math.round(abs / 60)} hours` : `${Math.round(abs / 1440)} days`;
  return minutes >= 0 ? `in ${text}` : `${text} ago`;
}

export function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

export function zoneLabel(z) {
  try {
    const p = new Intl.DateTimeFormat(LOCALE, { timeZone: z, timeZoneName: "short" }).formatToParts(new Date());
    const abbr = p.find((x) => x.type === "timeZoneName");
    return `${z.replace(/_/g, " ")}${abbr ? ` (${abbr.value})` : ""}`;
  } catch {
    return z;
  }
}

export const plural = (n, one, many = one + "s") => `${n} ${n === 1 ? one : many}`;
