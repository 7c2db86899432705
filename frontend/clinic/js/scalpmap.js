// The clinic's scalp map at enrolment: the patient app's drawing (shared/scalp.js), where a
// click on an area marks or unmarks it. The map is for pointer and touch; the checkboxes beside
// it are the same choice for the keyboard and screen readers, so the map itself is hidden
// from assistive technology.
import { html } from "./html.js";
import { REGIONS, DRAW_ORDER } from "/shared/scalp.js";

export function ScalpMap({ selected, onToggle, size = "large" }) {
  const chosen = new Set(selected);
  const clickable = !!onToggle;
  return html`<svg viewBox="0 0 200 250" class=${`scalp-map ${size}${clickable ? " clickable" : ""}`} aria-hidden="true" focusable="false">
    <defs>
      <pattern id="clinic-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
        <line x1="0" y1="0" x2="0" y2="6" class="hatch-line" />
      </pattern>
    </defs>
    <path class="ear" d="M20 110 Q8 126 20 146 Z" />
    <path class="ear" d="M180 110 Q192 126 180 146 Z" />
    <path class="nose" d="M92 26 L100 12 L108 26 Z" />
    <ellipse class="head" cx="100" cy="128" rx="80" ry="102" />
    ${DRAW_ORDER.map(
      (key) => html`<path class=${chosen.has(key) ? "area target" : "area"} d=${REGIONS[key]} data-area=${key} onClick=${clickable ? () => onToggle(key) : undefined} />
        ${chosen.has(key) && html`<path class="hatch" d=${REGIONS[key]} fill="url(#clinic-hatch)" />`}`
    )}
    <text x="100" y="8" class="map-label" text-anchor="middle">Front</text>
    <text x="100" y="246" class="map-label" text-anchor="middle">Back</text>
    <text x="4" y="100" class="map-label">L</text>
    <text x="196" y="100" class="map-label" text-anchor="end">R</text>
  </svg>`;
}
