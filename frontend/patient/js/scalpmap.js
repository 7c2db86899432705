// The scalp map: a head seen from above, nose at the top, drawn as inline SVG. The clinic's
// target areas are filled and hatched (not colour alone) and listed in the label.
import { svg } from "/shared/dom.js";
import { REGIONS, DRAW_ORDER } from "/shared/scalp.js";

let counter = 0;

export function scalpMap(targetAreas, { highlight = null, size = "large" } = {}) {
  const id = `hatch-${++counter}`;
  const keys = new Set(targetAreas.map((a) => a.key));
  const labels = targetAreas.map((a) => a.label).join(", ") || "none";
  const root = svg(
    "svg",
    { viewBox: "0 0 200 250", class: `scalp-map ${size}`, role: "img", "aria-label": `Scalp map seen from above, face at the top. Areas your clinic marked: ${labels}.` },
    svg("defs", {},
      svg("pattern", { id, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
        svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "hatch-line" }))),
    svg("path", { class: "ear", d: "M20 110 Q8 126 20 146 Z" }),
    svg("path", { class: "ear", d: "M180 110 Q192 126 180 146 Z" }),
    svg("path", { class: "nose", d: "M92 26 L100 12 L108 26 Z" }),
    svg("ellipse", { class: "head", cx: 100, cy: 128, rx: 80, ry: 102 })
  );
  for (const key of DRAW_ORDER) {
    const target = keys.has(key);
    const cls = ["area", target && "target", highlight === key && "current"].filter(Boolean).join(" ");
    root.append(svg("path", { class: cls, d: REGIONS[key], "data-area": key }));
    if (target) root.append(svg("path", { class: "hatch", d: REGIONS[key], fill: `url(#${id})` }));
  }
  root.append(
    svg("text", { x: 100, y: 8, class: "map-label", "text-anchor": "middle" }, "Front"),
    svg("text", { x: 100, y: 246, class: "map-label", "text-anchor": "middle" }, "Back"),
    svg("text", { x: 4, y: 100, class: "map-label" }, "L"),
    svg("text", { x: 196, y: 100, class: "map-label", "text-anchor": "end" }, "R")
  );
  return root;
}
