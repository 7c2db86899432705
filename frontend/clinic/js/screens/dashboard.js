// The patient list: every patient of the clinic with adherence, last and next application,
// course week and flags. Sorting, filtering, search and pages are the server's
// (GET /api/clinic/dashboard); the page's address keeps them, so a reload or a shared link
// shows the same list.
import { html, useState, useEffect, useRef } from "../html.js";
import { api, download } from "../api.js";
import { href, setQuery } from "../router.js";
import { at, dayOf } from "../fmt.js";
import { useLoad, LoadError, Notice, TextInput, Select, Badge, ErrorSummary } from "../ui.js";
import { FlagList, AcknowledgeDialog } from "../flags.js";

const COLUMNS = [
  ["name", "Patient"],
  ["week", "Course"],
  ["adherence", "Adherence"],
  ["last", "Last application"],
  ["next", "Next application"],
  ["flags", "Flags"],
];
const STATUSES = [
  ["", "Any course status"],
  ["active", "Active"],
  ["paused", "Paused"],
  ["ended", "Ended"],
  ["completed", "Completed"],
];
const STATUS_BADGE = { active: "ok", paused: "warn", ended: "muted", completed: "ok" };
const defaultOrder = (sort) => (sort === "flags" ? "desc" : "asc");

export function Dashboard({ query }) {
  const [q, setQ] = useState(query.q || "");
  const [search, setSearch] = useState(query.q || "");
  const [filters, setFilters] = useState({
    sort: query.sort || "flags",
    order: query.order || "",
    flag: query.flag || "",
    status: query.status || "",
    page: Number(query.page) || 1,
  });
  const [ack, setAck] = useState(null);
  const [done, setDone] = useState(null);
  const [exportError, setExportError] = useState(null);
  const timer = useRef(null);

  // Typing searches after a short pause (one request, not one per key).
  const onSearch = (value) => {
    setQ(value);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      setSearch(value.trim());
      setFilters((f) => ({ ...f, page: 1 }));
    }, 300);
  };
  useEffect(() => () => clearTimeout(timer.current), []);

  const params = { ...filters, q: search, order: filters.order || defaultOrder(filters.sort) };
  const qs = new URLSearchParams(Object.entries({ ...params, per_page: 25 }).filter(([, v]) => v !== "" && v != null)).toString();
  const board = useLoad(() => api.get(`/api/clinic/dashboard?${qs}`), [qs]);
  useEffect(() => setQuery({ ...filters, q: search, sort: filters.sort === "flags" ? "" : filters.sort, page: filters.page > 1 ? filters.page : "" }), [qs]);

  const data = board.data;
  const catalogue = data?.flag_catalogue || [];
  const labelOf = (key) => catalogue.find((f) => f.key === key)?.label || key.replace(/_/g, " ");
  const setFilter = (key, value) => setFilters((f) => ({ ...f, [key]: value, page: key === "page" ? value : 1 }));
  const sortBy = (key) =>
    setFilters((f) => ({ ...f, sort: key, order: f.sort === key ? ((f.order || defaultOrder(key)) === "asc" ? "desc" : "asc") : "", page: 1 }));
  const pages = data ? Math.max(1, Math.ceil(data.total / data.per_page)) : 1;
  const exportCsv = async () => {
    setExportError(null);
    try {
      const name = await download("/api/clinic/exports/adherence.csv", "adherence.csv");
      setDone(`Downloaded ${name}: one row per application, for Excel or any spreadsheet.`);
    } catch (e) {
      setExportError(e);
    }
  };
  const flagHref = (key) => href("/" + (key ? `?flag=${key}` : ""));

  return html`<section class="screen">
    <div class="page-head">
      <h1>Patients</h1>
      <div class="actions">
        <button type="button" class="btn secondary" onClick=${exportCsv}>Download adherence (CSV)</button>
        <a class="btn primary" href=${href("/enrol")}>Enrol a patient</a>
      </div>
    </div>
    <${ErrorSummary} error=${exportError} />
    <nav aria-label="Filter by flag">
      <ul class="flag-filters">
        <li><a href=${flagHref("")} aria-current=${!filters.flag ? "true" : undefined} onClick=${(e) => (e.preventDefault(), setFilter("flag", ""))}>All patients</a></li>
        ${catalogue.map(
          (f) => html`<li><a href=${flagHref(f.key)} title=${f.description} aria-current=${filters.flag === f.key ? "true" : undefined}
              onClick=${(e) => (e.preventDefault(), setFilter("flag", f.key))}>${f.label} <span class="count badge ${data.flag_counts[f.key] ? "error" : "muted"}">${data.flag_counts[f.key] || 0}</span></a></li>`
        )}
      </ul>
    </nav>
    <form class="toolbar" role="search" aria-label="Patients" onSubmit=${(e) => e.preventDefault()}>
      <${TextInput} id="search" type="search" label="Search by name or email" value=${q} onValue=${onSearch} className="grow" autocomplete="off" />
      <${Select} id="status" label="Course status" value=${filters.status} onValue=${(v) => setFilter("status", v)} options=${STATUSES} />
    </form>
    <div aria-live="polite">${done && html`<${Notice} kind="ok"><p>${done}</p></${Notice}>`}</div>
    ${board.error && html`<${LoadError} error=${board.error} reload=${board.reload} />`}
    <p class="hint" role="status">${board.loading ? "Loading…" : data ? `${data.total} ${data.total === 1 ? "patient" : "patients"}${filters.flag ? ` flagged “${labelOf(filters.flag)}”` : ""}${search ? ` matching “${search}”` : ""}` : ""}</p>
    ${data &&
    html`<div class="table-wrap">
      <table class="dashboard" aria-busy=${board.loading ? "true" : "false"}>
        <caption class="visually-hidden">Patients, sorted by ${COLUMNS.find(([k]) => k === params.sort)?.[1] || params.sort}, ${params.order === "asc" ? "ascending" : "descending"}. Page ${data.page} of ${pages}.</caption>
        <thead><tr>
          ${COLUMNS.map(
            ([key, label]) => html`<th scope="col" class=${"col-" + key} aria-sort=${params.sort === key ? (params.order === "asc" ? "ascending" : "descending") : undefined}>
              <button type="button" class="sort" onClick=${() => sortBy(key)}>${label}<span aria-hidden="true">${params.sort === key ? (params.order === "asc" ? " ▲" : " ▼") : ""}</span></button>
            </th>`
          )}
          <th scope="col">Action</th>
        </tr></thead>
        <tbody>
          ${data.patients.length === 0 && html`<tr><td colspan="7">No patients match. ${(filters.flag || search || filters.status) && "Clear the search or filters to see everyone."}</td></tr>`}
          ${data.patients.map((p) => Row({ p, labelOf, onAck: () => setAck({ patient: p, flags: p.flags }) }))}
        </tbody>
      </table>
    </div>
    ${pages > 1 &&
    html`<nav class="pager" aria-label="Pages">
      <button type="button" class="btn secondary small" disabled=${filters.page <= 1} onClick=${() => setFilter("page", filters.page - 1)}>Previous page</button>
      <span>Page ${data.page} of ${pages}</span>
      <button type="button" class="btn secondary small" disabled=${filters.page >= pages} onClick=${() => setFilter("page", filters.page + 1)}>Next page</button>
    </nav>`}`}
    <${AcknowledgeDialog} target=${ack} labelOf=${labelOf} onClose=${() => setAck(null)}
      onDone=${(label) => {
        setDone(`“${label}” acknowledged for ${ack.patient.first_name} ${ack.patient.last_name}.`);
        board.reload();
      }} />
  </section>`;
}

