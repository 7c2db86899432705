// Enrolment at the chair, in the clinic's order of work: the patient, the scalp exam
// (suitability), the target areas, the protocol, today's first application, reminders and kits.
// One form in numbered sections (the list beside it jumps between them); the server checks
// everything again and its errors are linked to the fields they are about.
import { html, useState, useMemo } from "../html.js";
import { api } from "../api.js";
import { navigate } from "../router.js";
import { keepInvite } from "../invites.js";
import { NOT_SUITABLE, PARAMETER_LABELS, loadOptions, timeZones } from "../options.js";
import { ScalpMap } from "../scalpmap.js";
import { WEEKDAYS, deviceZone, zoneLabel } from "/shared/format.js";
import { TextInput, TextArea, Select, Radios, Checkbox, ErrorSummary, Notice, Submit, fieldError, useLoad, Loading, LoadError } from "../ui.js";
import { humanKey } from "../fmt.js";

const LABELS = {
  first_name: "First name",
  last_name: "Last name",
  email: "Email",
  phone: "Mobile phone",
  date_of_birth: "Date of birth",
  indication: "Reason for treatment",
  miniaturisation_seen: "Miniaturisation",
  advanced_traction_alopecia: "Advanced traction alopecia",
  exam_notes: "Exam notes",
  target_areas: "Target areas",
  first_application_at: "First application",
  reminder_weekdays: "Reminder days",
  reminder_time: "Reminder time",
  time_zone: "Time zone",
  kits: "Kits",
  "kits.0.batch_number": "Kit 1 batch number",
  "kits.0.expires_on": "Kit 1 expiry date",
  "kits.1.batch_number": "Kit 2 batch number",
  "kits.1.expires_on": "Kit 2 expiry date",
  protocol_version_id: "Protocol",
  protocol_overrides: "Protocol parameters",
  ...Object.fromEntries(Object.entries(PARAMETER_LABELS).map(([k, v]) => [`protocol_overrides.${k}`, v])),
};

const SECTIONS = [
  ["details", "Patient details"],
  ["suitability", "Suitability"],
  ["areas", "Target areas"],
  ["protocol", "Protocol"],
  ["start", "Course start"],
  ["reminders", "Reminders"],
  ["kits", "Kits"],
];

