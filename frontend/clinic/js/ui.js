// The workspace's building blocks: labelled fields that carry their hint and error, the error
// summary, notices, a modal dialog on the native <dialog>, and data loading for a screen.
import { html, useState, useEffect, useRef, useCallback } from "./html.js";

// Loads data for a screen; `reload()` fetches again. Answers for an older call are dropped.
export function useLoad(fn, deps = []) {
  const [result, setResult] = useState({ loading: true, data: null, error: null });
  const seq = useRef(0);
  const load = useCallback(async () => {
    const mine = ++seq.current;
    setResult((r) => ({ ...r, loading: true }));
    try {
      const data = await fn();
      if (mine === seq.current) setResult({ loading: false, data, error: null });
    } catch (error) {
      if (mine === seq.current) setResult((r) => ({ loading: false, data: r.data, error }));
    }
  }, deps);
  useEffect(() => {
    load();
  }, [load]);
  return { ...result, reload: load, setData: (data) => setResult((r) => ({ ...r, data })) };
}

const describedBy = (...ids) => ids.filter(Boolean).join(" ") || undefined;

export function Field({ id, label, hint, error, children, className = "" }) {
  return html`<div class=${"field " + className}>
    <label for=${id}>${label}</label>
    ${hint && html`<p class="hint" id=${id + "-hint"}>${hint}</p>`}
    ${error && html`<p class="field-error" id=${id + "-error"}><span class="visually-hidden">Error: </span>${error}</p>`}
    ${children}
  </div>`;
}

function controlProps(id, hint, error) {
  return { id, name: id, "aria-invalid": error ? "true" : undefined, "aria-describedby": describedBy(hint && id + "-hint", error && id + "-error") };
}

export function TextInput({ id, label, hint, error, value, onValue, type = "text", className, ...rest }) {
  return html`<${Field} id=${id} label=${label} hint=${hint} error=${error} className=${className}>
    <input type=${type} ...${controlProps(id, hint, error)} value=${value ?? ""} onInput=${(e) => onValue(e.currentTarget.value)} ...${rest} />
  </${Field}>`;
}

export function TextArea({ id, label, hint, error, value, onValue, ...rest }) {
  return html`<${Field} id=${id} label=${label} hint=${hint} error=${error}>
    <textarea ...${controlProps(id, hint, error)} value=${value ?? ""} onInput=${(e) => onValue(e.currentTarget.value)} ...${rest}></textarea>
  </${Field}>`;
}

export function Select({ id, label, hint, error, value, onValue, options, className, ...rest }) {
  return html`<${Field} id=${id} label=${label} hint=${hint} error=${error} className=${className}>
    <select ...${controlProps(id, hint, error)} value=${value ?? ""} onChange=${(e) => onValue(e.currentTarget.value)} ...${rest}>
      ${options.map(([v, text]) => html`<option value=${v} selected=${String(v) === String(value)}>${text}</option>`)}
    </select>
  </${Field}>`;
}

// Radio buttons in a fieldset: `options` is [[value, label], …]; values compared as strings.
export function Radios({ name, legend, hint, error, value, onValue, options, inline = true }) {
  return html`<fieldset class="radios" aria-describedby=${describedBy(hint && name + "-hint", error && name + "-error")}>
    <legend>${legend}</legend>
    ${hint && html`<p class="hint" id=${name + "-hint"}>${hint}</p>`}
    ${error && html`<p class="field-error" id=${name + "-error"}><span class="visually-hidden">Error: </span>${error}</p>`}
    <div class=${inline ? "choices inline" : "choices"}>
      ${options.map(
        ([v, text]) => html`<div class="check">
          <input type="radio" id=${`${name}-${v}`} name=${name} value=${String(v)} checked=${String(v) === String(value)} onChange=${() => onValue(v)} />
          <label for=${`${name}-${v}`}>${text}</label>
        </div>`
      )}
    </div>
  </fieldset>`;
}

export function Checkbox({ id, label, checked, onValue, hint }) {
  return html`<div class="check">
    <input type="checkbox" id=${id} checked=${checked} onChange=${(e) => onValue(e.currentTarget.checked)} aria-describedby=${hint ? id + "-hint" : undefined} />
    <label for=${id}>${label}</label>
    ${hint && html`<p class="hint" id=${id + "-hint"}>${hint}</p>`}
  </div>`;
}

export function Notice({ kind = "info", title, children, role }) {
  const word = { error: "Problem", warn: "Attention", ok: "Done", info: "Note" }[kind];
  return html`<div class=${"notice " + kind} role=${role}>
    <p class="notice-title"><strong>${title || word}</strong></p>
    ${children}
  </div>`;
}

// An API error as a person reads it, with each field's problem linked to the field (ids are
// the API's field names, with `prefix`).
export function ErrorSummary({ error, prefix = "", labels = {} }) {
  const ref = useRef(null);
  useEffect(() => {
    if (error && ref.current) ref.current.focus();
  }, [error]);
  if (!error || error.code === "cancelled") return null;
  const fields = Object.entries(error.fields || {});
  return html`<div class="notice error" role="alert" tabindex="-1" ref=${ref}>
    <p class="notice-title"><strong>${error.status === 0 ? "Offline" : "There is a problem"}</strong></p>
    <p>${error.message}</p>
    ${fields.length > 0 &&
    html`<ul>
      ${fields.map(([k, v]) => html`<li><a href=${"#" + prefix + k}>${labels[k] || k.replace(/_/g, " ")}: ${String(v)}</a></li>`)}
    </ul>`}
  </div>`;
}

export const fieldError = (error, name) => (error && error.fields ? error.fields[name] : undefined);

// A modal dialog (native <dialog>: focus moves in, is kept in, and returns where it was;
// Escape closes it through onClose).
export function Dialog({ open, title, onClose, children, className = "", describedBy: desc }) {
  const ref = useRef(null);
  const titleId = useRef("dlg-" + Math.random().toString(36).slice(2)).current;
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (open && !el.open) el.showModal();
    if (!open && el.open) el.close();
  }, [open]);
  useEffect(() => {
    const el = ref.current;
    const cancel = (e) => {
      e.preventDefault();
      onClose && onClose();
    };
    el.addEventListener("cancel", cancel);
    return () => el.removeEventListener("cancel", cancel);
  }, [onClose]);
  return html`<dialog ref=${ref} class=${"dialog " + className} aria-labelledby=${titleId} aria-describedby=${desc}>
    ${open && html`<h2 id=${titleId}>${title}</h2>${children}`}
  </dialog>`;
}

export function Loading({ what = "Loading" }) {
  return html`<p class="loading" role="status">${what}…</p>`;
}

export function LoadError({ error, reload }) {
  return html`<${Notice} kind="error" role="alert" title="Could not load this">
    <p>${error.message}</p>
    <button type="button" class="btn secondary" onClick=${reload}>Try again</button>
  </${Notice}>`;
}

// A button that shows it is working and can't be pressed twice.
export function Submit({ busy, children, className = "primary", ...rest }) {
  return html`<button type="submit" class=${"btn " + className} disabled=${busy} aria-disabled=${busy ? "true" : undefined} ...${rest}>
    ${busy ? "Working…" : children}
  </button>`;
}

export function Badge({ kind = "", children }) {
  return html`<span class=${"badge " + kind}>${children}</span>`;
}
