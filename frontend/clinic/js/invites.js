// A new invite's QR code is shown once, to the patient at the chair: it holds the only copy of
// the link's token, so it stays in this tab's memory (never stored) until the page is left.
const issued = new Map();

export const keepInvite = (patientId, invite) => issued.set(String(patientId), invite);
export const takeInvite = (patientId) => issued.get(String(patientId)) || null;
export const forgetInvite = (patientId) => issued.delete(String(patientId));
