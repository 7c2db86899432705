// The scalp map's geometry, shared by the patient app (js/scalpmap.js) and the clinic's
// enrolment (clinic/js/scalpmap.js): a head seen from above, nose at the top, in a 200×250 box.
// The area keys and names are the server's (anagen/course/today.py SCALP_AREAS).
export const AREAS = [
  ["frontal_hairline", "Frontal hairline"],
  ["left_temple", "Left temple"],
  ["right_temple", "Right temple"],
  ["mid_scalp", "Mid-scalp"],
  ["crown", "Crown"],
  ["parting_line", "Parting line"],
  ["occipital", "Back of the head"],
];

export const REGIONS = {
  frontal_hairline: "M52 78 Q100 34 148 78 L138 92 Q100 58 62 92 Z",
  left_temple: "M30 112 Q36 88 52 78 L62 92 Q50 104 46 122 Z",
  right_temple: "M170 112 Q164 88 148 78 L138 92 Q150 104 154 122 Z",
  mid_scalp: "M62 96 Q100 66 138 96 Q146 120 140 146 L60 146 Q54 120 62 96 Z",
  parting_line: "M94 70 L106 70 L106 150 L94 150 Z",
  crown: "M64 150 L136 150 Q140 182 100 196 Q60 182 64 150 Z",
  occipital: "M40 176 Q46 196 62 208 Q100 232 138 208 Q154 196 160 176 Q150 196 136 200 Q100 222 64 200 Q50 196 40 176 Z",
};

// Drawn last so the narrow parting line stays on top of the mid-scalp and can be picked.
export const DRAW_ORDER = Object.keys(REGIONS).filter((k) => k !== "parting_line").concat("parting_line");
