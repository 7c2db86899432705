// What the photo screens read: GET /api/me/photos (checkpoints, views with their guides, the
// patient's photos with the clinic's comments), kept for offline use like Today; the photos
// still waiting in the outbox; and the "ghost" (the last photo of a view, kept on this phone
// so the camera can show it offline too).
import { load, keep, mine } from "./state.js";
import * as outbox from "./outbox.js";

export const loadPhotos = () => load("photos");

export const photosPath = (checkpoint, view) => (checkpoint ? `/photos/${encodeURIComponent(checkpoint)}/${encodeURIComponent(view)}` : "/photos");

export async function clinicName(data) {
  if (data.clinic && data.clinic.name) return data.clinic.name;
  const today = await mine("snap:today");
  return (today && today.clinic && today.clinic.name) || "your clinic";
}

export const guide = (data, view) => (data.views || []).find((g) => g.key === view) || { key: view, label: view, guidance: "" };

// The views a checkpoint asks for, as guides (an extra photo may be of any view).
export function viewsOf(data, cp) {
  if (cp.ad_hoc) return data.views || [];
  return (cp.views || []).map((v) => guide(data, v.view));
}

// Every photo, newest first, with its checkpoint.
export function allPhotos(data) {
  const list = [];
  for (const cp of data.checkpoints || []) for (const v of cp.views || []) for (const p of v.photos || []) list.push({ ...p, checkpoint: p.checkpoint || cp.key, view: p.view || v.view });
  return list.sort((a, b) => b.uploaded_at.localeCompare(a.uploaded_at));
}

// The patient takes a checkpoint's photos from a couple of days before it is due; the baseline is
// taken in the clinic; extra photos at any time.
const EARLY_MS = 2 * 24 * 3600 * 1000;
export function capturable(cp, now = Date.now()) {
  if (cp.in_clinic) return false;
  if (cp.ad_hoc || !cp.due_at) return true;
  return Date.parse(cp.due_at) - EARLY_MS <= now;
}

// The photo to line up against: the newest active photo of the same view from another
// checkpoint, else this checkpoint's own (a retake).
export function ghostFor(data, checkpoint, view) {
  const same = allPhotos(data).filter((p) => p.view === view && p.status === "active" && p.images);
  return same.find((p) => p.checkpoint !== checkpoint) || same[0] || null;
}

// An object URL of the ghost's display image: fetched (and kept for this account) when online,
// the kept copy when not. Null when there is neither.
export async function ghostImage(photo, view) {
  const key = `ghost:${view}`;
  try {
    const response = await fetch(photo.images.display, { credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    const blob = await response.blob();
    await keep(key, { id: photo.id, type: blob.type, data: await blob.arrayBuffer() }).catch(() => {});
    return URL.createObjectURL(blob);
  } catch {
    const kept = await mine(key);
    if (!kept || kept.id !== photo.id) return null;
    return URL.createObjectURL(new Blob([kept.data], { type: kept.type }));
  }
}

// The outbox's photos of this account, by "checkpoint/view".
export async function waitingPhotos() {
  const byView = new Map();
  for (const item of await outbox.pending()) {
    if (item.kind !== "photo") continue;
    const k = `${item.fields.checkpoint}/${item.fields.view}`;
    byView.set(k, [...(byView.get(k) || []), item]);
  }
  return byView;
}
