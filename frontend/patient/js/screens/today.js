// Today: the next application and when it is due, the kit, the next photos, messages.
import * as outbox from "../outbox.js";
import { load, mine } from "../state.js";
import { h, show, screen, alert, button, link } from "/shared/dom.js";
import { when, day, dayKey, relative, plural } from "/shared/format.js";
import { go, lease } from "../router.js";
import { startSession } from "./session.js";
import { loadPhotos, waitingPhotos, capturable } from "../photodata.js";

const STATUS = {
  due: ["Due now", "is-due"],
  missed: ["Overdue", "is-overdue"],
  today: ["Due today", "is-due"],
  upcoming: ["Coming up", "is-upcoming"],
};

// When the next one may be done: the rule of protocol/engine.py's next_timing, worked out again
// here so that a copy kept offline stays right as days pass. "start": its day has come (or it is
// overdue) and the clinic's minimum gap since the last one has passed; "wait": its day has come,
// the gap has not passed; "move": before its day, and it may be done today instead; "planned":
// before its day, and it may not be moved to today.
export function timing(next, now = Date.now()) {
  const gapKept = !next.earliest_at || Date.parse(next.earliest_at) <= now;
  const dayCome = next.status !== "upcoming" || dayKey(new Date(now).toISOString()) >= dayKey(next.due_at);
  if (dayCome) return gapKept ? "start" : "wait";
  return gapKept && !next.in_clinic ? "move" : "planned";
}

// The kit after `done` applications (protocol/kit.py's kit_status, for counts that include
// applications still waiting to sync).
function kitAfter(c, done) {
  const per = c.applications_per_kit;
  const doses = c.doses_per_vial;
  const kit = Math.floor(Math.max(done - 1, 0) / per) + 1;
  const used = done - (kit - 1) * per;
  const opened = Math.ceil(used / doses);
  const half = used % doses !== 0;
  return {
    kit_number: kit,
    vials_left: c.vials_per_kit - opened,
    half_vial_open: half,
    // The open vial is the one the last application used; it was opened by number done - (done - 1) % doses.
    half_vial_opened_in_clinic: half && done - ((done - 1) % doses) === 1,
    applications_left_in_kit: per - used,
    needs_next_kit: used === per && done < c.applications_total,
  };
}

export async function render() {
  const live = lease();
  let photos = null;
  show(screen("Today", h("p", { class: "loading", role: "status" }, "Loading your course…")));
  let result;
  try {
    // The photos due now come from the photo book, asked for alongside (Today still shows without it).
    photos = loadPhotos().catch(() => null);
    result = await load("today");
  } catch (err) {
    if (!live()) return;
    if (err.status === 401) return go("/login", { replace: true });
    show(screen("Today", alert(err.offline ? "You are offline and this phone has no copy of your course yet. Connect to the internet, then try again." : err.message), button("Try again", () => render())));
    return;
  }
  const t = result.data;
  const book = await photos;
  const duePhotos = book ? photosDue(book.data, await waitingPhotos()) : null;
  const pending = await outbox.pending();
  const inProgress = await mine("session");
  if (!live()) return;
  const next = t.next_application;
  const queuedDone = next && pending.find((i) => i.kind === "complete" && i.number === next.number);
  // Applications done on this phone that the server does not have yet: counted at once, marked.
  const waiting = pending.filter((i) => i.kind === "complete" && i.status !== "failed" && i.number > t.course.applications_done).length;

  const parts = [];
  if (!result.fresh) parts.push(alert("You are offline. This is your course as it was when you were last online.", "warn"));
  parts.push(h("p", { class: "lead" }, `Hello ${t.patient.first_name}.`));

  if (t.course.status === "paused") {
    parts.push(h("div", { class: "card" }, h("h2", {}, "Course paused"), h("p", {}, `${t.clinic.name} has paused your course. Do not do any applications until they tell you to carry on: you will get no reminders until then, and nothing counts as missed.`)));
  } else if (t.course.status === "ended") {
    parts.push(h("div", { class: "card" }, h("h2", {}, "Course ended"), h("p", {}, `${t.clinic.name} has ended your course after ${t.course.applications_done} of ${t.course.applications_total} applications. You will get no more reminders. Contact your clinic if you have questions.`)));
  } else if (t.course.status === "completed" || !next) {
    parts.push(h("div", { class: "card" }, h("h2", {}, "Course complete"), h("p", {}, `You have finished all ${t.course.applications_total} applications. ${t.clinic.name} will be in touch about your results.`)));
  } else {
    parts.push(nextCard(t, next, queuedDone, inProgress));
  }
  const kit = waiting && t.course.applications_per_kit ? kitAfter(t.course, t.course.applications_done + waiting) : t.kit;
  parts.push(kitCard(kit, waiting));
  if (duePhotos) parts.push(photosDueCard(duePhotos));
  // The next checkpoint's date while it is still ahead (those already due: the card above).
  else if (t.next_checkpoint && Date.parse(t.next_checkpoint.due_at) > Date.now()) parts.push(checkpointCard(t.next_checkpoint));
  parts.push(adherenceCard(t, waiting));
  if (pending.length) parts.push(pendingCard(pending));
  parts.push(messagesCard(t));
  show(screen("Today", ...parts));
}

