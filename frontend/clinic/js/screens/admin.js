// Admin: staff accounts and roles, the clinic's settings and protocol parameters (within the
// protocol's bounds), and the audit log. Changes the server guards ask for the admin's password
// again (api.js handles `reauth_required`).
import { html, useState, useEffect, useRef } from "../html.js";
import { api } from "../api.js";
import { href, setQuery } from "../router.js";
import { state } from "../store.js";
import { atYear, humanKey } from "../fmt.js";
import { useLoad, Loading, LoadError, ErrorSummary, TextInput, Select, Submit, Notice, fieldError, Badge } from "../ui.js";
import { timeZones, PARAMETER_LABELS } from "../options.js";
import { zoneLabel } from "/shared/format.js";

const TABS = [
  ["staff", "/admin/staff", "Staff"],
  ["settings", "/admin/settings", "Clinic settings"],
  ["audit", "/admin/audit", "Audit log"],
];

function AdminNav({ current }) {
  return html`<nav class="subnav" aria-label="Admin">
    <ul>${TABS.map(([key, path, label]) => html`<li><a href=${href(path)} aria-current=${key === current ? "page" : undefined}>${label}</a></li>`)}</ul>
  </nav>`;
}

const ROLES = [
  ["clinician", "Clinician"],
  ["admin", "Admin"],
];

