// Today: the next application and when it is due, the kit, the next photos, messages.
import * as outbox from "../outbox.js";
import { load, mine } from "../state.js";
import { h, show, screen, alert, button, link } from "/shared/dom.js";
import { when, day, relative, plural } from "/shared/format.js";
import { go, lease } from "../router.js";
import { startSession } from "./session.js";

const STATUS = {
  due: ["Due now", "is-due"],
  missed: ["Overdue", "is-overdue"],
  upcoming: ["Coming up", "is-upcoming"],
};

export async function render() {
  const live = lease();
  show(screen("Today", h("p", { class: "loading", role: "status" }, "Loading your course…")));
  let result;
  try {
    result = await load("today");
  } catch (err) {
    if (!live()) return;
    if (err.status === 401) return go("/login", { replace: true });
    show(screen("Today", alert(err.offline ? "You are offline and this phone has no copy of your course yet. Connect to the internet, then try again." : err.message), button("Try again", () => render())));
    return;
  }
  const t = result.data;
  const pending = await outbox.pending();
  const inProgress = await mine("session");
  if (!live()) return;
  const next = t.next_application;
  const queuedDone = next && pending.find((i) => i.kind === "complete" && i.number === next.number);

  const parts = [];
  if (!result.fresh) parts.push(alert("You are offline. This is your course as it was when you were last online.", "warn"));
  parts.push(h("p", { class: "lead" }, `Hello ${t.patient.first_name}.`));

  if (t.course.status === "completed" || !next) {
    parts.push(h("div", { class: "card" }, h("h2", {}, "Course complete"), h("p", {}, `You have finished all ${t.course.applications_total} applications. ${t.clinic.name} will be in touch about your results.`)));
  } else {
    parts.push(nextCard(t, next, queuedDone, inProgress));
  }
  parts.push(kitCard(t.kit));
  if (t.next_checkpoint) parts.push(checkpointCard(t.next_checkpoint));
  parts.push(adherenceCard(t));
  if (pending.length) parts.push(pendingCard(pending));
  parts.push(messagesCard(t));
  show(screen("Today", ...parts));
}

function nextCard(t, next, queuedDone, inProgress) {
  const card = h("div", { class: "card next" }, h("h2", {}, "Next application"), h("p", { class: "course-label" }, next.label));
  if (queuedDone) {
    card.append(alert(`Done. Saved on this phone and waiting to sync with ${t.clinic.name}.`, "ok"));
    return card;
  }
  const [text, cls] = STATUS[next.status] || STATUS.upcoming;
  const line = h("p", { class: `due ${cls}` }, h("span", { class: "badge" }, text), " ");
  if (next.status === "missed") line.append(h("span", {}, "Do it as soon as you can."));
  else if (next.status === "due") line.append(h("span", {}, when(next.due_at)));
  else line.append(h("span", {}, when(next.due_at)), h("span", { class: "hint" }, ` (${relative(next.due_at)})`));
  card.append(line);
  if (next.status === "missed") card.append(h("p", { class: "hint" }, `It was due ${when(next.original_due_at)}.`));
  if (next.in_clinic) {
    card.append(h("p", {}, "This application is done at the clinic by a specialist."));
    return card;
  }
  const early = next.earliest_at && new Date(next.earliest_at) > Date.now();
  const resuming = inProgress && inProgress.number === next.number;
  if (early && !resuming) {
    card.append(h("p", {}, `Set by your clinic: leave time between applications. You can start this one from ${when(next.earliest_at)}.`));
    return card;
  }
  card.append(
    button(resuming ? "Continue application" : "Start application", () => startSession(next), { kind: "primary big" })
  );
  if (resuming) card.append(h("p", { class: "hint" }, `You stopped at step ${inProgress.step}. Everything you did is saved.`));
  return card;
}

function kitCard(kit) {
  const lines = [
    h("p", {}, `Kit ${kit.kit_number}: ${plural(kit.vials_left, "unopened vial")} left${kit.half_vial_open ? ", plus a half vial that is open." : "."}`),
    h("p", { class: "hint" }, `${plural(kit.applications_left_in_kit, "application")} left in this kit.`),
  ];
  if (kit.needs_next_kit) lines.push(alert("Your kit is running out. Ask your clinic for your next kit.", "warn"));
  return h("div", { class: "card" }, h("h2", {}, "Your kit"), ...lines);
}

function checkpointCard(c) {
  return h(
    "div",
    { class: "card" },
    h("h2", {}, "Next progress photos"),
    h("p", {}, `${c.label}: after application ${c.after_application}, around ${day(c.due_at)}.`),
    c.views && c.views.length ? h("p", { class: "hint" }, `Views: ${c.views.map((v) => v.label).join(", ")}.`) : null
  );
}

function adherenceCard(t) {
  const a = t.adherence;
  return h(
    "div",
    { class: "card" },
    h("h2", {}, "So far"),
    h("p", {}, `${t.course.applications_done} of ${t.course.applications_total} applications done. ${a.due_so_far ? `${a.percent} % of those due so far.` : ""}`),
    link("See your plan", "#/plan")
  );
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