function nextCard(t, next, queuedDone, inProgress) {
  const card = h("div", { class: "card next" }, h("h2", {}, "Next application"), h("p", { class: "course-label" }, next.label));
  if (queuedDone) {
    card.append(
      queuedDone.status === "failed"
        ? alert(`${t.clinic.name}'s service did not accept it: ${queuedDone.error.message}`)
        : alert(`Done. Saved on this phone and waiting to sync with ${t.clinic.name}.`, "ok")
    );
    return card;
  }
  const rule = timing(next);
  const resuming = inProgress && inProgress.number === next.number;
  const onItsDay = next.status === "upcoming" && (rule === "start" || rule === "wait");
  const [text, cls] = STATUS[onItsDay ? "today" : next.status] || STATUS.upcoming;
  const line = h("p", { class: `due ${cls}` }, h("span", { class: "badge" }, text), " ");
  if (next.status === "missed") line.append(h("span", {}, "Do it as soon as you can."));
  else if (next.status === "due" || onItsDay) line.append(h("span", {}, when(next.due_at)));
  else line.append(h("span", {}, when(next.due_at)), h("span", { class: "hint" }, ` (${relative(next.due_at)})`));
  card.append(line);
  if (next.status === "missed") card.append(h("p", { class: "hint" }, `It was due ${when(next.original_due_at)}.`));
  if (next.in_clinic) {
    card.append(h("p", {}, "This application is done at the clinic by a specialist."));
    return card;
  }
  if (resuming || rule === "start") {
    card.append(button(resuming ? "Continue application" : "Start application", () => startSession(next), { kind: "primary big" }));
    if (resuming) card.append(h("p", { class: "hint" }, `You stopped at step ${inProgress.step}. Everything you did is saved.`));
    return card;
  }
  if (rule === "wait") {
    card.append(h("p", { class: "wait" }, `Set by your clinic: leave time between applications. You can start this one from ${next.earliest_label || day(next.earliest_at)}.`));
    return card;
  }
  if (rule === "planned") {
    card.append(h("p", { class: "plan-note" }, `Your next application is on ${day(next.due_at)}. Nothing to do before then.`));
    const earlier = next.earliest_at && dayKey(next.earliest_at) < dayKey(next.due_at);
    if (earlier) card.append(h("p", { class: "hint" }, `If that day does not suit you, you can do it earlier, from ${next.earliest_label || day(next.earliest_at)}.`));
    return card;
  }
  card.append(h("p", { class: "plan-note" }, `Your next application is on ${day(next.due_at)}. If that day does not suit you, you can do it today instead.`));
  const confirm = h("div", { class: "move" });
  const offer = button("Do it today instead", () => {
    offer.remove();
    confirm.append(...moveNote(next), button("Start application", () => startSession(next), { kind: "primary big" }), button("Keep my plan", () => render(), { kind: "secondary" }));
    confirm.querySelector("button.primary").focus();
  }, { kind: "secondary" });
  card.append(offer, confirm);
  return card;
}

// What moving the next application to today does to the ones after it (course/today.py's `following`).
function moveNote(next) {
  const following = next.following || [];
  const moved = following.filter((f) => f.if_moved_at !== f.due_at);
  const lines = [h("p", { role: "status" }, `Application ${next.number} moves from ${day(next.due_at)} to today.`)];
  if (moved.length) lines.push(h("p", {}, `Your next ones move: ${moved.map((f) => `application ${f.number} to ${day(f.if_moved_at)}`).join(", ")}.`));
  else if (following.length) lines.push(h("p", {}, `Your next ones stay as planned: ${following.map((f) => `application ${f.number} on ${day(f.due_at)}`).join(", ")}.`));
  lines.push(h("p", { class: "hint" }, "Set by your clinic: it counts as moved, not as on time."));
  return lines;
}

