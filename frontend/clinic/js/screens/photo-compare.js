// Compare two photos of the same view (/clinic/patients/<id>/photos/<view>?a=<id>&b=<id>): side by
// side or with a slider, aligned onto the baseline through each photo's stored homography when
// its registration is confident (or was set by hand), else as taken, with a two-landmark
// alignment for the clinician. Beside the photos: the registration's quality, review, comments to
// the patient, and the outcome measures with their change from baseline.
import { html, useState, useEffect } from "../html.js";
import { api, download } from "../api.js";
import { href, navigate } from "../router.js";
import { at, dayOf } from "../fmt.js";
import { useLoad, Loading, LoadError, Notice, TextArea, Submit, Badge, ErrorSummary } from "../ui.js";
import { photosOf, comparePath, viewLabel, allPhotos, photoName, aligned, registrationText, AlignedImage, useWidth, change } from "../photos.js";
import { OutcomeTable } from "../sections/outcomes.js";
import { LandmarkAligner } from "./photo-landmarks.js";

export function PhotoCompare({ params, query }) {
  const { id, view } = params;
  const photos = useLoad(() => api.get(photosOf(id)), [id]);
  const patient = useLoad(() => api.get(`/api/clinic/patients/${id}`), [id]);
  const title = (data) => `${data ? viewLabel(data, view) : "Photos"}: compare`;
  const failed = [photos, patient].find((r) => r.error && !r.data);
  if (failed) return html`<section class="screen"><h1>${title()}</h1><${LoadError} error=${failed.error} reload=${failed.reload} /></section>`;
  if (!photos.data || !patient.data) return html`<section class="screen"><h1>${title()}</h1><${Loading} what="Loading photos" /></section>`;
  return html`<${Compare} data=${photos.data} patient=${patient.data} view=${view} query=${query} reload=${photos.reload} title=${title(photos.data)} />`;
}

