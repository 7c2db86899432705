// The patient page's photos: a grid of checkpoint × view (each photo opens the comparison of its
// view), photos awaiting review and withdrawn ones marked in words, the baseline taken at the
// clinic added from here, and the outcome measures with their change from baseline.
import { html, useState } from "../html.js";
import { api } from "../api.js";
import { href } from "../router.js";
import { dayOf } from "../fmt.js";
import { useLoad, Loading, LoadError, Notice, Badge, Checkbox } from "../ui.js";
import { photosOf, comparePath, viewLabel, uploadPhoto } from "../photos.js";
import { Outcomes } from "./outcomes.js";

export function PhotosSection({ patient }) {
  const photos = useLoad(() => api.get(photosOf(patient.id)), [patient.id]);
  // Before the patient has agreed in the app, the clinic may take the baseline once the patient
  // agreed at the visit: said here, sent with each upload, recorded and audited by the server.
  const [agreedInClinic, setAgreedInClinic] = useState(false);
  const zone = patient.time_zone;
  const body = () => {
    if (photos.error && !photos.data) return html`<${LoadError} error=${photos.error} reload=${photos.reload} />`;
    if (!photos.data) return html`<${Loading} what="Loading photos" />`;
    const data = photos.data;
    const views = data.views || [];
    const checkpoints = (data.checkpoints || []).filter((cp) => !cp.ad_hoc || cp.views.some((v) => v.photos.length));
    const awaiting = checkpoints.flatMap((cp) => cp.views.flatMap((v) => v.photos)).filter((p) => p.status === "active" && !p.reviewed_at).length;
    return html`
      ${!patient.photo_consent_at &&
      html`<${Notice} kind="warn" title="No consent to share photos">
        <p>${patient.first_name} has not agreed in the app to share photos with the clinic, so the app does not send any.</p>
        <${Checkbox} id="consent-in-clinic" label=${`${patient.first_name} agreed here in the clinic to the photos the clinic takes`} checked=${agreedInClinic} onValue=${setAgreedInClinic} hint="Needed to add a photo below; recorded with the photo." />
      </${Notice}>`}
      <p>${awaiting ? html`<${Badge} kind="warn">${awaiting} to review</${Badge}> ` : null}Select a photo to compare it with another of the same view, comment on it and mark it reviewed.</p>
      <div class="table-wrap">
        <table class="photo-grid">
          <caption class="visually-hidden">Photos of ${patient.first_name} by checkpoint and view</caption>
          <thead>
            <tr>
              <th scope="col">Checkpoint</th>
              ${views.map((v) => html`<th scope="col"><a href=${href(comparePath(patient.id, v.key))}>${v.label}</a></th>`)}
            </tr>
          </thead>
          <tbody>
            ${checkpoints.map(
              (cp) => html`<tr>
                <th scope="row">${cp.label}${cp.due_at && html`<span class="hint">${cp.in_clinic ? "at the clinic" : `due ${dayOf(cp.due_at, zone)}`}</span>`}</th>
                ${views.map((g) => {
                  const cell = cp.views.find((v) => v.view === g.key);
                  return html`<td><${Cell} patient=${patient} data=${data} cp=${cp} view=${g.key} photos=${cell ? cell.photos : []} offered=${!!cell} zone=${zone} agreed=${agreedInClinic} reload=${photos.reload} /></td>`;
                })}
              </tr>`
            )}
          </tbody>
        </table>
      </div>
      <${Outcomes} patient=${patient} outcomes=${data.outcomes} checkpoints=${data.checkpoints || []} reload=${photos.reload} />`;
  };
  return html`<section class="card stack photos-section" aria-labelledby="photos-heading">
    <h2 id="photos-heading">Photos</h2>
    ${body()}
  </section>`;
}

function Cell({ patient, data, cp, view, photos, offered, zone, agreed, reload }) {
  const shown = photos.filter((p) => p.status === "active");
  const withdrawn = photos.filter((p) => p.status === "withdrawn");
  const label = viewLabel(data, view);
  return html`<div class="photo-cell">
    ${shown.map(
      (p) => html`<a class="photo-thumb" href=${href(comparePath(patient.id, view, { b: p.id }))}>
        <img src=${p.images.thumb} alt=${`${label}, ${cp.label}, ${dayOf(p.taken_at || p.uploaded_at, zone)}`} width="72" height="96" loading="lazy" />
        ${p.reviewed_at ? html`<span class="hint">Reviewed</span>` : html`<${Badge} kind="warn">To review</${Badge}>`}
      </a>`
    )}
    ${withdrawn.map((p) => html`<p class="hint withdrawn">Withdrawn by the patient ${dayOf(p.withdrawn_at, zone)}</p>`)}
    ${!photos.length && html`<span class="hint">${offered ? "None yet" : "Not asked"}</span>`}
    ${cp.in_clinic && offered && html`<${AddPhoto} patient=${patient} cp=${cp} view=${view} label=${label} another=${shown.length > 0} agreed=${agreed} reload=${reload} />`}
  </div>`;
}

// The baseline is taken at the clinic: a file from the clinic's camera, sent with progress.
function AddPhoto({ patient, cp, view, label, another, agreed, reload }) {
  const [state, setState] = useState({ progress: null, error: null });
  const id = `add-${cp.key}-${view}`;
  const onChange = async (e) => {
    const file = e.currentTarget.files && e.currentTarget.files[0];
    e.currentTarget.value = "";
    if (!file) return;
    setState({ progress: 0, error: null });
    try {
      const fields = { checkpoint: cp.key, view, ...(agreed && !patient.photo_consent_at ? { consent_in_clinic: "true" } : {}) };
      await uploadPhoto(patient.id, file, fields, (f) => setState({ progress: f, error: null }));
      setState({ progress: null, error: null });
      reload();
    } catch (error) {
      setState({ progress: null, error });
    }
  };
  return html`<div class="add-photo">
    <input type="file" id=${id} accept="image/*" class="visually-hidden" onChange=${onChange} disabled=${state.progress != null} />
    <label for=${id} class="btn small">${another ? "Add another" : "Add photo"}<span class="visually-hidden">: ${label}, ${cp.label}</span></label>
    ${state.progress != null &&
    html`<div class="upload-progress" role="status">
      <progress max="100" value=${Math.round(state.progress * 100)} aria-label=${`Uploading ${label}`}></progress>
      <span>${Math.round(state.progress * 100)} %</span>
    </div>`}
    ${state.error && html`<p class="field-error" role="alert">${state.error.message}</p>`}
  </div>`;
}
