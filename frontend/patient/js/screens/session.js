// The guided application: one step per screen (#/session/1 … #/session/7, then
// #/session/done). Progress lives in IndexedDB, so back/forward, a reload or a closed app
// resume where the patient was. The finished application goes through the outbox.
import * as db from "../db.js";
import * as outbox from "../outbox.js";
import * as wakelock from "../wakelock.js";
import { cached, keep, load, mine } from "../state.js";
import { h, show, alert, notice, button, progress } from "/shared/dom.js";
import { clock } from "/shared/format.js";
import { go, lease } from "../router.js";
import { scalpMap } from "../scalpmap.js";
import { checkInStep, checkInValue } from "./checkin.js";

let timer = null;

const save = (s) => keep("session", s);

export async function startSession(next) {
  let s = await mine("session");
  if (!s || s.number !== next.number) {
    s = {
      number: next.number,
      label: next.label,
      opens_vial: next.opens_vial,
      vial_opened_in_clinic: !!next.vial_opened_in_clinic,
      vial_number: next.vial_number,
      kit_number: next.kit_number,
      started_at: new Date().toISOString(),
      step: 1,
      furthest: 1,
      done: {},
      passes: {},
      vial: next.opens_vial ? "opened_new" : "used_open_half",
      massage_started_at: null,
      check_in: { redness: null, irritation: null, pain: null, notes: "" },
    };
    await save(s);
  }
  go(`/session/${s.step}`);
}

function fill(text, p) {
  return String(text || "").replace(/\{(\w+)\}/g, (m, k) => (k in p ? p[k] : m));
}

export async function render({ step }) {
  clearInterval(timer);
  if (step === "done") return finished();
  const live = lease();
  const s = await mine("session");
  let protocol = (await cached("protocol")) || null;
  if (!protocol) protocol = await load("protocol").then((r) => r.data).catch(() => null);
  if (!live()) return;
  if (!s || !protocol) return go("/today", { replace: true });
  const steps = protocol.steps;
  let n = parseInt(step, 10);
  if (!(n >= 1 && n <= steps.length) || n > s.furthest) return go(`/session/${s.furthest}`, { replace: true });
  s.step = n;
  await save(s);
  wakelock.keepAwake();

  const def = steps[n - 1];
  const ctx = { protocol, s, def, n, total: steps.length };
  const body = STEP_BODY[def.key] ? STEP_BODY[def.key](ctx) : {};
  const errors = h("div", { class: "errors" });
  const onNext = async () => {
    errors.replaceChildren();
    const problem = body.check && body.check();
    if (problem) {
      errors.append(alert(problem));
      return;
    }
    s.done[def.key] = s.done[def.key] || new Date().toISOString();
    if (n === steps.length) return complete(s, protocol, errors);
    s.furthest = Math.max(s.furthest, n + 1);
    await save(s);
    go(`/session/${n + 1}`);
  };
  const nav = h(
    "div",
    { class: "session-nav" },
    body.nextButton || button(n === steps.length ? "Finish application" : "Next", onNext, { kind: "primary big" }),
    n > 1 ? button("Back", () => history.back(), { kind: "secondary" }) : null
  );
  if (body.nextButton) body.nextButton.addEventListener("click", onNext);
  show(
    h(
      "section",
      { class: "screen session" },
      h("p", { class: "course-label" }, s.label),
      progress(n, steps.length, `Step ${n} of ${steps.length}`),
      h("h1", {}, def.title),
      h("p", { class: "step-text" }, fill(def.text, protocol)),
      body.content || null,
      def.cautions && def.cautions.length
        ? h("div", { class: "cautions" }, h("h2", {}, "Take care"), h("ul", {}, def.cautions.map((c) => h("li", {}, fill(c, protocol)))))
        : null,
      h("p", { class: "source" }, protocol.source_note || "Set by your clinic"),
      errors,
      nav,
      h("a", { href: "#/today", class: "leave" }, "Leave for now (your progress is saved)")
    )
  );
  if (body.after) body.after();
}

