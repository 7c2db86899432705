// Progress photos (#/photos, where the checkpoint reminder opens): each checkpoint with the
// views it asks for and which are done, the photos sent (with the clinic's comments), those
// waiting on this phone, a photo sent by mistake withdrawn, and extra photos between checkpoints.
import * as api from "/shared/api.js";
import * as outbox from "../outbox.js";
import { h, show, screen, alert, notice, button, busy, ask } from "/shared/dom.js";
import { day, when, plural } from "/shared/format.js";
import { go, lease } from "../router.js";
import { loadPhotos, waitingPhotos, clinicName, photosPath, viewsOf, capturable, guide } from "../photodata.js";

export async function render() {
  const live = lease();
  show(screen("Progress photos", h("p", { class: "loading", role: "status" }, "Loading your photos…")));
  let result;
  try {
    result = await loadPhotos();
  } catch (err) {
    if (!live()) return;
    if (err.status === 401) return go("/login", { replace: true });
    show(screen("Progress photos", alert(err.offline ? "You are offline and this phone has no copy of your photos yet. Connect to the internet, then try again." : err.message), button("Try again", () => render())));
    return;
  }
  const data = result.data;
  const waiting = await waitingPhotos();
  const clinic = await clinicName(data);
  if (!live()) return;
  const ctx = { data, waiting, clinic, fresh: result.fresh };
  const checkpoints = (data.checkpoints || []).filter((c) => !c.ad_hoc);
  const extra = (data.checkpoints || []).find((c) => c.ad_hoc);
  show(
    screen(
      "Progress photos",
      result.fresh ? null : alert("You are offline. These are your photos as they were when you were last online.", "warn"),
      h("p", { class: "lead" }, `Photos of the same views at set points show you and ${clinic} how your hair responds.`),
      data.consent_given === false ? consentCard(ctx) : null,
      checkpoints.map((cp) => checkpointCard(ctx, cp)),
      extra ? extraCard(ctx, extra) : null
    )
  );
}

function consentCard({ clinic }) {
  const box = h("input", { type: "checkbox", id: "photo-consent" });
  const out = h("div", { role: "status" });
  const form = h(
    "form",
    { class: "card consent" },
    h("h2", {}, "Sharing your photos"),
    h("p", {}, `You have not agreed to share your photos with ${clinic}, so the app cannot send them yet. Only ${clinic}'s staff can see them; they are never public, and location data is removed.`),
    h("div", { class: "check" }, box, h("label", { for: "photo-consent" }, `I agree to share my treatment photos with ${clinic}.`)),
    out,
    h("button", { type: "submit", class: "btn primary" }, "Save")
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.replaceChildren();
    if (!box.checked) return out.append(notice("Tick the box to agree, or leave it: you can decide later."));
    await busy(form.querySelector("button"), "Saving…", async () => {
      try {
        await api.post("/api/me/photos/consent", { consent: true });
        // Photos refused for want of this agreement are sent again now.
        for (const item of await outbox.pending()) {
          if (item.kind === "photo" && item.status === "failed" && item.error?.code === "photo_consent_required") await outbox.retry(item.key).catch(() => null);
        }
        render();
      } catch (err) {
        out.append(notice(err.message));
      }
    });
  });
  return form;
}

function dueLine(cp) {
  if (cp.in_clinic) return "Taken at the clinic.";
  if (!cp.due_at) return null;
  if (capturable(cp)) return Date.parse(cp.due_at) <= Date.now() ? `Due since ${day(cp.due_at)}.` : `Due on ${day(cp.due_at)}. You can take them now.`;
  return `Around ${day(cp.due_at)}. You can take them from two days before.`;
}

function checkpointCard(ctx, cp) {
  const views = cp.views || [];
  const isDone = (v) => v.done || ctx.waiting.has(`${cp.key}/${v.view}`);
  const done = views.filter(isDone).length;
  const open = capturable(cp);
  const heading = h("h2", { id: `cp-${cp.key}` }, cp.label);
  const card = (...children) => h("section", { class: `card checkpoint${open ? " open" : ""}`, "aria-labelledby": `cp-${cp.key}` }, heading, ...children);
  const untouched = views.every((v) => !(v.photos || []).length && !ctx.waiting.has(`${cp.key}/${v.view}`));
  if (!open && untouched) {
    // Still ahead (or a clinic visit with nothing yet): when, and which views.
    return card(
      h("p", { class: "hint" }, dueLine(cp)),
      h("p", {}, `Views: ${views.map((v) => guide(ctx.data, v.view).label).join(", ")}.`)
    );
  }
  const next = open ? views.find((v) => !isDone(v)) : null;
  return card(
    h("p", { class: "hint" }, dueLine(cp)),
    views.length ? h("p", { class: "progress-count" }, `${done} of ${plural(views.length, "view")} done`) : null,
    next ? h("a", { class: "btn primary", href: `#${photosPath(cp.key, next.view)}` }, done ? `Next: ${guide(ctx.data, next.view).label}` : `Start: ${guide(ctx.data, next.view).label}`) : null,
    h("ul", { class: "photo-views" }, views.map((v) => viewItem(ctx, cp, v, open)))
  );
}