function Compare({ data, patient, view, query, reload, title }) {
  const zone = patient.time_zone;
  const every = allPhotos(data).filter((p) => p.view === view);
  const list = every.filter((p) => p.status === "active");
  const withdrawn = every.filter((p) => p.status === "withdrawn");
  const find = (pid) => list.find((p) => String(p.id) === String(pid));
  // "After" is the photo asked for (else the newest); "Before" the one asked for, else the
  // earliest other; shown in time order whichever way round they were chosen.
  const chosen = find(query.b) || list[list.length - 1] || null;
  const other = find(query.a) || list.find((p) => p !== chosen) || null;
  const [a, b] = other && chosen && list.indexOf(other) > list.indexOf(chosen) ? [chosen, other] : [other, chosen];
  const [mode, setMode] = useState("slider");
  const [alignOn, setAlignOn] = useState(true);
  const [landmarks, setLandmarks] = useState(null); // the photo being aligned by hand
  const choose = (which, pid) => navigate(comparePath(patient.id, view, { ...{ a: a?.id, b: b?.id }, [which]: pid }), { replace: true });

  // Both drawn in the baseline's frame when each is the baseline or is registered onto it.
  const refId = [a, b].map((p) => p && p.registration && p.registration.reference_id).find(Boolean) || null;
  const ref = refId ? list.find((p) => p.id === refId) : null;
  const inFrame = (p) => p && ref && (p.id === ref.id || (aligned(p) && p.registration.reference_id === ref.id));
  const canAlign = !!(a && b && ref && inFrame(a) && inFrame(b));
  const showAligned = canAlign && alignOn;

  const head = html`<p class="crumbs"><a href=${href(`/patients/${patient.id}`)}>${patient.first_name} ${patient.last_name}</a> › Photos</p>
    <h1>${title}</h1>`;
  if (!list.length) {
    return html`<section class="screen">${head}<p>No photos of this view yet.</p>${withdrawn.length ? html`<p class="hint">${withdrawn.length} withdrawn by the patient.</p>` : null}</section>`;
  }
  return html`<section class="screen compare-screen">
    ${head}
    <nav aria-label="Other views" class="subnav"><ul>
      ${data.views.map((v) => html`<li><a href=${href(comparePath(patient.id, v.key))} aria-current=${v.key === view ? "page" : undefined}>${v.label}</a></li>`)}
    </ul></nav>
    ${list.length < 2 && html`<${Notice} kind="info"><p>Only one photo of this view so far: nothing to compare it with yet.</p></${Notice}>`}
    <div class="compare-controls card">
      ${list.length > 1 &&
      html`<div class="row">
        <${PhotoSelect} id="cmp-a" label="Before" value=${a?.id} list=${list} zone=${zone} onValue=${(v) => choose("a", v)} />
        <${PhotoSelect} id="cmp-b" label="After" value=${b?.id} list=${list} zone=${zone} onValue=${(v) => choose("b", v)} />
      </div>
      <div class="row">
        <fieldset class="radios">
          <legend>Show</legend>
          <div class="choices inline">
            ${[["slider", "Slider"], ["side", "Side by side"]].map(
              ([k, l]) => html`<div class="check"><input type="radio" id=${`mode-${k}`} name="mode" checked=${mode === k} onChange=${() => setMode(k)} /><label for=${`mode-${k}`}>${l}</label></div>`
            )}
          </div>
        </fieldset>
        <div class="check">
          <input type="checkbox" id="cmp-aligned" checked=${showAligned} disabled=${!canAlign} onChange=${(e) => setAlignOn(e.currentTarget.checked)} aria-describedby="cmp-aligned-hint" />
          <label for="cmp-aligned">Aligned to the baseline</label>
          <p class="hint" id="cmp-aligned-hint">${canAlign ? "Both photos are drawn in the baseline photo's frame, so the same spot is in the same place." : "Not available: both photos need a confident or hand-set alignment onto the same baseline photo."}</p>
        </div>
      </div>`}
    </div>
    ${landmarks
      ? html`<${LandmarkAligner} photo=${landmarks} reference=${list.find((p) => p.id === landmarks.registration?.reference_id) || list[0]} onCancel=${() => setLandmarks(null)} onDone=${() => {
          setLandmarks(null);
          reload();
        }} />`
      : list.length > 1 && a && b
      ? mode === "slider"
        ? html`<${Slider} a=${a} b=${b} reference=${showAligned ? ref : null} zone=${zone} label=${viewLabel(data, view)} />`
        : html`<${SideBySide} a=${a} b=${b} reference=${showAligned ? ref : null} zone=${zone} label=${viewLabel(data, view)} />`
      : html`<${Single} p=${b} label=${viewLabel(data, view)} zone=${zone} />`}
    <div class="grid-2">
      ${(list.length > 1 ? [a, b] : [b]).map(
        (p, i) => html`<${PhotoPanel} key=${p.id} p=${p} heading=${list.length > 1 ? (i === 0 ? "Before" : "After") : "Photo"} isRef=${ref && p.id === ref.id} zone=${zone} patient=${patient} outcomes=${data.outcomes} reload=${reload} onAlign=${() => setLandmarks(p)} />`
      )}
    </div>
    ${withdrawn.length > 0 && html`<p class="hint">${withdrawn.map((p) => `A photo (${p.checkpoint_label}) was withdrawn by the patient ${dayOf(p.withdrawn_at, zone)}.`).join(" ")}</p>`}
    <section class="card" aria-labelledby="cmp-outcomes">
      <h2 id="cmp-outcomes">Outcome measures</h2>
      <${OutcomeTable} outcomes=${data.outcomes} checkpoints=${data.checkpoints || []} caption=${`Change from baseline, per target area`} />
      <p class="hint"><a href=${href(`/patients/${patient.id}`)}>Record measurements on the patient's page</a>.</p>
    </section>
  </section>`;
}

