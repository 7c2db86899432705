// What enrolment offers (GET /api/clinic/enrolment-options): the clinic's card (phone for the
// invite sheet, default reminder time), indications, scalp areas and the protocols with the
// parameters one course may change. Fetched once per page load.
import { api } from "./api.js";

let cached = null;
export function loadOptions() {
  if (!cached) cached = api.get("/api/clinic/enrolment-options").catch((error) => ((cached = null), Promise.reject(error)));
  return cached;
}

export const labelIn = (list, key) => (list || []).find((o) => o.key === key)?.label || (key || "").replace(/_/g, " ");

// The server's words for the block (anagen/clinic/enrolment.py NOT_SUITABLE_MESSAGE), shown
// as soon as the box is ticked; the server refuses the enrolment with the same reason.
export const NOT_SUITABLE =
  "Not suitable: advanced traction alopecia. The follicles in these areas are damaged and cannot be revived by this treatment, so the patient cannot be enrolled.";

export function timeZones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return ["UTC", "Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin", "America/New_York", "Australia/Sydney"];
  }
}

// Protocol parameter names as a clinician reads them; an unknown key is shown as written.
export const PARAMETER_LABELS = {
  passes_per_area: "Stamp passes per area",
  massage_seconds: "Massage time (seconds)",
  min_gap_hours: "Minimum hours between applications",
  on_time_window_hours: "On-time window (hours after due)",
  follow_up_after_hours: "Follow-up reminder after (hours)",
  side_effect_pain_threshold: "Side-effect flag from pain score",
};