function extraCard(ctx, cp) {
  const sent = (cp.views || []).filter((v) => (v.photos || []).length || ctx.waiting.has(`${cp.key}/${v.view}`));
  return h(
    "section",
    { class: "card checkpoint", "aria-labelledby": "cp-extra" },
    h("h2", { id: "cp-extra" }, cp.label),
    h("p", {}, `Something you would like ${ctx.clinic} to see between checkpoints? Send an extra photo of any view.`),
    h("ul", { class: "extra-links" }, viewsOf(ctx.data, cp).map((g) => h("li", {}, h("a", { href: `#${photosPath(cp.key, g.key)}` }, `Extra photo: ${g.label}`)))),
    sent.length ? h("ul", { class: "photo-views" }, sent.map((v) => viewItem(ctx, cp, v, false))) : null
  );
}

// One view of a checkpoint: its photos (newest first), what waits on this phone, the clinic's
// comments, and what the patient can do.
function viewItem(ctx, cp, v, open) {
  const g = guide(ctx.data, v.view);
  const photos = v.photos || [];
  const queued = ctx.waiting.get(`${cp.key}/${v.view}`) || [];
  const active = photos.filter((p) => p.status === "active");
  const lines = [];
  for (const item of queued) {
    lines.push(
      item.status === "failed"
        ? h("p", { class: "photo-state failed" }, "Not accepted. ", h("a", { href: "#/sync" }, "See why"))
        : h("p", { class: "photo-state waiting" }, "Saved on this phone, waiting to send.")
    );
  }
  if (!photos.length && !queued.length) lines.push(h("p", { class: "photo-state todo" }, "Not taken yet."));
  const items = photos.map((p) => photoRow(ctx, g, cp, p));
  const take = open
    ? h("a", { class: "btn secondary take", href: `#${photosPath(cp.key, v.view)}` }, active.length || queued.length ? `Take ${g.label} again` : `Take ${g.label}`)
    : null;
  return h(
    "li",
    { class: `photo-view${active.length || queued.length ? " done" : ""}` },
    h("h3", {}, h("span", { class: "tick", "aria-hidden": "true" }, active.length || queued.length ? "✓" : "○"), " ", g.label),
    lines,
    items.length ? h("ul", { class: "photo-list" }, items) : null,
    take
  );
}

function photoRow(ctx, g, cp, p) {
  if (p.status === "withdrawn") {
    return h("li", { class: "photo withdrawn" }, h("p", { class: "photo-state" }, `Withdrawn ${when(p.withdrawn_at)}. ${ctx.clinic} can see that a photo was withdrawn, not the photo.`));
  }
  const byClinic = p.uploaded_by === "clinic";
  const state = byClinic ? `Taken at the clinic ${day(p.uploaded_at)}` : `Sent ${when(p.uploaded_at)}`;
  const seen = p.reviewed_at ? ` · looked at by ${ctx.clinic} ${day(p.reviewed_at)}` : "";
  const out = h("div", { role: "status" });
  const row = h(
    "li",
    { class: "photo" },
    p.images ? h("img", { class: "thumb", src: p.images.thumb, alt: `${g.label}, ${cp.label}`, width: 96, height: 128, loading: "lazy" }) : null,
    h("div", { class: "photo-body" },
      h("p", { class: "photo-state" }, state + seen),
      (p.comments || []).length
        ? h("ul", { class: "comments", "aria-label": `Comments from ${ctx.clinic}` },
            p.comments.map((c) => h("li", {}, h("p", {}, c.text), h("p", { class: "hint" }, `${(c.author && c.author.name) || ctx.clinic}, ${when(c.created_at)}`))))
        : null,
      byClinic ? null : button("Withdraw this photo", (e) => withdraw(e.currentTarget, ctx, g, cp, p, out), { kind: "secondary danger small" }),
      out)
  );
  return row;
}

async function withdraw(btn, ctx, g, cp, p, out) {
  const yes = await ask({
    title: "Withdraw this photo?",
    text: `Sent by mistake? ${ctx.clinic} will no longer be able to see your ${g.label} photo (${cp.label}), only that you withdrew one. You can take it again afterwards.`,
    yes: "Withdraw",
    no: "Keep it",
  });
  if (!yes) return;
  await busy(btn, "Withdrawing…", async () => {
    try {
      await api.post(`/api/me/photos/${p.id}/withdraw`);
      render();
    } catch (err) {
      out.replaceChildren(notice(err.offline ? "You are offline. Connect to the internet to withdraw the photo." : err.message));
    }
  });
}