const STEP_BODY = {
  part: ({ protocol }) => ({
    content: h(
      "div",
      { class: "map-block" },
      scalpMap(protocol.target_areas),
      h("h2", {}, "Your clinic marked"),
      h("ul", { class: "area-list" }, protocol.target_areas.map((a) => h("li", {}, a.label)))
    ),
  }),

  stamp: ({ protocol, s }) => {
    const goal = protocol.passes_per_area;
    const rows = protocol.target_areas.map((area) => {
      const count = h("output", { class: "count", "aria-live": "polite", id: `count-${area.key}` });
      const update = () => {
        const v = s.passes[area.key] || 0;
        count.textContent = `${v} of ${goal} passes${v >= goal ? " ✓" : ""}`;
        row.classList.toggle("complete", v >= goal);
      };
      const change = async (d) => {
        s.passes[area.key] = Math.max(0, (s.passes[area.key] || 0) + d);
        await save(s);
        update();
      };
      const row = h(
        "li",
        { class: "pass-row" },
        h("span", { class: "area-name", id: `area-${area.key}` }, area.label),
        count,
        h("div", { class: "pass-buttons" },
          button("−", () => change(-1), { kind: "secondary square", "aria-label": `Remove a pass from ${area.label}` }),
          button("+ Pass", () => change(1), { kind: "primary", "aria-label": `Add a pass to ${area.label}` }))
      );
      update();
      return row;
    });
    let warned = false;
    return {
      content: h("div", {},
        h("p", {}, `Use the ${protocol.stamp_needle_mm} mm stamp. Tap “+ Pass” each time you finish going over an area.`),
        scalpMap(protocol.target_areas, { size: "small" }),
        h("ul", { class: "passes" }, rows)),
      check: () => {
        const short = protocol.target_areas.filter((a) => (s.passes[a.key] || 0) < goal);
        if (!short.length || warned) return null;
        warned = true;
        return `${short.map((a) => a.label).join(", ")}: fewer than ${goal} passes counted. Finish them, or tap Next again to go on.`;
      },
    };
  },

  apply: ({ s }) => {
    const choice = (value, label) =>
      h("div", { class: "check" },
        h("input", { type: "radio", name: "vial", id: `vial-${value}`, value, checked: s.vial === value, onchange: () => { s.vial = value; save(s); } }),
        h("label", { for: `vial-${value}` }, label));
    // Who opened the half vial follows the course's vial accounting (protocol/kit.py).
    const vial = `vial ${s.vial_number} of kit ${s.kit_number}`;
    const advice = s.opens_vial
      ? `Open a new vial (${vial}). Use half of it, then close it tightly for next time.`
      : s.vial_opened_in_clinic
        ? `Use the half vial the clinic opened at your first application (${vial}). It will then be empty.`
        : `Use the half vial you opened last time (${vial}). It will then be empty.`;
    return {
      content: h("div", {},
        h("p", { class: "callout" }, advice),
        h("fieldset", {}, h("legend", {}, "Which did you use?"),
          choice("opened_new", "I opened a new vial"),
          choice("used_open_half", "I used the open half vial"))),
    };
  },

  massage: ({ protocol, s, def }) => {
    const seconds = def.duration_seconds || protocol.massage_seconds;
    const display = h("p", { class: "timer", role: "timer", "aria-live": "off" });
    const bar = h("progress", { max: seconds, value: 0, "aria-hidden": "true" });
    const announce = h("p", { class: "visually-hidden", role: "status" });
    const startBtn = button("Start timer", async () => {
      s.massage_started_at = new Date().toISOString();
      await save(s);
      tick();
    });
    const next = button("Next", null, { kind: "primary big" });
    // The remaining time comes from the start timestamp, so a locked screen loses nothing.
    const tick = () => {
      clearInterval(timer);
      const started = s.massage_started_at ? Date.parse(s.massage_started_at) : null;
      const left = started ? seconds - (Date.now() - started) / 1000 : seconds;
      display.textContent = left > 0 ? `${clock(left)} left` : "Done";
      bar.value = Math.min(seconds, seconds - Math.max(0, left));
      startBtn.hidden = !!started;
      next.hidden = !(started && left <= 0);
      if (started && left > 0) timer = setInterval(tick, 250);
      else if (started) announce.textContent = "Massage time is up. Tap Next.";
    };
    return {
      content: h("div", { class: "timer-block" }, display, bar, startBtn, announce, h("p", { class: "hint" }, `${seconds} seconds, set by your clinic.`)),
      nextButton: next,
      after: tick,
      check: () => {
        const started = s.massage_started_at && Date.parse(s.massage_started_at);
        return started && Date.now() - started >= seconds * 1000 ? null : "Let the timer run to the end first.";
      },
    };
  },

  aftercare: ({ protocol }) => ({
    content: h("div", { class: "card" }, h("h2", {}, "For the next 24 hours"), h("ul", {}, protocol.aftercare.map((a) => h("li", {}, a)))),
  }),

  check_in: ({ s }) => ({ content: checkInStep(s, () => save(s)), check: () => checkInValue(s).error }),
};

async function complete(s, protocol, errors) {
  const { value } = checkInValue(s);
  const number = s.number;
  const body = {
    started_at: s.started_at,
    completed_at: new Date().toISOString(),
    steps: protocol.steps.map((st) => ({ key: st.key, completed_at: s.done[st.key] })).filter((x) => x.completed_at),
    passes: Object.fromEntries(protocol.target_areas.map((a) => [a.key, s.passes[a.key] || 0])),
    vial: s.vial,
    check_in: value,
  };
  try {
    const item = await outbox.enqueue({
      kind: "complete",
      method: "POST",
      path: `/api/me/applications/${number}/complete`,
      body,
      number,
      label: `${s.label}, done ${new Date(body.completed_at).toLocaleDateString("en-GB", { day: "numeric", month: "short" })}`,
    });
    await keep("last_done", { number, label: s.label, key: item.key, pain: value.pain, threshold: protocol.side_effect_pain_threshold });
    await db.del("session");
  } catch {
    errors.append(alert("This phone could not save your application. Keep the app open, check you have storage space, and tap Finish again."));
    return;
  }
  wakelock.release();
  go("/session/done", { replace: true });
}

async function finished() {
  wakelock.release();
  const last = await mine("last_done");
  if (!last) return go("/today", { replace: true });
  const status = h("div", { role: "status" }, h("p", { class: "loading" }, "Sending to your clinic…"));
  const flagged = last.pain != null && last.pain > last.threshold;
  show(
    h("section", { class: "screen" },
      h("p", { class: "course-label" }, last.label),
      h("h1", {}, "Application done"),
      h("p", { class: "lead" }, "Well done. That is one more step through your course."),
      status,
      flagged ? alert("You scored your pain as high. Your clinic will see this. If you are worried, contact them now.", "warn") : null,
      button("Back to Today", () => go("/today", { replace: true }), { kind: "primary big" }))
  );
  await outbox.replay().catch(() => null);
  const still = (await outbox.pending()).find((i) => i.key === last.key);
  status.replaceChildren(
    !still
      ? notice("Saved. Your clinic can see it.", "ok")
      : still.status === "failed"
        ? notice(`Your clinic's service did not accept it: ${still.error.message}`)
        : notice("Saved on this phone. It will be sent to your clinic when you are back online.", "warn")
  );
}
