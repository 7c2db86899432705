// One patient: the course at a glance, flags, the adherence chart, every application
// (due, done when and by whom, steps, check-in), kits and dispatch, photos, messages, reminder
// settings, and what staff do for a course: pause, resume or end it with a reason, a new
// invite, an application done at the clinic, the FHIR export.
import { html, useState } from "../html.js";
import { api, download } from "../api.js";
import { href } from "../router.js";
import { at, atYear, dayOf, calendarDate, zoneName, otherZone, humanKey } from "../fmt.js";
import { loadOptions, labelIn } from "../options.js";
import { useLoad, Loading, LoadError, Notice, ErrorSummary, Dialog, TextArea, TextInput, Select, Submit, Badge, fieldError } from "../ui.js";
import { AcknowledgeDialog } from "../flags.js";
import { AdherenceChart, AdherenceTable } from "../chart.js";
import { ScalpMap } from "../scalpmap.js";
import { PhotosSection } from "../sections/photos.js";
import { WEEKDAYS } from "/shared/format.js";

const STATUS_WORDS = {
  done_on_time: "Done on time",
  done_moved: "Done earlier (moved)",
  done_late: "Done late",
  missed: "Missed",
  due: "Due",
  upcoming: "Upcoming",
};
const COURSE_BADGE = { active: "ok", paused: "warn", ended: "muted", completed: "ok" };
const pad = (n) => String(n).padStart(2, "0");

