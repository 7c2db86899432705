// Flags as staff read them: the label in words (never colour alone), and the acknowledgement
// dialog shared by the dashboard and the patient page.
import { html, useState } from "./html.js";
import { api } from "./api.js";
import { Dialog, ErrorSummary, TextArea, Select, Submit, fieldError } from "./ui.js";

export function FlagList({ flags = [], acknowledged = [], labelOf }) {
  if (!flags.length && !acknowledged.length) return html`<span class="sub">None</span>`;
  return html`<ul class="flags">
    ${flags.map((f) => html`<li class="flag">${labelOf(f.key)}</li>`)}
    ${acknowledged.map((f) => html`<li class="flag quiet">${labelOf(f.key)} <span class="visually-hidden">(</span>acknowledged<span class="visually-hidden">)</span></li>`)}
  </ul>`;
}

// `target`: { patient: {id, first_name, last_name}, flags: [{key}] } or null when closed.
export function AcknowledgeDialog({ target, labelOf, onClose, onDone }) {
  const [key, setKey] = useState("");
  const [note, setNote] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const flags = target?.flags || [];
  const chosen = key || flags[0]?.key || "";
  const close = () => {
    setKey("");
    setNote("");
    setError(null);
    onClose();
  };
  const submit = async (event) => {
    event.preventDefault();
    if (!note.trim()) {
      setError({ message: "Say what was done or decided, so colleagues know.", fields: { note: "Write a short note" } });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.post(`/api/clinic/patients/${target.patient.id}/flags/${chosen}/acknowledge`, { note: note.trim() });
      const label = labelOf(chosen);
      close();
      onDone(label);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const name = target ? `${target.patient.first_name} ${target.patient.last_name}` : "";
  return html`<${Dialog} open=${!!target} title=${`Acknowledge a flag: ${name}`} onClose=${close}>
    <form onSubmit=${submit} novalidate class="stack">
      <p>The flag goes quiet until something new raises it again. Your note and name are kept in the patient's record and the audit log.</p>
      <${ErrorSummary} error=${error} prefix="ack-" />
      ${flags.length > 1
        ? html`<${Select} id="ack-flag" label="Flag" value=${chosen} onValue=${setKey} options=${flags.map((f) => [f.key, labelOf(f.key)])} />`
        : html`<p><strong>Flag:</strong> ${labelOf(chosen)}</p>`}
      <${TextArea} id="ack-note" label="Note" hint="For example: called her, she was away; back on track from Thursday." value=${note} onValue=${setNote} error=${fieldError(error, "note")} maxlength="1000" required />
      <div class="actions">
        <${Submit} busy=${busy}>Acknowledge</${Submit}>
        <button type="button" class="btn secondary" onClick=${close}>Cancel</button>
      </div>
    </form>
  </${Dialog}>`;
}