function PhotoSelect({ id, label, value, list, zone, onValue }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <select id=${id} value=${String(value)} onChange=${(e) => onValue(e.currentTarget.value)}>
      ${list.map((p) => html`<option value=${String(p.id)} selected=${String(p.id) === String(value)}>${photoName(p, zone)}</option>`)}
    </select>
  </div>`;
}

const alt = (label, p, zone) => `${label}, ${photoName(p, zone)}`;

// One frame: in the baseline's frame (aligned) or the photo as taken (contained).
function Frame({ p, reference, scale, label, zone, className = "" }) {
  if (reference) {
    const transform = p.id === reference.id ? null : p.registration.transform;
    return html`<${AlignedImage} photo=${p} transform=${transform} scale=${scale} alt=${alt(label, p, zone)} className=${className} />`;
  }
  return html`<img class=${"plain-img " + className} src=${p.images.display} alt=${alt(label, p, zone)} />`;
}

// A frame with the photo's proportions, never taller than most of the window (the width gives way).
const frameStyle = (p) => {
  const [w, h] = [p.display_width || 3, p.display_height || 4];
  return { aspectRatio: `${w} / ${h}`, maxWidth: `min(100%, calc(78vh * ${w} / ${h}))` };
};

function Slider({ a, b, reference: ref, zone, label }) {
  const [pos, setPos] = useState(50);
  const [box, width] = useWidth();
  const scale = ref ? width / ref.display_width : 1;
  return html`<figure class="compare-slider">
    <div class="compare-frame" ref=${box} style=${frameStyle(ref || a)}>
      <${Frame} p=${a} reference=${ref} scale=${scale} label=${label} zone=${zone} />
      <div class="slider-top" style=${{ clipPath: `inset(0 0 0 ${pos}%)` }}>
        <${Frame} p=${b} reference=${ref} scale=${scale} label=${label} zone=${zone} />
      </div>
      <div class="slider-line" style=${{ left: `${pos}%` }} aria-hidden="true"></div>
      <span class="frame-tag left" aria-hidden="true">Before</span>
      <span class="frame-tag right" aria-hidden="true">After</span>
    </div>
    <div class="slider-controls">
      <button type="button" class="btn small" onClick=${() => setPos(100)}>All before</button>
      <label class="visually-hidden" for="cmp-pos">Slider: how much of the before photo shows, from the left</label>
      <input id="cmp-pos" type="range" min="0" max="100" step="1" value=${pos} onInput=${(e) => setPos(Number(e.currentTarget.value))} aria-valuetext=${`${pos} % before, ${100 - pos} % after`} />
      <button type="button" class="btn small" onClick=${() => setPos(50)}>Half</button>
      <button type="button" class="btn small" onClick=${() => setPos(0)}>All after</button>
    </div>
    <figcaption class="hint">Before (left): ${photoName(a, zone)}. After (right): ${photoName(b, zone)}.${ref ? " Aligned to the baseline." : " As taken (not aligned)."} Drag the slider, use the arrow keys on it, or the buttons.</figcaption>
  </figure>`;
}

function SideBySide({ a, b, reference: ref, zone, label }) {
  return html`<div class="side-by-side">
    ${[a, b].map((p, i) => html`<${SideFigure} key=${p.id} p=${p} reference=${ref} zone=${zone} label=${label} heading=${i === 0 ? "Before" : "After"} />`)}
  </div>`;
}

// One column: its own frame, scaled to its own width.
function SideFigure({ p, reference: ref, zone, label, heading }) {
  const [box, width] = useWidth();
  const scale = ref ? width / ref.display_width : 1;
  return html`<figure>
    <div class="compare-frame" ref=${box} style=${frameStyle(ref || p)}>
      <${Frame} p=${p} reference=${ref} scale=${scale} label=${label} zone=${zone} />
    </div>
    <figcaption><strong>${heading}</strong>: ${photoName(p, zone)}${ref ? " (aligned to the baseline)" : ""}</figcaption>
  </figure>`;
}

function Single({ p, label, zone }) {
  return html`<figure class="single-photo">
    <div class="compare-frame" style=${frameStyle(p)}><${Frame} p=${p} reference=${null} label=${label} zone=${zone} /></div>
    <figcaption>${photoName(p, zone)}</figcaption>
  </figure>`;
}

// The outcome measures taken at this photo's checkpoint, with their change from baseline.
function Measures({ outcomes, checkpoint }) {
  const rows = ((outcomes && outcomes.areas) || []).flatMap((a) => a.measures.filter((m) => m.checkpoint === checkpoint).map((m) => ({ area: a.label, m })));
  if (!rows.length) return null;
  const base = checkpoint === "baseline";
  return html`<ul class="measures-here" aria-label="Outcome measures at this checkpoint">
    ${rows.map(
      ({ area, m }) => html`<li><strong>${area}</strong>: ${m.hair_count_per_cm2 ?? "—"} hairs/cm²${base ? "" : ` (${change(m.hair_count_change_pct)})`}, ${m.cumulative_thickness_mm_per_cm2 ?? "—"} mm/cm²${base ? "" : ` (${change(m.thickness_change_pct)})`}</li>`
    )}
  </ul>`;
}

function PhotoPanel({ p, heading, isRef, zone, patient, outcomes, reload, onAlign }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const [textError, setTextError] = useState(null);
  const [note, setNote] = useState(null);
  useEffect(() => {
    setNote(null);
    setError(null);
    setTextError(null);
  }, [p.id]);
  const reg = registrationText(p, isRef ? "reference" : "photo");
  const act = async (what, fn, message) => {
    setBusy(what);
    setError(null);
    setTextError(null);
    setNote(null);
    try {
      await fn();
      setNote(message);
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const review = () => act("review", () => api.post(`/api/clinic/photos/${p.id}/review`), "Marked reviewed.");
  const comment = (e) => {
    e.preventDefault();
    if (!text.trim()) return setTextError("Write the comment first.");
    act("comment", async () => {
      await api.post(`/api/clinic/photos/${p.id}/comments`, { text: text.trim() });
      setText("");
    }, `Comment sent to ${patient.first_name}.`);
  };
  const full = () => act("download", () => download(`/api/clinic/photos/${p.id}/image?size=master&download=1`, `photo-${p.id}.jpg`), "Downloaded the full-resolution photo.");
  const tid = `panel-${p.id}`;
  return html`<section class="card stack photo-panel" aria-labelledby=${tid}>
    <h2 id=${tid}>${heading}: ${p.checkpoint_label}</h2>
    <dl class="facts">
      <dt>Taken</dt><dd>${at(p.taken_at || p.uploaded_at, zone)}</dd>
      <dt>Sent by</dt><dd>${p.uploaded_by === "clinic" ? "The clinic" : patient.first_name}</dd>
      <dt>Size</dt><dd>${p.width} × ${p.height} px</dd>
      <dt>Review</dt><dd>${p.reviewed_at ? `Reviewed ${at(p.reviewed_at, zone)}${p.reviewed_by ? ` by ${p.reviewed_by.name}` : ""}` : html`<${Badge} kind="warn">Not reviewed</${Badge}>`}</dd>
    </dl>
    <${Measures} outcomes=${outcomes} checkpoint=${p.checkpoint} />
    <${Notice} kind=${reg.kind} title="Alignment"><p>${reg.text}</p></${Notice}>
    <div class="actions">
      ${!p.reviewed_at && html`<button type="button" class="btn primary" disabled=${!!busy} onClick=${review}>${busy === "review" ? "Working…" : "Mark reviewed"}</button>`}
      ${!isRef && p.registration && p.registration.status !== "not_needed" && p.registration.status !== "pending" &&
      html`<button type="button" class=${"btn" + (reg.manual ? " primary" : "")} onClick=${onAlign}>${reg.manual ? "Align by two landmarks" : "Re-align by two landmarks"}</button>`}
      <button type="button" class="btn" disabled=${!!busy} onClick=${full}>Download full resolution</button>
    </div>
    ${note && html`<${Notice} kind="ok" role="status"><p>${note}</p></${Notice}>`}
    <${ErrorSummary} error=${error} />
    <h3>Comments to ${patient.first_name}</h3>
    ${(p.comments || []).length
      ? html`<ul class="comment-list">${p.comments.map((c) => html`<li><p>${c.text}</p><p class="hint">${(c.author && c.author.name) || "Clinic"}, ${at(c.created_at, zone)}</p></li>`)}</ul>`
      : html`<p class="hint">No comments yet. ${patient.first_name} sees comments beside the photo in the app.</p>`}
    <form onSubmit=${comment} class="stack" novalidate>
      <${TextArea} id=${`comment-${p.id}`} label="New comment" hint=${`${patient.first_name} sees it in the app, beside this photo.`} value=${text} onValue=${setText} maxLength="2000" error=${textError || (error && error.fields ? error.fields.text : undefined)} />
      <div class="actions"><${Submit} busy=${busy === "comment"} className="">Send comment</${Submit}></div>
    </form>
  </section>`;
}
