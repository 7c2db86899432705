// The adherence chart: one stacked bar per course week (on time, moved earlier, late, missed,
// still to come), drawn as inline SVG (no chart library or CDN). The same numbers are in a
// table for screen readers and keyboard users, which the chart's description points to.
import { html } from "./html.js";

export const KINDS = [
  ["on_time", "On time"],
  ["moved", "Done earlier (moved)"],
  ["late", "Late"],
  ["missed", "Missed"],
  ["upcoming", "Still to come"],
];

export function AdherenceChart({ weeks, current }) {
  const perWeek = Math.max(1, ...weeks.map((w) => KINDS.reduce((n, [k]) => n + (w[k] || 0), 0)));
  const W = 640;
  const H = 180;
  const left = 28;
  const bottom = 24;
  const top = 8;
  const slot = (W - left) / Math.max(1, weeks.length);
  const bar = Math.min(28, slot * 0.6);
  const unit = (H - bottom - top) / perWeek;
  return html`<figure class="chart-figure">
    <svg class="chart" viewBox=${`0 0 ${W} ${H}`} role="img" aria-labelledby="chart-title" aria-describedby="chart-desc">
      <title id="chart-title">Applications per course week</title>
      <desc id="chart-desc">Stacked bars per week: on time, done earlier, late, missed and still to come. The table below the chart has the same numbers.</desc>
      ${Array.from({ length: perWeek + 1 }, (_, i) => {
        const y = H - bottom - i * unit;
        return html`<line class="grid" x1=${left} x2=${W} y1=${y} y2=${y} /><text class="axis-label" x=${left - 6} y=${y + 4} text-anchor="end">${i}</text>`;
      })}
      ${weeks.map((w, i) => {
        const x = left + i * slot + (slot - bar) / 2;
        let y = H - bottom;
        const parts = KINDS.filter(([k]) => w[k]).map(([k]) => {
          const h = w[k] * unit;
          y -= h;
          return html`<rect class=${"bar-" + k} x=${x} y=${y} width=${bar} height=${Math.max(0, h - 1)} rx="2" />`;
        });
        return html`<g>${parts}<text class="axis-label" x=${x + bar / 2} y=${H - 6} text-anchor="middle" font-weight=${w.week === current ? "700" : "400"}>${w.week}</text></g>`;
      })}
    </svg>
    <figcaption>
      <ul class="legend">${KINDS.map(([k, label]) => html`<li><span class=${"swatch " + k}></span>${label}</li>`)}</ul>
    </figcaption>
  </figure>`;
}

export function AdherenceTable({ weeks }) {
  return html`<details>
    <summary>The chart's numbers, week by week</summary>
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">Week</th>${KINDS.map(([, label]) => html`<th scope="col" class="num">${label}</th>`)}</tr></thead>
      <tbody>${weeks.map((w) => html`<tr><th scope="row">Week ${w.week}</th>${KINDS.map(([k]) => html`<td class="num">${w[k] || 0}</td>`)}</tr>`)}</tbody>
    </table></div>
  </details>`;
}
