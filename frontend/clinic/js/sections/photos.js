// The patient page's photos section. The photo review (photos issue) renders here; until a
// patient has shared photos it says so.
import { html } from "../html.js";

export function PhotosSection({ patient }) {
  const consent = patient.photo_consent_at;
  return html`<section class="card" aria-labelledby="photos-heading">
    <h2 id="photos-heading">Photos</h2>
    <p>No photos yet.</p>
    <p class="hint">${consent ? `${patient.first_name} agreed to share progress photos with the clinic.` : `${patient.first_name} has not agreed to share photos with the clinic.`}</p>
  </section>`;
}