function kitCard(kit, waiting) {
  const half = kit.half_vial_opened_in_clinic ? ", plus the half vial the clinic opened at your first application." : ", plus the half vial you opened last time.";
  const lines = [
    h("p", {}, `Kit ${kit.kit_number}: ${plural(kit.vials_left, "unopened vial")} left${kit.half_vial_open ? half : "."}`),
    h("p", { class: "hint" }, `${plural(kit.applications_left_in_kit, "application")} left in this kit.`),
  ];
  if (waiting) lines.push(h("p", { class: "hint waiting" }, `Counting ${plural(waiting, "application")} waiting to sync.`));
  if (kit.needs_next_kit) lines.push(alert("Your kit is running out. Ask your clinic for your next kit.", "warn"));
  return h("div", { class: "card kit" }, h("h2", {}, "Your kit"), ...lines);
}

function checkpointCard(c) {
  // The baseline is taken at the clinic visit; the later ones by the patient, in the Photos tab.
  const inClinic = c.key === "baseline";
  const who = inClinic ? "your clinic takes these photos" : "you take these photos with this app";
  return h(
    "div",
    { class: "card checkpoint" },
    h("h2", {}, "Next progress photos"),
    h("p", {}, `${c.label}: ${who}, after application ${c.after_application}, around ${day(c.due_at)}.`),
    c.views && c.views.length ? h("p", { class: "hint" }, `Views: ${c.views.map((v) => v.label).join(", ")}.`) : null,
    inClinic ? null : link("How to take them", "#/photos")
  );
}

// The first checkpoint the patient takes that is due (or about to be) with views still to take.
function photosDue(book, waiting) {
  for (const cp of book.checkpoints || []) {
    if (cp.ad_hoc || !capturable(cp)) continue;
    const views = cp.views || [];
    const done = views.filter((v) => v.done || waiting.has(`${cp.key}/${v.view}`)).length;
    if (done < views.length) return { cp, done, total: views.length };
  }
  return null;
}

function photosDueCard({ cp, done, total }) {
  return h(
    "div",
    { class: "card checkpoint due-photos" },
    h("h2", {}, "Progress photos due"),
    h("p", {}, done ? `${cp.label}: ${done} of ${total} views taken.` : `${cp.label}: ${total} views to take, a few minutes in good light.`),
    link(done ? "Take the rest" : "Take your photos", "#/photos", "primary")
  );
}

function adherenceCard(t, waiting) {
  const a = t.adherence;
  const done = t.course.applications_done + waiting;
  const lines = waiting
    ? [
        h("p", { class: "progress-count" }, `${done} of ${t.course.applications_total} applications done (${waiting} waiting to sync).`),
        h("p", { class: "hint" }, "Your score updates once it has synced."),
      ]
    : [h("p", { class: "progress-count" }, `${done} of ${t.course.applications_total} applications done. ${a.due_so_far ? `${a.percent} % of those due so far.` : ""}`)];
  return h("div", { class: "card" }, h("h2", {}, "So far"), ...lines, link("See your plan", "#/plan"));
}

function pendingCard(items) {
  const failed = items.filter((i) => i.status === "failed");
  return h(
    "div",
    { class: "card" },
    h("h2", {}, "Waiting to sync"),
    h("ul", { class: "plain-list" }, items.map((i) => h("li", {}, i.label, i.status === "failed" ? " — could not be saved" : " — waiting"))),
    failed.length ? alert("Something could not be saved. Open it to see what to do.") : null,
    link(failed.length ? "Review" : "Details", "#/sync")
  );
}

function messagesCard(t) {
  const list = t.messages || [];
  return h(
    "div",
    { class: "card" },
    h("h2", {}, `From ${t.clinic.name}`),
    list.length
      ? h("ul", { class: "messages" }, list.map((m) => h("li", {}, h("p", {}, m.text), h("p", { class: "hint" }, `${m.author}, ${when(m.created_at)}`))))
      : h("p", { class: "hint" }, "No messages from your clinic.")
  );
}
