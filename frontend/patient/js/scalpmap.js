// The scalp map: a head seen from above, nose at the top, drawn as inline SVG. The clinic's
// target areas are filled and hatched (not colour alone) and listed in the label.
import { svg } from "/shared/dom.js";

const REGIONS = {
  frontal_hairline: "M52 78 Q100 34 148 78 L138 92 Q100 58 62 92 Z",
  left_temple: "M30 112 Q36 88 52 78 L62 92 Q50 104 46 122 Z",
  right_temple: "M170 112 Q164 88 148 78 L138 92 Q150 104 154 122 Z",
  mid_scalp: "M62 96 Q100 66 138 96 Q146 120 140 146 L60 146 Q54 120 62 96 Z",
  parting_line: "M94 70 L106 70 L106 150 L94 150 Z",
  crown: "M64 150 L136 150 Q140 182 100 196 Q60 182 64 150 Z",
  occipital: "M40 176 Q46 196 62 208 Q100 232 138 208 Q154 196 160 176 Q150 196 136 200 Q100 222 64 200 Q50 196 40 176 Z",
};

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
  const ordered = Object.keys(REGIONS).filter((k) => k !== "parting_line").concat("parting_line");
  for (const key of ordered) {
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