const pad = (n) => String(n).padStart(2, "0");
const hhmm = (d) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;
const localInput = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${hhmm(d)}`;
// Monday = 0, as the server counts weekdays.
const weekdayIndex = (d) => (d.getDay() + 6) % 7;

function initialForm(options) {
  const now = new Date();
  const protocol = options.protocols[0];
  const today = weekdayIndex(now);
  return {
    first_name: "",
    last_name: "",
    email: "",
    phone: "",
    date_of_birth: "",
    indication: "",
    miniaturisation_seen: null,
    advanced_traction_alopecia: null,
    exam_notes: "",
    target_areas: [],
    start: "today",
    done_time: hhmm(now),
    planned_at: localInput(new Date(now.getTime() + 86400000)),
    // The first at-home application three or four days after today's, then twice a week.
    reminder_weekdays: [(today + 3) % 7, today],
    reminder_time: options.clinic.default_reminder_time || "20:00",
    time_zone: deviceZone(),
    kits: [
      { batch: "", expires: "" },
      { batch: "", expires: "" },
    ],
    protocol_id: protocol ? protocol.id : null,
    params: protocol ? Object.fromEntries(protocol.parameters.map((p) => [p.key, String(p.value)])) : {},
  };
}

function firstApplicationAt(form) {
  if (form.start === "today") {
    const [h, m] = form.done_time.split(":").map(Number);
    const d = new Date();
    d.setHours(h, m, 0, 0);
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return new Date(form.planned_at).toISOString().replace(/\.\d{3}Z$/, "Z");
}

// The checks a person can fix before anything is sent; the server makes them all again.
function localProblems(form, protocol) {
  const f = {};
  if (!form.first_name.trim()) f.first_name = "Enter the patient's first name";
  if (!form.last_name.trim()) f.last_name = "Enter the patient's last name";
  if (!/^\S+@\S+\.\S+$/.test(form.email.trim())) f.email = "Enter an email address like name@example.com";
  if (!form.indication) f.indication = "Choose the reason for treatment";
  if (form.miniaturisation_seen === null) f.miniaturisation_seen = "Answer yes or no";
  if (form.advanced_traction_alopecia === null) f.advanced_traction_alopecia = "Answer yes or no";
  if (!form.target_areas.length) f.target_areas = "Mark at least one area on the map or in the list";
  if (form.start === "today" && !/^\d\d:\d\d$/.test(form.done_time)) f.first_application_at = "Enter the time it was done, like 14:30";
  if (form.start === "today" && new Date(firstApplicationAt(form)) > new Date()) f.first_application_at = "The time it was done can't be later than now";
  if (form.start === "later" && !form.planned_at) f.first_application_at = "Choose the date and time";
  if (!form.reminder_time) f.reminder_time = "Enter a time like 20:00";
  form.kits.forEach((kit, i) => {
    if (kit.batch.trim() && !kit.expires) f[`kits.${i}.expires_on`] = "Enter the expiry date on the box";
    if (!kit.batch.trim() && kit.expires) f[`kits.${i}.batch_number`] = "Enter the batch number on the box";
  });
  if (!form.kits[0].batch.trim() && form.kits[1].batch.trim()) f["kits.0.batch_number"] = "Enter kit 1 first";
  for (const p of protocol?.parameters || []) {
    const value = Number(form.params[p.key]);
    if (form.params[p.key] === "" || !Number.isInteger(value) || value < p.min || value > p.max)
      f[`protocol_overrides.${p.key}`] = `A whole number from ${p.min} to ${p.max}`;
  }
  return f;
}

function Section({ id, number, title, children, hint }) {
  return html`<section id=${id} class="card stack" aria-labelledby=${id + "-h"}>
    <h2 id=${id + "-h"}><span class="num">${number}.</span>${title}</h2>
    ${hint && html`<p class="hint">${hint}</p>`}
    ${children}
  </section>`;
}

export function Enrol() {
  const options = useLoad(loadOptions, []);
  if (options.error && !options.data)
    return html`<section class="screen"><h1>Enrol a patient</h1><${LoadError} error=${options.error} reload=${options.reload} /></section>`;
  if (!options.data) return html`<section class="screen"><h1>Enrol a patient</h1><${Loading} /></section>`;
  return html`<${EnrolForm} options=${options.data} />`;
}

function EnrolForm({ options }) {
  const [form, setForm] = useState(() => initialForm(options));
  const [showParams, setShowParams] = useState(false);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const zones = useMemo(timeZones, []);
  const set = (key) => (value) => setForm((f) => ({ ...f, [key]: value }));
  const err = (key) => fieldError(error, key);
  const blocked = form.advanced_traction_alopecia === true;

  const toggleArea = (key) =>
    setForm((f) => ({ ...f, target_areas: f.target_areas.includes(key) ? f.target_areas.filter((k) => k !== key) : [...f.target_areas, key] }));
  const toggleDay = (day) =>
    setForm((f) => ({ ...f, reminder_weekdays: f.reminder_weekdays.includes(day) ? f.reminder_weekdays.filter((d) => d !== day) : [...f.reminder_weekdays, day] }));
  const setKit = (i, key, value) => setForm((f) => ({ ...f, kits: f.kits.map((k, j) => (j === i ? { ...k, [key]: value } : k)) }));
  const setParam = (key, value) => setForm((f) => ({ ...f, params: { ...f.params, [key]: value } }));
  const protocol = options.protocols.find((p) => p.id === form.protocol_id) || options.protocols[0];
  // The parameters the clinician changed for this patient; the rest stay the clinic's.
  const changedParams = protocol ? protocol.parameters.filter((p) => Number(form.params[p.key]) !== p.value) : [];

  const submit = async (event) => {
    event.preventDefault();
    const problems = localProblems(form, protocol);
    if (Object.keys(problems).length) {
      setError({ message: "Some details need attention before the patient can be enrolled.", fields: problems });
      return;
    }
    setBusy(true);
    setError(null);
    const at = firstApplicationAt(form);
    const body = {
      first_name: form.first_name.trim(),
      last_name: form.last_name.trim(),
      email: form.email.trim(),
      phone: form.phone.trim() || null,
      date_of_birth: form.date_of_birth || null,
      indication: form.indication,
      advanced_traction_alopecia: form.advanced_traction_alopecia,
      miniaturisation_seen: form.miniaturisation_seen,
      exam_notes: form.exam_notes.trim() || null,
      target_areas: form.target_areas,
      first_application_at: at,
      reminder_weekdays: [...form.reminder_weekdays].sort(),
      reminder_time: form.reminder_time,
      time_zone: form.time_zone,
      kits: form.kits.filter((k) => k.batch.trim()).map((k) => ({ batch_number: k.batch.trim(), expires_on: k.expires })),
    };
    if (protocol) {
      // The clinic's only protocol is the server's default; the id goes only with a choice made.
      if (options.protocols.length > 1) body.protocol_version_id = protocol.id;
      if (changedParams.length) body.protocol_overrides = Object.fromEntries(changedParams.map((p) => [p.key, Number(form.params[p.key])]));
    }
    let enrolled;
    try {
      enrolled = await api.post("/api/clinic/patients", body);
    } catch (e) {
      setError(e);
      setBusy(false);
      return;
    }
    let recordError = null;
    if (form.start === "today") {
      // Today's application, done here: recorded as the clinic's (its vial opened at the chair).
      try {
        await api.post(`/api/clinic/patients/${enrolled.patient.id}/applications/1/complete`, { completed_at: at });
      } catch (e) {
        recordError = e.message;
      }
    }
    keepInvite(enrolled.patient.id, { ...enrolled.invite, fresh: true, recordError, patient: enrolled.patient });
    navigate(`/patients/${enrolled.patient.id}/invite`);
  };

  return html`<section class="screen">
    <div class="page-head"><h1>Enrol a patient</h1></div>
    <p class="lead">Fill this in during the first application. When it is done the patient scans a QR code with their phone to set up the app.</p>
    <div class="enrol">
      <nav class="steps card" aria-label="Enrolment sections">
        <ol>${SECTIONS.map(([id, title]) => html`<li><a href=${"#" + id}>${title}</a></li>`)}</ol>
      </nav>
      <form class="enrol-form stack" onSubmit=${submit} novalidate>
        <${ErrorSummary} error=${error} labels=${LABELS} />

        <${Section} id="details" number="1" title="Patient details">
          <div class="row">
            <${TextInput} id="first_name" label="First name" value=${form.first_name} onValue=${set("first_name")} error=${err("first_name")} autocomplete="off" required />
            <${TextInput} id="last_name" label="Last name" value=${form.last_name} onValue=${set("last_name")} error=${err("last_name")} autocomplete="off" required />
          </div>
          <div class="row">
            <${TextInput} id="email" type="email" label="Email" hint="The patient signs in with it." value=${form.email} onValue=${set("email")} error=${err("email")} autocomplete="off" required />
            <${TextInput} id="phone" type="tel" label="Mobile phone (optional)" value=${form.phone} onValue=${set("phone")} error=${err("phone")} autocomplete="off" />
            <${TextInput} id="date_of_birth" type="date" label="Date of birth (optional)" value=${form.date_of_birth} onValue=${set("date_of_birth")} error=${err("date_of_birth")} />
          </div>
          <${Select} id="indication" label="Reason for treatment" value=${form.indication} onValue=${set("indication")} error=${err("indication")}
            options=${[["", "Choose…"], ...options.indications.map((o) => [o.key, o.label])]} required />
        </${Section}>

        <${Section} id="suitability" number="2" title="Suitability" hint="From the scalp exam.">
          <${Radios} name="miniaturisation_seen" legend="Miniaturised hairs seen?" value=${form.miniaturisation_seen} onValue=${set("miniaturisation_seen")}
            error=${err("miniaturisation_seen")} options=${[[true, "Yes"], [false, "No"]]} />
          <${Radios} name="advanced_traction_alopecia" legend="Advanced traction alopecia (scarred, shiny skin without follicles)?"
            value=${form.advanced_traction_alopecia} onValue=${set("advanced_traction_alopecia")} error=${err("advanced_traction_alopecia")}
            options=${[[false, "No"], [true, "Yes"]]} />
          ${blocked && html`<${Notice} kind="error" title="Cannot be enrolled" role="alert"><p class="blocked">${NOT_SUITABLE}</p></${Notice}>`}
          <${TextArea} id="exam_notes" label="Exam notes (optional)" value=${form.exam_notes} onValue=${set("exam_notes")} error=${err("exam_notes")} maxlength="2000" />
        </${Section}>

        <${Section} id="areas" number="3" title="Target areas" hint="Click an area on the map, or tick it in the list. The patient sees these areas in the app.">
          <div class="map-pick">
            <${ScalpMap} selected=${form.target_areas} onToggle=${toggleArea} />
            <fieldset id="target_areas" aria-describedby=${err("target_areas") ? "target_areas-error" : undefined}>
              <legend>Areas to treat</legend>
              ${err("target_areas") && html`<p class="field-error" id="target_areas-error">${err("target_areas")}</p>`}
              ${options.scalp_areas.map(({ key, label }) => html`<${Checkbox} id=${"area-" + key} label=${label} checked=${form.target_areas.includes(key)} onValue=${() => toggleArea(key)} />`)}
              <p class="hint" aria-live="polite">${form.target_areas.length ? `${form.target_areas.length} marked` : "None marked yet"}</p>
            </fieldset>
          </div>
        </${Section}>

        <${Section} id="protocol" number="4" title="Protocol" hint="The clinic's values, within the protocol's safe bounds. Change one only for this patient's reasons; the course keeps these values.">
          ${options.protocols.length > 1 &&
          html`<${Select} id="protocol_version_id" label="Protocol" value=${form.protocol_id} onValue=${(v) => {
            const chosen = options.protocols.find((p) => String(p.id) === String(v));
            setForm((f) => ({ ...f, protocol_id: chosen.id, params: Object.fromEntries(chosen.parameters.map((p) => [p.key, String(p.value)])) }));
          }} options=${options.protocols.map((p) => [p.id, p.name])} />`}
          ${protocol &&
          html`<p><strong>${protocol.name}</strong>: ${protocol.applications_total} applications, ${protocol.applications_per_week} a week for ${protocol.weeks} weeks.</p>
            <details open=${showParams || protocol.parameters.some((p) => err(`protocol_overrides.${p.key}`))} onToggle=${(e) => setShowParams(e.currentTarget.open)}>
              <summary>Parameters for this patient${changedParams.length ? ` (${changedParams.length} changed)` : " (the clinic's values)"}</summary>
              ${protocol.parameters.map((p) => {
                const id = `protocol_overrides.${p.key}`;
                const changed = changedParams.includes(p);
                return html`<div class="param-row">
                  <label for=${id}>${PARAMETER_LABELS[p.key] || humanKey(p.key)}</label>
                  <input id=${id} type="number" min=${p.min} max=${p.max} step="1" value=${form.params[p.key]} onInput=${(e) => setParam(p.key, e.currentTarget.value)}
                    aria-invalid=${err(id) ? "true" : undefined} aria-describedby=${id + "-bounds" + (err(id) ? " " + id + "-error" : "")} />
                  <span class="hint" id=${id + "-bounds"}>${p.min}–${p.max}; clinic's value ${p.value}${changed ? html` · <strong>changed for this patient</strong>` : ""}
                    ${err(id) && html`<span class="field-error" id=${id + "-error"}>${err(id)}</span>`}</span>
                </div>`;
              })}
            </details>`}
        </${Section}>

        <${Section} id="start" number="5" title="Course start">
          <${Radios} name="start" legend="First application" value=${form.start} onValue=${set("start")}
            options=${[["today", "Done here today"], ["later", "Planned for another day"]]} />
          ${form.start === "today"
            ? html`<${TextInput} id="first_application_at" type="time" label="Done at" hint="Recorded as done by the clinic, with the first vial half used." value=${form.done_time} onValue=${set("done_time")} error=${err("first_application_at")} className="narrow-field" />`
            : html`<${TextInput} id="first_application_at" type="datetime-local" label="Planned for" value=${form.planned_at} onValue=${set("planned_at")} error=${err("first_application_at")} className="narrow-field" />`}
        </${Section}>

        <${Section} id="reminders" number="6" title="Reminders" hint="The days the patient applies at home, and when the phone reminds them. They can change this in the app.">
          <fieldset id="reminder_weekdays" aria-describedby=${err("reminder_weekdays") ? "reminder_weekdays-error" : "weekday-hint"}>
            <legend>Reminder days</legend>
            ${err("reminder_weekdays")
              ? html`<p class="field-error" id="reminder_weekdays-error">${err("reminder_weekdays")}</p>`
              : html`<p class="hint" id="weekday-hint">Two days, at least three days apart (for example Monday and Thursday).</p>`}
            <div class="day-grid">
              ${WEEKDAYS.map((name, i) => html`<${Checkbox} id=${"day-" + i} label=${name} checked=${form.reminder_weekdays.includes(i)} onValue=${() => toggleDay(i)} />`)}
            </div>
          </fieldset>
          <div class="row">
            <${TextInput} id="reminder_time" type="time" label="Reminder time" value=${form.reminder_time} onValue=${set("reminder_time")} error=${err("reminder_time")} />
            <${Select} id="time_zone" label="Patient's time zone" value=${form.time_zone} onValue=${set("time_zone")} error=${err("time_zone")}
              options=${zones.map((z) => [z, zoneLabel(z)])} />
          </div>
        </${Section}>

        <${Section} id="kits" number="7" title="Kits" hint="The batch number and expiry date on each box (kit 2 is often handed over or sent later: its dispatch is recorded on the patient's page).">
          ${err("kits") && html`<p class="field-error" id="kits-error">${err("kits")}</p>`}
          <div class="kits">
            ${form.kits.map(
              (kit, i) => html`<fieldset>
                <legend>Kit ${i + 1}${i ? " (optional)" : ""}</legend>
                <div class="row">
                  <${TextInput} id=${`kits.${i}.batch_number`} label="Batch number" value=${kit.batch} onValue=${(v) => setKit(i, "batch", v)}
                    error=${err(`kits.${i}.batch_number`)} maxlength="60" autocomplete="off" />
                  <${TextInput} id=${`kits.${i}.expires_on`} type="date" label="Expiry date" value=${kit.expires} onValue=${(v) => setKit(i, "expires", v)}
                    error=${err(`kits.${i}.expires_on`)} />
                </div>
              </fieldset>`
            )}
          </div>
        </${Section}>

        <div class="actions">
          <${Submit} busy=${busy} className="primary big" disabled=${busy || blocked}>Enrol and show the invite QR code</${Submit}>
          ${blocked && html`<p class="hint">Enrolment is blocked: advanced traction alopecia.</p>`}
        </div>
      </form>
    </div>
  </section>`;
}