function NewStaff({ onAdded }) {
  const empty = { name: "", email: "", role: "clinician", password: "" };
  const [form, setForm] = useState(empty);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const user = await api.post("/api/clinic/staff", form);
      setForm(empty);
      onAdded(user);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="card stack" onSubmit=${submit} novalidate aria-labelledby="new-staff-h">
    <h2 id="new-staff-h">Add a staff member</h2>
    <${ErrorSummary} error=${error} prefix="staff-" />
    <div class="row">
      <${TextInput} id="staff-name" label="Name" value=${form.name} onValue=${set("name")} error=${fieldError(error, "name")} autocomplete="off" required />
      <${TextInput} id="staff-email" type="email" label="Work email" value=${form.email} onValue=${set("email")} error=${fieldError(error, "email")} autocomplete="off" required />
    </div>
    <div class="row">
      <${Select} id="staff-role" label="Role" value=${form.role} onValue=${set("role")} error=${fieldError(error, "role")} options=${ROLES} hint="Admins also manage staff, settings and the audit log." />
      <${TextInput} id="staff-password" type="password" label="First password" value=${form.password} onValue=${set("password")} error=${fieldError(error, "password")}
        autocomplete="new-password" hint="At least 10 characters and hard to guess; they can change it after signing in." required />
    </div>
    <div class="actions"><${Submit} busy=${busy}>Add staff member</${Submit}></div>
  </form>`;
}

export function StaffAdmin() {
  const list = useLoad(() => api.get("/api/clinic/staff"), []);
  const [message, setMessage] = useState(null);
  const [error, setError] = useState(null);
  const change = async (user, changes, done) => {
    setError(null);
    setMessage(null);
    try {
      const updated = await api.patch(`/api/clinic/staff/${user.id}`, changes);
      list.setData(list.data.map((u) => (u.id === updated.id ? updated : u)));
      setMessage(done(updated));
    } catch (e) {
      if (e.code !== "cancelled") setError(e);
      list.reload();
    }
  };
  return html`<section class="screen">
    <h1>Staff</h1>
    <${AdminNav} current="staff" />
    <div aria-live="polite">${message && html`<${Notice} kind="ok"><p>${message}</p></${Notice}>`}</div>
    <${ErrorSummary} error=${error} />
    ${list.error && !list.data && html`<${LoadError} error=${list.error} reload=${list.reload} />`}
    ${!list.data && !list.error && html`<${Loading} />`}
    ${list.data &&
    html`<div class="table-wrap"><table>
      <caption>${list.data.length} staff ${list.data.length === 1 ? "account" : "accounts"}</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
      <tbody>
        ${list.data.map((u) => {
          const me = u.id === state.account.id;
          return html`<tr>
            <th scope="row">${u.name}${me && html` <span class="sub">(you)</span>`}</th>
            <td>${u.email}</td>
            <td>
              <label class="visually-hidden" for=${"role-" + u.id}>Role of ${u.name}</label>
              <select id=${"role-" + u.id} value=${u.role} disabled=${me} onChange=${(e) => change(u, { role: e.currentTarget.value }, (x) => `${x.name} is now ${x.role === "admin" ? "an admin" : "a clinician"}.`)}>
                ${ROLES.map(([v, t]) => html`<option value=${v} selected=${v === u.role}>${t}</option>`)}
              </select>
            </td>
            <td>${u.active ? html`<${Badge} kind="ok">Active</${Badge}>` : html`<${Badge} kind="muted">Deactivated</${Badge}>`}</td>
            <td>${!me &&
            html`<button type="button" class=${u.active ? "btn danger small" : "btn secondary small"}
                onClick=${() => change(u, { active: !u.active }, (x) => (x.active ? `${x.name} can sign in again.` : `${x.name} is deactivated and signed out everywhere.`))}>
                ${u.active ? "Deactivate" : "Reactivate"}<span class="visually-hidden"> ${u.name}</span>
              </button>`}</td>
          </tr>`;
        })}
      </tbody>
    </table></div>`}
    <${NewStaff} onAdded=${(user) => {
      list.setData([...(list.data || []), user].sort((a, b) => a.name.localeCompare(b.name)));
      setMessage(`${user.name} was added as ${user.role === "admin" ? "an admin" : "a clinician"}.`);
    }} />
  </section>`;
}


export function SettingsAdmin() {
  const loaded = useLoad(() => api.get("/api/clinic/settings"), []);
  const [form, setForm] = useState(null);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const zones = timeZones();
  useEffect(() => {
    if (loaded.data) setForm(toForm(loaded.data));
  }, [loaded.data]);
  const set = (k) => (v) => {
    setSaved(false);
    setForm((f) => ({ ...f, [k]: v }));
  };
  const setParam = (key, value) => {
    setSaved(false);
    setForm((f) => ({ ...f, params: { ...f.params, [key]: value } }));
  };
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const overrides = {};
    const problems = {};
    for (const p of loaded.data.protocol.parameters) {
      const raw = form.params[p.key];
      const value = Number(raw);
      if (raw === "" || !Number.isInteger(value)) problems[p.key] = "Enter a whole number";
      else if (value < p.min || value > p.max) problems[p.key] = `Between ${p.min} and ${p.max}`;
      else if (value !== p.default) overrides[p.key] = value;
    }
    if (Object.keys(problems).length) {
      setError({ message: "Some parameters are outside the protocol's bounds.", fields: problems });
      setBusy(false);
      return;
    }
    const body = { name: form.name, time_zone: form.time_zone, protocol_overrides: overrides };
    if ("phone" in form) body.phone = form.phone.trim() || null;
    if ("default_reminder_time" in form && form.default_reminder_time) body.default_reminder_time = form.default_reminder_time;
    if ("locations" in form) body.locations = form.locations.split("\n").map((s) => s.trim()).filter(Boolean);
    try {
      const data = await api.patch("/api/clinic/settings", body);
      loaded.setData(data);
      setSaved(true);
    } catch (e) {
      if (e.code !== "cancelled") setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="screen">
    <h1>Clinic settings</h1>
    <${AdminNav} current="settings" />
    ${loaded.error && !loaded.data && html`<${LoadError} error=${loaded.error} reload=${loaded.reload} />`}
    ${!form && !loaded.error && html`<${Loading} />`}
    ${form &&
    html`<form class="stack" onSubmit=${submit} novalidate>
      <div aria-live="polite">${saved && html`<${Notice} kind="ok"><p>Settings saved. New protocol parameters apply to patients enrolled from now on.</p></${Notice}>`}</div>
      <${ErrorSummary} error=${error} prefix="" labels=${PARAMETER_LABELS} />
      <section class="card stack" aria-labelledby="clinic-h">
        <h2 id="clinic-h">The clinic</h2>
        <div class="row">
          <${TextInput} id="name" label="Clinic name" value=${form.name} onValue=${set("name")} error=${fieldError(error, "name")} />
          ${"phone" in form && html`<${TextInput} id="phone" type="tel" label="Phone number (on the patient's invite sheet)" value=${form.phone} onValue=${set("phone")} error=${fieldError(error, "phone")} />`}
        </div>
        <div class="row">
          <${Select} id="time_zone" label="Clinic time zone" value=${form.time_zone} onValue=${set("time_zone")} error=${fieldError(error, "time_zone")} options=${zones.map((z) => [z, zoneLabel(z)])} />
          ${"default_reminder_time" in form && html`<${TextInput} id="default_reminder_time" type="time" label="Default reminder time" value=${form.default_reminder_time} onValue=${set("default_reminder_time")} error=${fieldError(error, "default_reminder_time")} />`}
        </div>
        ${"locations" in form && html`<${TextAreaLocations} value=${form.locations} onValue=${set("locations")} error=${fieldError(error, "locations")} />`}
      </section>
      <section class="card" aria-labelledby="protocol-h">
        <h2 id="protocol-h">Protocol: ${loaded.data.protocol.name}</h2>
        <p class="hint">Each parameter stays within the protocol's safe bounds. A course keeps the parameters it started with.</p>
        ${loaded.data.protocol.parameters.map(
          (p) => html`<div class="param-row">
            <label for=${p.key}>${PARAMETER_LABELS[p.key] || humanKey(p.key)}</label>
            <input id=${p.key} type="number" min=${p.min} max=${p.max} step="1" value=${form.params[p.key]}
              aria-describedby=${p.key + "-bounds" + (fieldError(error, p.key) ? " " + p.key + "-error" : "")}
              aria-invalid=${fieldError(error, p.key) ? "true" : undefined} onInput=${(e) => setParam(p.key, e.currentTarget.value)} />
            <span class="hint" id=${p.key + "-bounds"}>${p.min}–${p.max} (protocol default ${p.default})
              ${fieldError(error, p.key) && html`<span class="field-error" id=${p.key + "-error"}>${fieldError(error, p.key)}</span>`}</span>
          </div>`
        )}
      </section>
      <div class="actions"><${Submit} busy=${busy}>Save settings</${Submit}></div>
    </form>`}
  </section>`;
}