export function PatientPage({ params }) {
  const id = params.id;
  const detail = useLoad(() => api.get(`/api/clinic/patients/${id}`), [id]);
  const raised = useLoad(() => api.get(`/api/clinic/patients/${id}/flags`), [id]);
  const options = useLoad(() => loadOptions().catch(() => null), []);
  const [notice, setNotice] = useState(null);
  const [dialog, setDialog] = useState(null); // "pause" | "resume" | "end" | "record" | "ack"
  const [exportError, setExportError] = useState(null);

  if (detail.error && !detail.data) return html`<section class="screen"><h1>Patient</h1><${LoadError} error=${detail.error} reload=${detail.reload} /></section>`;
  if (!detail.data) return html`<section class="screen"><h1>Patient</h1><${Loading} /></section>`;
  const p = detail.data;
  const zone = p.time_zone;
  const course = p.course || null;
  const status = course?.status || "active";
  const apps = p.timeline || p.plan?.applications || [];
  const nextUndone = apps.find((a) => !a.completed_at);
  const flags = raised.data || [];
  const labelOf = (key) => flags.find((f) => f.key === key)?.label || humanKey(key);
  const done = (message) => {
    setDialog(null);
    setNotice(message);
    detail.reload();
    raised.reload();
  };
  const exportFhir = async () => {
    setExportError(null);
    try {
      const name = await download(`/api/clinic/patients/${id}/export.fhir.json`, `patient-${id}.fhir.json`);
      setNotice(`Downloaded ${name}.`);
    } catch (e) {
      setExportError(e);
    }
  };

  return html`<section class="screen patient-page">
    <p class="crumbs"><a href=${href("/")}>Patients</a></p>
    <div class="page-head">
      <div>
        <h1>${p.first_name} ${p.last_name}</h1>
        <p class="hint">${p.email}${p.phone ? ` · ${p.phone}` : ""} · ${labelIn(options.data?.indications, p.indication)} · ${zoneName(zone)} time
          · ${p.account_active ? "Joined the app" : "Has not joined the app yet"}</p>
      </div>
      <div class="actions">
        <${Badge} kind=${COURSE_BADGE[status] || ""}>Course ${status}</${Badge}>
        ${status === "active" && html`<button type="button" class="btn secondary" onClick=${() => setDialog("pause")}>Pause course</button>`}
        ${status === "paused" && html`<button type="button" class="btn primary" onClick=${() => setDialog("resume")}>Resume course</button>`}
        ${(status === "active" || status === "paused") && html`<button type="button" class="btn danger" onClick=${() => setDialog("end")}>End course</button>`}
      </div>
    </div>
    <div aria-live="polite">${notice && html`<${Notice} kind="ok"><p>${notice}</p></${Notice}>`}</div>
    <${ErrorSummary} error=${exportError} />
    ${course?.reason && status !== "active" && html`<${Notice} kind="warn" title=${`Course ${status}`}><p>${course.reason}${course.paused_at && status === "paused" ? ` (since ${at(course.paused_at, zone)})` : ""}${course.ended_at && status === "ended" ? ` (${at(course.ended_at, zone)})` : ""}</p>${status === "paused" && html`<p>No reminders are sent while the course is paused.</p>`}</${Notice}>`}

    <${Summary} p=${p} apps=${apps} zone=${zone} />
    ${flags.length > 0 && html`<${FlagsCard} flags=${flags} zone=${zone} onAck=${() => setDialog("ack")} />`}

    <div class="cols">
      <div class="stack">
        ${p.adherence_weeks &&
        html`<section class="card" aria-labelledby="adh-h">
          <h2 id="adh-h">Adherence</h2>
          <${AdherenceChart} weeks=${p.adherence_weeks} current=${course?.week} />
          <${AdherenceTable} weeks=${p.adherence_weeks} />
        </section>`}
        <${Timeline} apps=${apps} zone=${zone} canRecord=${status === "active" && !!nextUndone} onRecord=${() => setDialog("record")} />
        ${p.kits && html`<${Kits} patientId=${id} kits=${p.kits} zone=${zone} onChanged=${done} />`}
        <${PhotosSection} patient=${p} />
        <${Messages} patient=${p} />
      </div>
      <aside class="stack" aria-label="About the patient">
        <section class="card" aria-labelledby="areas-h">
          <h2 id="areas-h">Target areas</h2>
          <${ScalpMap} selected=${p.target_areas || []} size="small" />
          <p>${(p.target_areas || []).map((key) => labelIn(options.data?.scalp_areas, key)).join(", ")}</p>
          ${p.suitability?.notes && html`<p class="hint">Exam notes: ${p.suitability.notes}</p>`}
        </section>
        <${Reminders} p=${p} />
        <section class="card stack" aria-labelledby="invite-h">
          <h2 id="invite-h">Invite and data</h2>
          <p class="hint">${p.account_active ? "A new invite also lets the patient set a new password." : "The patient has not used their invite yet."}</p>
          <a class="btn secondary" href=${href(`/patients/${id}/invite`)}>New invite QR code</a>
          <button type="button" class="btn secondary" onClick=${exportFhir}>Download FHIR record</button>
        </section>
      </aside>
    </div>

    <${CourseDialog} kind=${dialog === "pause" || dialog === "resume" || dialog === "end" ? dialog : null} patient=${p} onClose=${() => setDialog(null)} onDone=${done} />
    <${RecordDialog} open=${dialog === "record"} patient=${p} app=${nextUndone} onClose=${() => setDialog(null)} onDone=${done} />
    <${AcknowledgeDialog} target=${dialog === "ack" ? { patient: p, flags: flags.filter((f) => f.active) } : null} labelOf=${labelOf}
      onClose=${() => setDialog(null)} onDone=${(label) => done(`“${label}” acknowledged.`)} />
  </section>`;
}

function Summary({ p, apps, zone }) {
  const adherence = p.plan?.adherence;
  const doneCount = apps.filter((a) => a.completed_at).length;
  const next = apps.find((a) => !a.completed_at);
  const last = [...apps].reverse().find((a) => a.completed_at);
  const week = p.course?.week;
  return html`<div class="summary-grid">
    ${week && html`<div class="stat"><span class="value">Week ${week}</span><span class="label">of ${p.course.weeks_total}</span></div>`}
    <div class="stat"><span class="value">${adherence ? `${adherence.percent}%` : "—"}</span><span class="label">adherence · ${adherence ? `${adherence.missed} missed, ${adherence.late} late` : ""}</span></div>
    <div class="stat"><span class="value">${doneCount} of ${apps.length}</span><span class="label">applications done</span></div>
    <div class="stat"><span class="value">${last ? dayOf(last.completed_at, zone) : "None"}</span><span class="label">last application</span></div>
    <div class="stat"><span class="value">${next ? dayOf(next.due_at, zone) : "—"}</span><span class="label">next application${next ? `, ${at(next.due_at, zone).split(", ")[1]}` : ""}${otherZone(zone)}</span></div>
  </div>`;
}

