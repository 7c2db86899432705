// Photos awaiting review across the clinic (/clinic/photos), oldest first: each opens the
// comparison of its view with that photo as "After".
import { html } from "../html.js";
import { api } from "../api.js";
import { href } from "../router.js";
import { at, humanKey } from "../fmt.js";
import { useLoad, Loading, LoadError } from "../ui.js";
import { comparePath } from "../photos.js";

export function AwaitingReview() {
  const list = useLoad(() => api.get("/api/clinic/photos/awaiting-review"), []);
  const head = html`<h1>Photos awaiting review</h1>`;
  if (list.error && !list.data) return html`<section class="screen">${head}<${LoadError} error=${list.error} reload=${list.reload} /></section>`;
  if (!list.data) return html`<section class="screen">${head}<${Loading} what="Loading photos" /></section>`;
  const rows = list.data;
  return html`<section class="screen">
    ${head}
    <p class="lead">${rows.length ? `${rows.length} photo${rows.length === 1 ? "" : "s"} sent by patients and not yet reviewed, oldest first.` : "Nothing to review: every photo has been looked at."}</p>
    ${rows.length > 0 &&
    html`<div class="table-wrap">
      <table class="awaiting">
        <caption class="visually-hidden">Photos awaiting review</caption>
        <thead><tr><th scope="col">Photo</th><th scope="col">Patient</th><th scope="col">View</th><th scope="col">Checkpoint</th><th scope="col">Sent</th></tr></thead>
        <tbody>
          ${rows.map(({ photo: p, patient }) => {
            const link = href(comparePath(patient.id, p.view, { b: p.id }));
            const name = `${patient.first_name} ${patient.last_name}`;
            const viewName = p.view_label || humanKey(p.view);
            return html`<tr>
              <td><a href=${link} class="photo-thumb"><img src=${p.images.thumb} alt=${`Review ${name}'s photo: ${viewName}`} width="72" height="96" loading="lazy" /></a></td>
              <td><a href=${href(`/patients/${patient.id}`)}>${name}</a></td>
              <td><a href=${link}>${viewName}</a></td>
              <td>${p.checkpoint_label || humanKey(p.checkpoint)}</td>
              <td>${at(p.uploaded_at)}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`}
  </section>`;
}
