// The invite for the patient's phone: the QR code large enough to scan across the chair (and
// full screen on request), its link, and a printable sheet (A4 or Letter: print CSS) with the
// QR code, the link, the first at-home date and the clinic's phone number.
import { html, useState, useRef } from "../html.js";
import { api } from "../api.js";
import { href } from "../router.js";
import { keepInvite, takeInvite } from "../invites.js";
import { useLoad, Loading, LoadError, Notice, ErrorSummary } from "../ui.js";
import { state } from "../store.js";
import { at, zoneName } from "../fmt.js";

function firstAtHome(patient) {
  const items = patient.plan?.applications || [];
  const next = items.find((a) => !a.in_clinic && !a.completed_at);
  return next ? next.due_at : null;
}

export function InviteScreen({ params }) {
  const id = params.id;
  const [invite, setInvite] = useState(() => takeInvite(id));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const panel = useRef(null);
  const patient = useLoad(() => api.get(`/api/clinic/patients/${id}`), [id]);
  const clinic = useLoad(() => api.get("/api/clinic/enrolment-options").catch(() => null), []);

  const issue = async () => {
    setBusy(true);
    setError(null);
    try {
      const fresh = await api.post(`/api/clinic/patients/${id}/invites`);
      keepInvite(id, { ...fresh, fresh: true });
      setInvite({ ...fresh, fresh: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  // The QR code is shown even if the patient's details do not load: it can't be fetched again.
  const p = patient.data || invite?.patient;
  if (!p && patient.error) return html`<section class="screen"><h1>Invite</h1><${LoadError} error=${patient.error} reload=${patient.reload} /></section>`;
  if (!p) return html`<section class="screen"><h1>Invite</h1><${Loading} /></section>`;
  const name = `${p.first_name} ${p.last_name}`;
  const firstDate = firstAtHome(p);
  const phone = clinic.data?.clinic?.phone;
  const clinicName = clinic.data?.clinic?.name || state.account?.clinic?.name;

  if (!invite) {
    return html`<section class="screen narrow-content">
      <p class="crumbs"><a href=${href(`/patients/${id}`)}>${name}</a></p>
      <h1>Invite for ${p.first_name}</h1>
      <p>An invite's QR code is shown only once, when it is made. A new one replaces the earlier invite, which stops working.</p>
      <${ErrorSummary} error=${error} />
      <button type="button" class="btn primary" onClick=${issue} disabled=${busy}>${busy ? "Working…" : "Make a new invite"}</button>
    </section>`;
  }

  const fullScreen = () => panel.current?.requestFullscreen?.().catch(() => {});
  return html`<section class="screen invite-screen has-sheet">
    <div class="no-print">
      <p class="crumbs"><a href=${href(`/patients/${id}`)}>${name}</a></p>
      <h1>${p.first_name}, scan this with your phone</h1>
      ${invite.recordError && html`<${Notice} kind="warn" title="Today's application was not recorded"><p>${invite.recordError} Record it from the patient's page.</p></${Notice}>`}
      ${invite.fresh && !invite.recordError && html`<${Notice} kind="ok" title="Enrolled" role="status"><p>${name} is enrolled. Their phone's camera opens the app from this code.</p></${Notice}>`}
    </div>
    <div class="qr-panel" ref=${panel}>
      <img src=${invite.qr_png} alt=${`QR code of ${p.first_name}'s invite link`} width="296" height="296" />
      <p class="scan">Open the camera and point it at the code</p>
      <p class="link-box" id="invite-link">${invite.link}</p>
    </div>
    <div class="no-print">
      <p>The link works until ${at(invite.expires_at, p.time_zone)} (${zoneName(p.time_zone)} time).${firstDate ? ` First application at home: ${at(firstDate, p.time_zone)}.` : ""}</p>
      <div class="actions">
        <button type="button" class="btn primary" onClick=${fullScreen}>Show full screen</button>
        <button type="button" class="btn secondary" onClick=${() => window.print()}>Print the sheet</button>
        <a class="btn secondary" href=${href(`/patients/${id}`)}>Done: open ${p.first_name}'s page</a>
      </div>
    </div>
    <div class="print-sheet" aria-hidden="true">
      <p><strong>${clinicName}</strong></p>
      <p class="sheet-title">Your Anagen app, ${p.first_name}</p>
      <p>Open your phone's camera and point it at this code, or type the link into your phone's browser.</p>
      <img class="qr-print" src=${invite.qr_png} alt="" />
      <dl class="facts">
        <dt>Link</dt><dd class="link-box">${invite.link}</dd>
        <dt>Use it before</dt><dd>${at(invite.expires_at, p.time_zone)}</dd>
        ${firstDate && html`<dt>First application at home</dt><dd>${at(firstDate, p.time_zone)}</dd>`}
        ${phone && html`<dt>Questions? Call the clinic</dt><dd>${phone}</dd>`}
      </dl>
      <p class="sheet-foot">This link is personal to ${name}: please don't share it. If it has expired, ask the clinic for a new one.</p>
    </div>
  </section>`;
}