function FlagsCard({ flags, zone, onAck }) {
  const active = flags.filter((f) => f.active);
  return html`<section class=${active.length ? "notice error" : "card"} aria-labelledby="flags-h">
    <h2 id="flags-h">${active.length ? `Flags (${active.length} to look at)` : "Flags (all acknowledged)"}</h2>
    <ul>
      ${flags.map(
        (f) => html`<li>
          <strong>${f.active ? "⚑ " : "✓ "}${f.label}</strong>${f.active ? "" : " (acknowledged)"}: ${f.description}
          <span class="sub">Since ${at(f.since, zone)}${f.acknowledgement ? ` · acknowledged by ${f.acknowledgement.acknowledged_by} on ${at(f.acknowledgement.acknowledged_at)}: “${f.acknowledgement.note}”` : ""}</span>
        </li>`
      )}
    </ul>
    ${active.length > 0 && html`<button type="button" class="btn primary" onClick=${onAck}>Acknowledge a flag</button>`}
  </section>`;
}

function checkInText(c) {
  if (!c) return "—";
  const parts = [];
  if (c.redness) parts.push(`redness ${c.redness}`);
  if (c.irritation) parts.push(`irritation ${c.irritation}`);
  if (c.pain != null) parts.push(`pain ${c.pain}/10`);
  const text = parts.join(", ") || "no scores";
  return c.notes ? `${text}. “${c.notes}”` : text;
}

// When it is due (the time in force, which on time and late are judged against) and when it
// was first planned (after a miss or a move the later ones shift to keep the minimum gap).
const originalDue = (a) => a.original_due_at || a.due_at;
const plannedFor = (a) => a.scheduled_at || a.due_at;

// Every application with its due time; the next few still to come are shown, the rest of
// the course folds away.
const SHOW_UPCOMING = 3;

function TimelineRow({ a, zone }) {
  const shifted = originalDue(a) !== plannedFor(a);
  return html`<tr>
    <th scope="row">${a.number}</th>
    <td>${at(plannedFor(a), zone)}${shifted ? html`<span class="sub">first planned ${at(originalDue(a), zone)}</span>` : ""}</td>
    <td class=${"status st-" + a.status}>${STATUS_WORDS[a.status] || a.status}${a.check_in?.flagged ? html` <${Badge} kind="error">Side effects</${Badge}>` : ""}</td>
    <td>${a.completed_at ? at(a.completed_at, zone) : "—"}</td>
    <td>${a.recorded_by ? `${a.recorded_by.name}${a.recorded_by.kind === "staff" ? " (clinic)" : ""}` : a.in_clinic ? "Clinic" : a.completed_at ? "Patient" : "—"}</td>
    <td>${a.steps_completed && a.steps_completed.length ? a.steps_completed.map(humanKey).join(", ") : "—"}</td>
    <td>${checkInText(a.check_in)}</td>
  </tr>`;
}

function TimelineTable({ rows, zone, caption }) {
  return html`<div class="table-wrap"><table class="timeline">
    ${caption && html`<caption class="visually-hidden">${caption}</caption>`}
    <thead><tr><th scope="col">#</th><th scope="col">Due</th><th scope="col">Status</th><th scope="col">Done</th><th scope="col">By</th><th scope="col">Steps</th><th scope="col">Check-in</th></tr></thead>
    <tbody>${rows.map((a) => html`<${TimelineRow} key=${a.number} a=${a} zone=${zone} />`)}</tbody>
  </table></div>`;
}