function TextAreaLocations({ value, onValue, error }) {
  return html`<div class="field">
    <label for="locations">Locations (one a line)</label>
    ${error && html`<p class="field-error" id="locations-error">${error}</p>`}
    <textarea id="locations" value=${value} onInput=${(e) => onValue(e.currentTarget.value)} aria-invalid=${error ? "true" : undefined} aria-describedby=${error ? "locations-error" : undefined}></textarea>
  </div>`;
}

function toForm(data) {
  const form = { name: data.name, time_zone: data.time_zone, params: Object.fromEntries(data.protocol.parameters.map((p) => [p.key, String(p.value)])) };
  if ("phone" in data) form.phone = data.phone || "";
  if ("default_reminder_time" in data) form.default_reminder_time = data.default_reminder_time || "";
  if ("locations" in data) form.locations = (data.locations || []).join("\n");
  return form;
}

// The audit log, newest first, a page at a time (the server's before_id cursor), filtered on the
// server by event, by who acted and by the record it is about; the filters stay in the address.
const TARGET_TYPES = [
  ["", "Any record"],
  ["patient", "A patient"],
  ["staff", "A staff account"],
  ["clinic", "The clinic"],
];

export function AuditLog({ query }) {
  const [filters, setFilters] = useState({ event: query.event || "", actor: query.actor || "", target_type: query.target_type || "", target_id: query.target_id || "" });
  const [pages, setPages] = useState([]);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);
  const [done, setDone] = useState(false);
  const staff = useLoad(() => api.get("/api/clinic/staff"), []);
  const kinds = useLoad(() => api.get("/api/clinic/audit-events/kinds"), []);
  const LIMIT = 100;
  const params = (beforeId) => {
    const q = new URLSearchParams({ limit: LIMIT });
    if (beforeId) q.set("before_id", beforeId);
    if (filters.event) q.set("event", filters.event);
    if (filters.actor) q.set("actor", filters.actor);
    if (filters.target_type) q.set("target", filters.target_type + (/^[1-9]\d*$/.test(filters.target_id) ? `:${filters.target_id}` : ""));
    return q.toString();
  };
  const seq = useRef(0);
  const load = async (beforeId) => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const rows = await api.get(`/api/clinic/audit-events?${params(beforeId)}`);
      if (mine !== seq.current) return;
      setPages((p) => (beforeId ? [...p, rows] : [rows]));
      setDone(rows.length < LIMIT);
      setError(null);
    } catch (e) {
      if (mine === seq.current) setError(e);
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  };
  const key = JSON.stringify(filters);
  useEffect(() => {
    const timer = setTimeout(() => load(), filters.target_id ? 300 : 0);
    setQuery(filters);
    return () => clearTimeout(timer);
  }, [key]);
  // A record number belongs to its type: another type starts without one (the clinic has none).
  const set = (k) => (v) => setFilters((f) => ({ ...f, [k]: v, ...(k === "target_type" ? { target_id: "" } : {}) }));
  const events = pages.flat();
  const names = Object.fromEntries((staff.data || []).map((s) => [s.id, s.name]));
  const who = (type, id) => (type === "staff" && names[id] ? names[id] : type ? `${type} ${id ?? ""}`.trim() : "—");
  const actors = [["", "Anyone"], ["patient", "Any patient"], ...(staff.data || []).map((s) => [`staff:${s.id}`, s.name])];
  return html`<section class="screen">
    <h1>Audit log</h1>
    <${AdminNav} current="audit" />
    <form class="toolbar" role="search" aria-label="Filter the audit log" onSubmit=${(e) => e.preventDefault()}>
      <${Select} id="audit-event" label="Event" value=${filters.event} onValue=${set("event")} options=${[["", "All events"], ...(kinds.data?.events || []).map((k) => [k, humanKey(k)])]} />
      <${Select} id="audit-actor" label="Who" value=${filters.actor} onValue=${set("actor")} options=${actors} />
      <${Select} id="audit-target-type" label="About" value=${filters.target_type} onValue=${set("target_type")} options=${TARGET_TYPES} />
      ${filters.target_type && filters.target_type !== "clinic" &&
      html`<${TextInput} id="audit-target-id" type="text" inputmode="numeric" label=${filters.target_type === "patient" ? "Patient number" : "Staff number"} value=${filters.target_id} onValue=${set("target_id")} />`}
    </form>
    ${error && html`<${LoadError} error=${error} reload=${() => load()} />`}
    <p aria-live="polite" class="hint">${loading ? "Loading…" : `${events.length} ${events.length === 1 ? "event" : "events"}${done ? "" : " so far (older ones below)"}`}</p>
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Who</th><th scope="col">About</th><th scope="col">Details</th></tr></thead>
      <tbody>
        ${!loading && events.length === 0 && html`<tr><td colspan="5">No events match these filters.</td></tr>`}
        ${events.map(
          (e) => html`<tr key=${e.id}>
            <td>${atYear(e.created_at)}</td>
            <th scope="row">${humanKey(e.event)}</th>
            <td>${who(e.actor_type, e.actor_id)}</td>
            <td>${e.target_type === "patient" ? html`<a href=${href(`/patients/${e.target_id}`)}>patient ${e.target_id}</a>` : who(e.target_type, e.target_id)}</td>
            <td class="audit-detail">${Object.entries(e.detail || {}).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")}</td>
          </tr>`
        )}
      </tbody>
    </table></div>
    ${!done && !loading && html`<div class="actions"><button type="button" class="btn secondary" onClick=${() => load(events[events.length - 1]?.id)}>Load older events</button></div>`}
  </section>`;
}
