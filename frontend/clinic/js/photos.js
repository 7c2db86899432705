// What the clinic's photo screens share: the patient's photos by checkpoint and view (GET
// /api/clinic/patients/<id>/photos), how a photo's registration onto the baseline reads, the
// aligned frame (a photo drawn in its reference's display frame through its stored homography),
// outcome measures with their change from baseline, and uploads with progress.
import { html, useState, useEffect, useRef } from "./html.js";
import * as shared from "/shared/api.js";
import { touched } from "./api.js";
import { dayOf } from "./fmt.js";

export const photosOf = (patientId) => `/api/clinic/patients/${patientId}/photos`;
export const comparePath = (patientId, view, query = {}) => {
  const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v != null && v !== "")).toString();
  return `/patients/${patientId}/photos/${encodeURIComponent(view)}${qs ? `?${qs}` : ""}`;
};

export const viewLabel = (data, key) => ((data.views || []).find((v) => v.key === key) || { label: key }).label;

// Every photo with its checkpoint (and the checkpoint's label), oldest first.
export function allPhotos(data) {
  const list = [];
  for (const cp of data.checkpoints || [])
    for (const v of cp.views || [])
      for (const p of v.photos || []) list.push({ ...p, checkpoint: p.checkpoint || cp.key, view: p.view || v.view, checkpoint_label: cp.label });
  return list.sort((a, b) => a.uploaded_at.localeCompare(b.uploaded_at) || a.id - b.id);
}

export const photoName = (p, zone) => `${p.checkpoint_label} · ${dayOf(p.taken_at || p.uploaded_at, zone)}`;

// A registration the slider can rely on: confident automatic, or the clinician's landmarks.
export const aligned = (p) => !!p.registration && ["registered", "manual"].includes(p.registration.status) && Array.isArray(p.registration.transform);
const percent = (ratio) => `${Math.round(ratio * 100)} %`;

// The registration in words, and whether the clinician should align it by hand.
export function registrationText(p, name) {
  const r = p.registration || { status: "not_needed" };
  switch (r.status) {
    case "registered":
      return { text: `Aligned to the baseline automatically: quality ${percent(r.inlier_ratio)} (inlier ratio, ${r.inliers ?? "?"} matching points).`, kind: "ok" };
    case "manual":
      return { text: `Aligned to the baseline by hand from two landmarks${r.registered_at ? `, ${dayOf(r.registered_at)}` : ""}.`, kind: "ok" };
    case "low_confidence":
      return { text: `Automatic alignment is not confident: quality ${percent(r.inlier_ratio)} (inlier ratio${r.inliers != null ? `, ${r.inliers} matching points` : ""}). Align it by two landmarks.`, kind: "warn", manual: true };
    case "failed":
      return { text: "This photo could not be aligned automatically. Align it by two landmarks.", kind: "warn", manual: true };
    case "pending":
      return { text: "Alignment to the baseline is running; reload in a minute.", kind: "info" };
    default:
      return { text: name === "reference" ? "Baseline photo: later photos of this view are aligned onto it." : "Not aligned (no baseline photo of this view to align onto).", kind: "info" };
  }
}

// CSS matrix3d of a 3×3 homography (row-major), so the browser draws the photo in the reference's frame.
export function matrix3d(m) {
  const [a, b, c, d, e, f, g, h, i] = m.flat ? m.flat() : m;
  return `matrix3d(${[a, d, 0, g, b, e, 0, h, 0, 0, 1, 0, c, f, 0, i].join(",")})`;
}

// The width of an element as it is laid out, kept current.
export function useWidth() {
  const ref = useRef(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    setWidth(el.clientWidth);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

// One photo in its reference's display frame (rw × rh px, scaled to `scale`): the display image at
// its own pixel size, mapped by the stored homography (identity for the reference itself).
export function AlignedImage({ photo, transform, scale, alt, className = "" }) {
  const style = {
    width: `${photo.display_width}px`,
    height: `${photo.display_height}px`,
    transform: `scale(${scale}) ${transform ? matrix3d(transform) : ""}`,
  };
  return html`<img class=${"aligned-img " + className} src=${photo.images.display} alt=${alt} style=${style} />`;
}

// Percent change from the area's baseline, signed, or "—".
export const change = (pct) => (pct == null ? "—" : `${pct > 0 ? "+" : pct < 0 ? "−" : "±"}${Math.abs(pct).toFixed(1)} %`);

// A file sent with progress (multipart/form-data); the staff session's idle clock restarts.
export async function uploadPhoto(patientId, file, fields, onProgress) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", file, file.name || "photo.jpg");
  const result = await shared.upload(photosOf(patientId), form, {}, { onProgress });
  touched();
  return result;
}
