// Outcome measures: hair count per cm² and cumulative thickness (mm/cm²) per target area and
// checkpoint, as a trichoscopy tool reports them, with the change from the area's baseline; and
// the form that records one (PUT replaces that area's value at that checkpoint).
import { html, useState } from "../html.js";
import { api } from "../api.js";
import { dayOf } from "../fmt.js";
import { Select, TextInput, Submit, ErrorSummary, Notice, fieldError } from "../ui.js";
import { change } from "../photos.js";

const pad = (n) => String(n).padStart(2, "0");
const localNow = () => {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
const number = (v) => (v === "" || v == null ? null : Number(v));
const fmt = (v, digits) => (v == null ? "—" : Number(v).toFixed(digits));

// The table alone (also under the photos on the comparison screen).
export function OutcomeTable({ outcomes, checkpoints, caption }) {
  const areas = (outcomes && outcomes.areas) || [];
  const cps = checkpoints.filter((c) => !c.ad_hoc);
  const measured = areas.filter((a) => a.measures.length);
  if (!measured.length) return html`<p class="hint">No outcome measures recorded yet.</p>`;
  return html`<div class="table-wrap">
    <table class="outcomes">
      <caption>${caption || "Outcome measures (change from the area's baseline)"}</caption>
      <thead>
        <tr><th scope="col">Area</th>${cps.map((c) => html`<th scope="col">${c.label}</th>`)}</tr>
      </thead>
      <tbody>
        ${measured.map(
          (a) => html`<tr>
            <th scope="row">${a.label}</th>
            ${cps.map((c) => {
              const m = a.measures.find((x) => x.checkpoint === c.key);
              if (!m) return html`<td class="hint">—</td>`;
              return html`<td>
                <span class="measure">${fmt(m.hair_count_per_cm2, 0)} hairs/cm² <span class="change">${c.key === "baseline" ? "" : change(m.hair_count_change_pct)}</span></span>
                <span class="measure">${fmt(m.cumulative_thickness_mm_per_cm2, 2)} mm/cm² <span class="change">${c.key === "baseline" ? "" : change(m.thickness_change_pct)}</span></span>
                <span class="hint">${dayOf(m.measured_at)}</span>
              </td>`;
            })}
          </tr>`
        )}
      </tbody>
    </table>
  </div>`;
}

export function Outcomes({ patient, outcomes, checkpoints, reload }) {
  const areas = (outcomes && outcomes.areas) || [];
  const cps = checkpoints.filter((c) => !c.ad_hoc);
  const [form, setForm] = useState({ checkpoint: cps[0]?.key || "", area: areas[0]?.target_area || "", measured_at: localNow(), count: "", thickness: "" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(null);
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      await api.put(`/api/clinic/patients/${patient.id}/outcomes/${encodeURIComponent(form.checkpoint)}/${encodeURIComponent(form.area)}`, {
        measured_at: new Date(form.measured_at).toISOString(),
        hair_count_per_cm2: number(form.count),
        cumulative_thickness_mm_per_cm2: number(form.thickness),
      });
      const area = areas.find((a) => a.target_area === form.area);
      const cp = cps.find((c) => c.key === form.checkpoint);
      setSaved(`Saved: ${area ? area.label : form.area}, ${cp ? cp.label : form.checkpoint}.`);
      setForm((f) => ({ ...f, count: "", thickness: "" }));
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="stack outcomes-block">
    <h3>Outcome measures</h3>
    <${OutcomeTable} outcomes=${outcomes} checkpoints=${checkpoints} />
    ${areas.length
      ? html`<form class="card stack outcome-form" onSubmit=${submit} novalidate>
          <h4>Record a measurement</h4>
          <p class="hint">As the trichoscopy tool reports it, per target area. Saving again for the same area and checkpoint replaces the value.</p>
          <${ErrorSummary} error=${error} prefix="om-" labels=${{ hair_count_per_cm2: "Hair count", cumulative_thickness_mm_per_cm2: "Thickness", measured_at: "Measured" }} />
          <div class="row">
            <${Select} id="om-checkpoint" label="Checkpoint" value=${form.checkpoint} onValue=${set("checkpoint")} options=${cps.map((c) => [c.key, c.label])} />
            <${Select} id="om-area" label="Target area" value=${form.area} onValue=${set("area")} options=${areas.map((a) => [a.target_area, a.label])} />
            <${TextInput} id="om-measured_at" label="Measured" type="datetime-local" value=${form.measured_at} onValue=${set("measured_at")} error=${fieldError(error, "measured_at")} />
          </div>
          <div class="row">
            <${TextInput} id="om-hair_count_per_cm2" label="Hair count per cm²" type="number" inputmode="decimal" min="0" max="1000" step="any" value=${form.count} onValue=${set("count")} error=${fieldError(error, "hair_count_per_cm2")} />
            <${TextInput} id="om-cumulative_thickness_mm_per_cm2" label="Cumulative thickness (mm/cm²)" type="number" inputmode="decimal" min="0" max="100" step="any" value=${form.thickness} onValue=${set("thickness")} error=${fieldError(error, "cumulative_thickness_mm_per_cm2")} />
          </div>
          <div class="actions"><${Submit} busy=${busy}>Save measurement</${Submit}></div>
          ${saved && html`<${Notice} kind="ok" role="status"><p>${saved}</p></${Notice}>`}
        </form>`
      : html`<p class="hint">${patient.first_name} has no target areas to measure.</p>`}
  </div>`;
}
