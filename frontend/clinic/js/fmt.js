// Dates and times for staff. A patient's course is shown in the patient's own time zone (the
// one their reminders follow), named where it differs from this computer's; lists of many
// patients use this computer's zone. en-GB, like the patient app (shared/format.js).
const LOCALE = "en-GB";
export const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function parts(iso, zone, options) {
  const f = new Intl.DateTimeFormat(LOCALE, { timeZone: zone || localZone(), ...options });
  return Object.fromEntries(f.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
}

export function at(iso, zone) {
  if (!iso) return "—";
  const p = parts(iso, zone, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return `${p.weekday} ${p.day} ${p.month}, ${p.hour}:${p.minute}`;
}

export function atYear(iso, zone) {
  if (!iso) return "—";
  const p = parts(iso, zone, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return `${p.day} ${p.month} ${p.year}, ${p.hour}:${p.minute}`;
}

export function dayOf(iso, zone) {
  if (!iso) return "—";
  const p = parts(iso, zone, { weekday: "short", day: "numeric", month: "short" });
  return `${p.weekday} ${p.day} ${p.month}`;
}

// "2026-12-04" (a calendar date, no zone) as "Fri 4 Dec 2026".
export function calendarDate(ymd) {
  if (!ymd) return "—";
  const [y, m, d] = ymd.split("-").map(Number);
  return new Intl.DateTimeFormat(LOCALE, { timeZone: "UTC", weekday: "short", day: "numeric", month: "short", year: "numeric" }).format(Date.UTC(y, m - 1, d));
}

export const zoneName = (z) => (z || "").replace(/_/g, " ");
export const otherZone = (z) => (z && z !== localZone() ? ` (${zoneName(z)} time)` : "");
export const humanKey = (key) => (key || "").replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