function Row({ p, labelOf, onAck }) {
  const c = p.course;
  return html`<tr key=${p.id}>
    <th scope="row">
      <a class="patient-link" href=${href(`/patients/${p.id}`)}>${p.last_name}, ${p.first_name}</a>
      <span class="sub">${p.email}${p.invite_redeemed ? "" : " · has not joined yet"}</span>
    </th>
    <td>${c ? html`Week ${c.week} of ${c.weeks_total}<span class="sub">${c.applications_done} of ${c.applications_total} done · <${Badge} kind=${STATUS_BADGE[c.status] || ""}>${c.status}</${Badge}></span>` : html`<span class="sub">No course</span>`}</td>
    <td class="num">${p.adherence_percent == null ? "—" : `${p.adherence_percent}%`}<span class="sub">${p.missed} missed${p.late ? `, ${p.late} late` : ""}</span></td>
    <td class="col-last">${p.last_application_at ? dayOf(p.last_application_at) : "None yet"}</td>
    <td>${p.next_application_at ? at(p.next_application_at) : "—"}${p.next_overdue && html` <${Badge} kind="error">Overdue</${Badge}>`}</td>
    <td class="col-flags"><${FlagList} flags=${p.flags} acknowledged=${p.acknowledged} labelOf=${labelOf} /></td>
    <td>${p.flags.length > 0 && html`<button type="button" class="btn secondary small" onClick=${onAck}>Acknowledge<span class="visually-hidden"> a flag for ${p.first_name} ${p.last_name}</span></button>`}</td>
  </tr>`;
}