function Timeline({ apps, zone, canRecord, onRecord }) {
  const firstUpcoming = apps.findIndex((a) => !a.completed_at && a.status !== "missed");
  const cut = firstUpcoming < 0 ? apps.length : Math.min(apps.length, firstUpcoming + SHOW_UPCOMING);
  const later = apps.slice(cut);
  return html`<section class="card stack" aria-labelledby="timeline-h">
    <div class="page-head">
      <h2 id="timeline-h">Course timeline</h2>
      ${canRecord && html`<button type="button" class="btn secondary small" onClick=${onRecord}>Record an application done here</button>`}
    </div>
    <p class="hint">Times in the patient's zone${otherZone(zone) || ""}.</p>
    <${TimelineTable} rows=${apps.slice(0, cut)} zone=${zone} />
    ${later.length > 0 &&
    html`<details>
      <summary>The rest of the course: ${later.length} more applications, to ${dayOf(plannedFor(later[later.length - 1]), zone)}</summary>
      <${TimelineTable} rows=${later} zone=${zone} caption="The rest of the course" />
    </details>`}
  </section>`;
}

function Kits({ patientId, kits, zone, onChanged }) {
  const [editing, setEditing] = useState(null);
  const [form, setForm] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const open = (kit) => {
    setEditing(kit);
    setForm({ batch_number: kit.batch_number || "", expires_on: kit.expires_on || "", dispatched: !!kit.dispatched_at });
    setError(null);
  };
  const save = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body = {};
    if (form.batch_number.trim() && form.batch_number.trim() !== editing.batch_number) body.batch_number = form.batch_number.trim();
    if (form.expires_on && form.expires_on !== editing.expires_on) body.expires_on = form.expires_on;
    if (form.dispatched && !editing.dispatched_at) body.dispatched_at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    if (!Object.keys(body).length) {
      setEditing(null);
      setBusy(false);
      return;
    }
    try {
      await api.patch(`/api/clinic/patients/${patientId}/kits/${editing.number}`, body);
      const number = editing.number;
      setEditing(null);
      onChanged(`Kit ${number} saved.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card" aria-labelledby="kits-h">
    <h2 id="kits-h">Kits</h2>
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">Kit</th><th scope="col">Batch</th><th scope="col">Expires</th><th scope="col">Needed from</th><th scope="col">Handed over or sent</th><th scope="col">Action</th></tr></thead>
      <tbody>
        ${kits.map(
          (k) => html`<tr>
            <th scope="row">Kit ${k.number}</th>
            <td>${k.batch_number || "Not recorded"}</td>
            <td>${k.expires_on ? calendarDate(k.expires_on) : "Not recorded"}</td>
            <td>${k.needed_from ? dayOf(k.needed_from, zone) : "—"}</td>
            <td>${k.dispatched_at ? at(k.dispatched_at, zone) : html`<${Badge} kind="warn">Not yet</${Badge}>`}</td>
            <td><button type="button" class="btn secondary small" onClick=${() => open(k)}>${k.dispatched_at ? "Edit" : "Record dispatch"}<span class="visually-hidden"> of kit ${k.number}</span></button></td>
          </tr>`
        )}
      </tbody>
    </table></div>
    <${Dialog} open=${!!editing} title=${editing ? `Kit ${editing.number}` : ""} onClose=${() => setEditing(null)}>
      <form onSubmit=${save} novalidate class="stack">
        <${ErrorSummary} error=${error} prefix="kit-" />
        <${TextInput} id="kit-batch_number" label="Batch number" value=${form.batch_number} onValue=${(v) => setForm((f) => ({ ...f, batch_number: v }))} error=${fieldError(error, "batch_number")} maxlength="60" />
        <${TextInput} id="kit-expires_on" type="date" label="Expiry date" value=${form.expires_on} onValue=${(v) => setForm((f) => ({ ...f, expires_on: v }))} error=${fieldError(error, "expires_on")} />
        ${editing && !editing.dispatched_at &&
        html`<div class="check">
          <input type="checkbox" id="kit-dispatched" checked=${form.dispatched} onChange=${(e) => setForm((f) => ({ ...f, dispatched: e.currentTarget.checked }))} />
          <label for="kit-dispatched">Handed over or sent to the patient now</label>
        </div>`}
        <div class="actions">
          <${Submit} busy=${busy}>Save</${Submit}>
          <button type="button" class="btn secondary" onClick=${() => setEditing(null)}>Cancel</button>
        </div>
      </form>
    </${Dialog}>
  </section>`;
}

function Messages({ patient }) {
  const list = useLoad(() => api.get(`/api/clinic/patients/${patient.id}/messages`), [patient.id]);
  const [text, setText] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const send = async (event) => {
    event.preventDefault();
    if (!text.trim()) {
      setError({ message: "Write the message first.", fields: { text: "Write a message" } });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const message = await api.post(`/api/clinic/patients/${patient.id}/messages`, { text: text.trim() });
      list.setData([message, ...(list.data || [])]);
      setText("");
      setSent(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card stack" aria-labelledby="messages-h">
    <h2 id="messages-h">Messages to ${patient.first_name}</h2>
    <p class="hint">They show on the patient's Today screen, and the phone gets a notification (without the text).</p>
    ${list.error && !list.data && html`<${LoadError} error=${list.error} reload=${list.reload} />`}
    ${list.data && list.data.length === 0 && html`<p>No messages yet.</p>`}
    ${list.data && list.data.length > 0 &&
    html`<ul class="messages">
      ${list.data.map((m) => html`<li><p>${m.text}</p><p class="meta">${m.author} · ${atYear(m.created_at)}</p></li>`)}
    </ul>`}
    <form onSubmit=${send} novalidate class="stack">
      <${ErrorSummary} error=${error} prefix="msg-" />
      <${TextArea} id="msg-text" label="New message" value=${text} onValue=${(v) => (setText(v), setSent(false))} error=${fieldError(error, "text")} maxlength="1000" />
      <div class="actions"><${Submit} busy=${busy}>Send message</${Submit}><span aria-live="polite">${sent ? "Sent." : ""}</span></div>
    </form>
  </section>`;
}

function Reminders({ p }) {
  const r = p.reminders;
  if (!r) return null;
  const days = (r.weekdays || []).map((d) => WEEKDAYS[d]).join(" and ");
  const devices = r.devices || [];
  return html`<section class="card" aria-labelledby="reminders-h">
    <h2 id="reminders-h">Reminders</h2>
    ${r.paused && html`<p><${Badge} kind="warn">Paused</${Badge}> No reminders while the course is paused.</p>`}
    <dl class="facts">
      <dt>Days</dt><dd>${days || "—"}</dd>
      <dt>Time</dt><dd>${r.reminder_time || "—"} (${zoneName(r.time_zone)})</dd>
      <dt>Quiet hours</dt><dd>${r.quiet_hours_start ? `${r.quiet_hours_start}–${r.quiet_hours_end}` : "None"}</dd>
      <dt>Phones</dt><dd>${devices.length === 0 ? html`<${Badge} kind="warn">Notifications not turned on</${Badge}>` : devices.map((d) => html`<span class="sub">${d.user_agent || "A phone"}: ${d.state === "active" ? "working" : html`<strong>not working</strong>${d.failure ? ` (${d.failure})` : ""}`}</span>`)}</dd>
      ${r.last_sent_at && html`<dt>Last reminder</dt><dd>${at(r.last_sent_at, p.time_zone)}</dd>`}
    </dl>
    <p class="hint">The patient changes these in the app's Settings.</p>
  </section>`;
}

const COURSE_ACTIONS = {
  pause: { title: "Pause the course", verb: "Pause course", path: "pause", needsReason: true, explain: "No reminders are sent while it is paused. When it resumes, the remaining applications are planned again from that day.", done: "Course paused: reminders stopped." },
  resume: { title: "Resume the course", verb: "Resume course", path: "resume", needsReason: false, explain: "The remaining applications are planned again from now, on the patient's reminder days, and reminders start again.", done: "Course resumed: the remaining applications are planned again." },
  end: { title: "End the course", verb: "End course", path: "end", needsReason: true, explain: "The course stops for good: no more reminders, and the patient sees that the clinic ended it. This can't be undone.", done: "Course ended." },
};

function CourseDialog({ kind, patient, onClose, onDone }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const action = kind ? COURSE_ACTIONS[kind] : null;
  const close = () => {
    setReason("");
    setError(null);
    onClose();
  };
  const submit = async (event) => {
    event.preventDefault();
    if (action.needsReason && !reason.trim()) {
      setError({ message: "Give the reason; it is kept in the patient's record.", fields: { reason: "Give a reason" } });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.post(`/api/clinic/patients/${patient.id}/course/${action.path}`, reason.trim() ? { reason: reason.trim() } : {});
      setReason("");
      onDone(action.done);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Dialog} open=${!!kind} title=${action ? `${action.title}: ${patient.first_name} ${patient.last_name}` : ""} onClose=${close}>
    ${action &&
    html`<form onSubmit=${submit} novalidate class="stack">
      <p>${action.explain}</p>
      <${ErrorSummary} error=${error} prefix="course-" />
      <${TextArea} id="course-reason" label=${action.needsReason ? "Reason" : "Note (optional)"} value=${reason} onValue=${setReason} error=${fieldError(error, "reason")} maxlength="500" required=${action.needsReason} />
      <div class="actions">
        <${Submit} busy=${busy} className=${kind === "end" ? "danger primary" : "primary"}>${action.verb}</${Submit}>
        <button type="button" class="btn secondary" onClick=${close}>Cancel</button>
      </div>
    </form>`}
  </${Dialog}>`;
}

const SEVERITY = [
  ["", "Not asked"],
  ["none", "None"],
  ["mild", "Mild"],
  ["moderate", "Moderate"],
  ["severe", "Severe"],
];

function RecordDialog({ open, patient, app, onClose, onDone }) {
  const now = new Date();
  const [form, setForm] = useState({ time: `${pad(now.getHours())}:${pad(now.getMinutes())}`, redness: "", irritation: "", pain: "", notes: "" });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  const submit = async (event) => {
    event.preventDefault();
    const [h, m] = form.time.split(":").map(Number);
    const when = new Date();
    when.setHours(h, m, 0, 0);
    if (!form.time || when > new Date()) {
      setError({ message: "The time it was done can't be later than now.", fields: { completed_at: "Enter a time up to now" } });
      return;
    }
    const hasCheckIn = form.redness || form.irritation || form.pain !== "" || form.notes.trim();
    const body = { completed_at: when.toISOString().replace(/\.\d{3}Z$/, "Z") };
    if (hasCheckIn)
      body.check_in = { redness: form.redness || null, irritation: form.irritation || null, pain: form.pain === "" ? null : Number(form.pain), notes: form.notes.trim() || null };
    setBusy(true);
    setError(null);
    try {
      await api.post(`/api/clinic/patients/${patient.id}/applications/${app.number}/complete`, body);
      onDone(`Application ${app.number} recorded as done at the clinic.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Dialog} open=${open && !!app} title=${app ? `Record application ${app.number}, done here today` : ""} onClose=${onClose}>
    ${app &&
    html`<form onSubmit=${submit} novalidate class="stack">
      <${ErrorSummary} error=${error} prefix="rec-" />
      <${TextInput} id="rec-completed_at" type="time" label="Done at (today)" value=${form.time} onValue=${set("time")} error=${fieldError(error, "completed_at")} />
      <fieldset>
        <legend>Check-in (optional)</legend>
        <div class="row">
          <${Select} id="rec-redness" label="Redness" value=${form.redness} onValue=${set("redness")} options=${SEVERITY} />
          <${Select} id="rec-irritation" label="Irritation" value=${form.irritation} onValue=${set("irritation")} options=${SEVERITY} />
          <${TextInput} id="rec-pain" type="number" label="Pain (0–10)" min="0" max="10" value=${form.pain} onValue=${set("pain")} error=${fieldError(error, "check_in")} />
        </div>
        <${TextArea} id="rec-notes" label="Notes" value=${form.notes} onValue=${set("notes")} maxlength="1000" />
      </fieldset>
      <div class="actions">
        <${Submit} busy=${busy}>Record application ${app.number}</${Submit}>
        <button type="button" class="btn secondary" onClick=${onClose}>Cancel</button>
      </div>
    </form>`}
  </${Dialog}>`;
}
