// Aligning a photo onto its baseline by hand, when the automatic registration is not confident:
// the clinician marks the same two landmarks (a mole, the whorl, a hairline notch) on the
// baseline and on the photo; the server turns the two pairs into a similarity transform
// (POST /api/clinic/photos/<id>/alignment, display-image pixels). A click places a point; from the
// keyboard, arrow keys move a cross over the focused photo (Shift: ten times further) and Enter
// or Space places it, so no drag is needed.
import { html, useState, useRef, useEffect } from "../html.js";
import { api } from "../api.js";
import { ErrorSummary, Notice } from "../ui.js";
import { photoName } from "../photos.js";

const ORDER = [
  [0, "reference", "Landmark 1 on the baseline"],
  [0, "photo", "Landmark 1 on this photo"],
  [1, "reference", "Landmark 2 on the baseline"],
  [1, "photo", "Landmark 2 on this photo"],
];

export function LandmarkAligner({ photo, reference, onCancel, onDone }) {
  const [points, setPoints] = useState([{}, {}]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  // Opened from a button further down: the picker's heading takes the focus (and the view).
  const heading = useRef(null);
  useEffect(() => {
    heading.current.focus();
    heading.current.scrollIntoView({ block: "start" });
  }, []);
  const step = ORDER.findIndex(([i, side]) => !points[i][side]);
  const place = (side, xy) => {
    if (step < 0 || ORDER[step][1] !== side) return;
    const [i] = ORDER[step];
    setPoints((ps) => ps.map((p, k) => (k === i ? { ...p, [side]: xy } : p)));
  };
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.post(`/api/clinic/photos/${photo.id}/alignment`, { landmarks: points.map((p) => ({ photo: p.photo, reference: p.reference })) });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card stack landmarks" aria-labelledby="lm-h">
    <h2 id="lm-h" tabindex="-1" ref=${heading}>Align by two landmarks</h2>
    <p>Mark two features you can find on both photos, as far apart as you can (a mole, the whorl, a notch of the hairline): first on the baseline, then the same one on this photo.</p>
    <p class="callout" role="status">${step < 0 ? "Both landmarks placed. Save, or start again." : `Next: ${ORDER[step][2]}.`}</p>
    <div class="grid-2">
      <${Pick} side="reference" p=${reference} title="Baseline" points=${points} active=${step >= 0 && ORDER[step][1] === "reference"} onPlace=${place} />
      <${Pick} side="photo" p=${photo} title="This photo" points=${points} active=${step >= 0 && ORDER[step][1] === "photo"} onPlace=${place} />
    </div>
    <${ErrorSummary} error=${error} />
    <div class="actions">
      <button type="button" class="btn primary" disabled=${step >= 0 || busy} onClick=${save}>${busy ? "Saving…" : "Save alignment"}</button>
      <button type="button" class="btn" onClick=${() => setPoints([{}, {}])}>Start again</button>
      <button type="button" class="btn" onClick=${onCancel}>Cancel</button>
    </div>
    <${Notice} kind="info"><p>Keyboard: focus a photo, move the cross with the arrow keys (Shift for bigger steps), press Enter to place the landmark.</p></${Notice}>
  </section>`;
}

function Pick({ side, p, title, points, active, onPlace }) {
  const img = useRef(null);
  const [cross, setCross] = useState({ x: 50, y: 50 }); // percent
  const w = p.display_width;
  const hgt = p.display_height;
  const toPixels = (xPct, yPct) => [Math.round((xPct / 100) * w), Math.round((yPct / 100) * hgt)];
  const onClick = (e) => {
    const r = img.current.getBoundingClientRect();
    const x = ((e.clientX - r.left) / r.width) * 100;
    const y = ((e.clientY - r.top) / r.height) * 100;
    setCross({ x, y });
    onPlace(side, toPixels(x, y));
  };
  const onKey = (e) => {
    const stepPct = e.shiftKey ? 5 : 0.5;
    const moves = { ArrowLeft: [-stepPct, 0], ArrowRight: [stepPct, 0], ArrowUp: [0, -stepPct], ArrowDown: [0, stepPct] };
    if (moves[e.key]) {
      e.preventDefault();
      const [dx, dy] = moves[e.key];
      setCross((c) => ({ x: Math.min(100, Math.max(0, c.x + dx)), y: Math.min(100, Math.max(0, c.y + dy)) }));
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onPlace(side, toPixels(cross.x, cross.y));
    }
  };
  const marks = points.map((pt, i) => pt[side] && { i: i + 1, x: (pt[side][0] / w) * 100, y: (pt[side][1] / hgt) * 100 }).filter(Boolean);
  const placed = marks.map((m) => `landmark ${m.i} at ${Math.round(m.x)} % across, ${Math.round(m.y)} % down`).join("; ");
  return html`<figure class=${"pick" + (active ? " active" : "")}>
    <div class="pick-frame" tabindex="0" role="group" aria-roledescription="landmark picker"
      aria-label=${`${title}: ${photoName(p)}. ${active ? "Place the next landmark here." : "Waiting."} ${placed ? `Placed: ${placed}.` : "Nothing placed yet."} Cross at ${Math.round(cross.x)} % across, ${Math.round(cross.y)} % down.`}
      onClick=${onClick} onKeyDown=${onKey}>
      <img ref=${img} src=${p.images.display} alt="" draggable="false" />
      ${marks.map((m) => html`<span class="mark" style=${{ left: `${m.x}%`, top: `${m.y}%` }} aria-hidden="true">${m.i}</span>`)}
      <span class="cross" style=${{ left: `${cross.x}%`, top: `${cross.y}%` }} aria-hidden="true"></span>
    </div>
    <figcaption><strong>${title}</strong>: ${photoName(p)}${active ? " — place the next landmark here" : ""}</figcaption>
  </figure>`;
}
