// The check-in: redness, irritation, pain 0–10 and notes, as large radio buttons.
import { h } from "/shared/dom.js";

const LEVELS = [["none", "None"], ["mild", "Mild"], ["moderate", "Moderate"], ["severe", "Severe"]];
const NOTES_MAX = 1000;

function radios(name, legend, options, s, persist, cls = "") {
  return h(
    "fieldset",
    { class: `choices ${cls}` },
    h("legend", {}, legend),
    h("div", { class: "choice-grid" },
      options.map(([value, label]) => {
        const id = `${name}-${value}`;
        return h("div", { class: "choice" },
          h("input", {
            type: "radio", name, id, value: String(value), checked: s.check_in[name] === value,
            onchange: () => { s.check_in[name] = value; persist(); },
          }),
          h("label", { for: id }, label));
      }))
  );
}

export function checkInStep(s, persist) {
  const count = h("p", { class: "hint", id: "notes-count", "aria-live": "polite" });
  const notes = h("textarea", { id: "notes", rows: 3, maxLength: NOTES_MAX, "aria-describedby": "notes-count", value: s.check_in.notes || "" });
  const updateCount = () => (count.textContent = `${notes.value.length} of ${NOTES_MAX} characters`);
  notes.addEventListener("input", () => {
    s.check_in.notes = notes.value;
    updateCount();
    persist();
  });
  updateCount();
  const pain = Array.from({ length: 11 }, (_, i) => [i, String(i)]);
  return h(
    "div",
    { class: "stack" },
    radios("redness", "Redness", LEVELS, s, persist),
    radios("irritation", "Irritation (itching, stinging)", LEVELS, s, persist),
    radios("pain", "Pain now, from 0 (none) to 10 (the worst)", pain, s, persist, "pain"),
    h("div", { class: "field" }, h("label", { for: "notes" }, "Anything else your clinic should know? (optional)"), notes, count)
  );
}

export function checkInValue(s) {
  const c = s.check_in;
  const missing = [!c.redness && "redness", !c.irritation && "irritation", c.pain == null && "pain"].filter(Boolean);
  if (missing.length) return { error: `Please answer: ${missing.join(", ")}.` };
  return { value: { redness: c.redness, irritation: c.irritation, pain: c.pain, notes: (c.notes || "").slice(0, NOTES_MAX) } };
}
