// The outline laid over the camera for a photo view: where the head should sit in the frame, so
// every checkpoint's photo of a view is taken from about the same distance and angle. The shape
// is the server's (photos/guides.py: SVG path data in a 300 × 400 portrait viewBox, the stage's
// own 3:4), drawn twice, a dark line under a light one, so it shows on dark hair and on a bright
// wall alike, with a small cross at the centre of the frame.
import { svg } from "/shared/dom.js";

const CENTRE = "M150 192 L150 208 M142 200 L158 200";

export function outline(guide) {
  const paths = [guide.outline_path, CENTRE].filter(Boolean);
  return svg(
    "svg",
    { viewBox: "0 0 300 400", class: "outline", "aria-hidden": "true", focusable: "false", preserveAspectRatio: "xMidYMid slice" },
    paths.map((d) => svg("path", { d, class: "outline-under" })),
    paths.map((d) => svg("path", { d, class: "outline-over" }))
  );
}
