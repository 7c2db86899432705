// The whole course as a calendar (CSS grid, week rows × weekday columns) with adherence.
import * as outbox from "../outbox.js";
import { load } from "../state.js";
import { h, svg, show, screen, alert, button } from "/shared/dom.js";
import { day, dayKey, setZone } from "/shared/format.js";
import { go, lease } from "../router.js";

// Each status has its own symbol and word as well as colour.
const STATUS = {
  done_on_time: ["✓", "Done on time"],
  done_moved: ["↑", "Done earlier (moved)"],
  done_late: ["◐", "Done late"],
  missed: ["✕", "Missed"],
  due: ["!", "Due now"],
  upcoming: ["○", "Upcoming"],
  pending: ["↻", "Done, waiting to sync"],
};
const DAY = 86400000;
const WEEK_HEAD = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export async function render() {
  const live = lease();
  show(screen("Your plan", h("p", { class: "loading", role: "status" }, "Loading your plan…")));
  let result;
  try {
    result = await load("plan");
  } catch (err) {
    if (!live()) return;
    if (err.status === 401) return go("/login", { replace: true });
    show(screen("Your plan", alert(err.message), button("Try again", () => render())));
    return;
  }
  const p = result.data;
  setZone(p.time_zone);
  const queued = new Set((await outbox.pending()).filter((i) => i.kind === "complete" && i.status !== "failed").map((i) => i.number));
  if (!live()) return;
  const apps = p.applications.map((a) => ({ ...a, status: queued.has(a.number) && !a.completed_at ? "pending" : a.status }));
  const waiting = apps.filter((a) => a.status === "pending").length;
  show(
    screen(
      "Your plan",
      result.fresh ? null : alert("You are offline. This is your plan as it was when you were last online.", "warn"),
      adherence(p.adherence, waiting),
      h("h2", {}, "Your course, week by week"),
      calendar(apps),
      legend(),
      h("div", { class: "card" }, h("h2", {}, "If you miss an application"), h("p", {}, p.missed_rule), h("p", { class: "source" }, "Set by your clinic"))
    )
  );
}

function adherence(a, waiting) {
  const r = 40;
  const circ = 2 * Math.PI * r;
  const ring = svg(
    "svg",
    { viewBox: "0 0 100 100", class: "ring", "aria-hidden": "true" },
    svg("circle", { cx: 50, cy: 50, r, class: "ring-track" }),
    svg("circle", { cx: 50, cy: 50, r, class: "ring-value", "stroke-dasharray": `${(circ * a.percent) / 100} ${circ}`, transform: "rotate(-90 50 50)" }),
    svg("text", { x: 50, y: 56, "text-anchor": "middle", class: "ring-text" }, `${a.percent}%`)
  );
  return h(
    "div",
    { class: "card adherence" },
    ring,
    h("div", {},
      h("p", { class: "big-number" }, `${a.percent} % done`, h("span", { class: "visually-hidden" }, " of the applications due so far")),
      h("p", {}, `${a.on_time} on time · ${a.moved || 0} moved · ${a.late} late · ${a.missed} missed`),
      h("p", { class: "hint" }, `Out of ${a.due_so_far} due so far.`),
      waiting ? h("p", { class: "waiting" }, `And ${waiting} more done, waiting to sync: counted once synced.`) : null)
  );
}

function mondayOf(iso) {
  const [y, m, d] = dayKey(iso).split("-").map(Number);
  const date = Date.UTC(y, m - 1, d);
  const weekday = (new Date(date).getUTCDay() + 6) % 7;
  return date - weekday * DAY;
}

function calendar(apps) {
  if (!apps.length) return h("p", {}, "No applications planned.");
  const byDay = new Map();
  // Done applications sit on the day they were done; the rest on the day they are due.
  for (const a of apps) {
    const k = dayKey(a.completed_at || a.due_at);
    byDay.set(k, [...(byDay.get(k) || []), a]);
  }
  const days = apps.map((a) => a.completed_at || a.due_at).sort();
  const first = mondayOf(days[0]);
  const last = mondayOf(days[days.length - 1]);
  const weeks = [];
  for (let w = first, i = 1; w <= last; w += 7 * DAY, i++) {
    const cells = [];
    for (let d = 0; d < 7; d++) {
      const date = new Date(w + d * DAY);
      const key = date.toISOString().slice(0, 10);
      const items = byDay.get(key) || [];
      cells.push(
        items.length
          ? h("li", { class: `day has ${items[0].status}` },
              h("span", { class: "date", "aria-hidden": "true" }, String(date.getUTCDate())),
              items.map((a) => h("span", { class: "app" },
                h("span", { class: "sym", "aria-hidden": "true" }, STATUS[a.status][0]),
                h("span", { class: "num", "aria-hidden": "true" }, String(a.number)),
                h("span", { class: "visually-hidden" }, `Application ${a.number}, ${day(a.completed_at || a.due_at)}: ${STATUS[a.status][1]}${a.in_clinic ? ", at the clinic" : ""}.`))))
          : h("li", { class: "day", "aria-hidden": "true" }, h("span", { class: "date" }, String(date.getUTCDate())))
      );
    }
    weeks.push(h("li", { class: "week" }, h("h3", { class: "week-label" }, `Week ${i}`), h("ol", { class: "days" }, cells)));
  }
  return h("div", { class: "calendar" },
    h("div", { class: "weekdays", "aria-hidden": "true" }, h("span", {}), WEEK_HEAD.map((d) => h("span", { "data-short": d[0] }, d))),
    h("ol", { class: "weeks" }, weeks));
}

function legend() {
  return h("ul", { class: "legend", "aria-label": "Key" },
    Object.entries(STATUS).map(([k, [sym, label]]) => h("li", { class: `day has ${k}` }, h("span", { class: "sym", "aria-hidden": "true" }, sym), " ", label)));
}
