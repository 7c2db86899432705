// The reminder days, time, time zone and quiet hours form, shared by onboarding and settings.
import { h, alert } from "/shared/dom.js";
import { WEEKDAYS, deviceZone, zoneLabel } from "/shared/format.js";

// Same rule as the server: enough whole days between the two weekdays for the minimum gap.
export const minDaysApart = (minGapHours) => Math.ceil((minGapHours + 1) / 24);

// Shown when the patient has no quiet hours yet: the window new patients get at enrolment
// (backend/anagen/clinic/enrolment.py DEFAULT_QUIET_HOURS).
const QUIET_DEFAULT = { start: "21:30", end: "08:00" };

export function daysApart(a, b) {
  const d = Math.abs(a - b);
  return Math.min(d, 7 - d);
}

export function reminderFields(settings, protocol, { confirmZone = false } = {}) {
  const minDays = minDaysApart(protocol ? protocol.min_gap_hours : 48);
  const chosen = new Set(settings.reminder_weekdays || []);
  const boxes = WEEKDAYS.map((name, i) =>
    h("div", { class: "check weekday" },
      h("input", { id: `day-${i}`, type: "checkbox", value: String(i), checked: chosen.has(i) }),
      h("label", { for: `day-${i}` }, name))
  );
  const time = h("input", { id: "reminder-time", type: "time", value: settings.reminder_time || "20:00", required: true });
  const device = deviceZone();
  const home = settings.time_zone || device;
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [home, device];
  const zone = h("select", { id: "time-zone" },
    [...new Set([home, device, ...zones])].map((z) => h("option", { value: z, selected: z === (confirmZone ? device : home) }, zoneLabel(z))));
  const zoneNote = confirmZone
    ? h("p", { class: "hint", id: "zone-hint" }, `We detected ${zoneLabel(device)} from this phone. Change it if that is not where you live.`)
    : home !== device
      ? h("p", { class: "hint", id: "zone-hint" }, `Your phone is set to ${zoneLabel(device)}. Reminders stay on your home time (${zoneLabel(home)}) unless you change it here.`)
      : h("p", { class: "hint", id: "zone-hint" }, "Reminders follow this time zone, even when you travel.");
  zone.setAttribute("aria-describedby", "zone-hint");

  const quiet = settings.quiet_hours || QUIET_DEFAULT;
  const quietOn = h("input", { id: "quiet-on", type: "checkbox", checked: !!settings.quiet_hours });
  const qStart = h("input", { id: "quiet-start", type: "time", value: quiet.start });
  const qEnd = h("input", { id: "quiet-end", type: "time", value: quiet.end });
  const quietTimes = h("div", { class: "row" },
    h("div", { class: "field" }, h("label", { for: "quiet-start" }, "From"), qStart),
    h("div", { class: "field" }, h("label", { for: "quiet-end" }, "Until"), qEnd));
  const syncQuiet = () => (quietTimes.hidden = !quietOn.checked);
  quietOn.addEventListener("change", syncQuiet);
  syncQuiet();

  const element = h("div", { class: "stack" },
    h("fieldset", { class: "weekday-picker" },
      h("legend", {}, "Two reminder days"),
      h("p", { class: "hint" }, `Set by your clinic: your two days must be at least ${minDays} days apart (for example Monday and Thursday).`),
      h("div", { class: "day-grid" }, boxes)),
    h("div", { class: "field" }, h("label", { for: "reminder-time" }, "Reminder time"), time),
    h("div", { class: "field" }, h("label", { for: "time-zone" }, "Time zone"), zoneNote, zone),
    h("fieldset", {},
      h("legend", {}, "Quiet hours"),
      h("div", { class: "check" }, quietOn, h("label", { for: "quiet-on" }, "No notifications during quiet hours")),
      h("p", { class: "hint" }, "A reminder that would arrive in your quiet hours comes when they end instead."),
      quietTimes)
  );

  function value() {
    const days = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => Number(i.value));
    if (days.length !== 2) return { error: "Choose exactly two reminder days." };
    if (daysApart(days[0], days[1]) < minDays)
      return { error: `${WEEKDAYS[days[0]]} and ${WEEKDAYS[days[1]]} are too close together. Choose days at least ${minDays} days apart.` };
    if (!/^\d{2}:\d{2}$/.test(time.value)) return { error: "Enter a reminder time, for example 20:00." };
    if (quietOn.checked && !(/^\d{2}:\d{2}$/.test(qStart.value) && /^\d{2}:\d{2}$/.test(qEnd.value)))
      return { error: "Enter when your quiet hours start and end, for example 21:30 and 08:00." };
    const quiet_hours = quietOn.checked ? { start: qStart.value, end: qEnd.value } : null;
    return { value: { reminder_weekdays: days, reminder_time: time.value, time_zone: zone.value, quiet_hours } };
  }
  return { element, value };
}

export function fieldErrors(err, make = alert) {
  const names = { reminder_weekdays: "Reminder days", reminder_time: "Reminder time", time_zone: "Time zone", quiet_hours: "Quiet hours" };
  const list = Object.entries(err.fields || {}).map(([k, v]) => `${names[k] || k}: ${v}`);
  return make(list.length ? `${err.message} ${list.join(" ")}` : err.message);
}
