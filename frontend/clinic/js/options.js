// What the enrolment form offers. The keys and names are the server's
// (anagen/clinic/enrolment.py INDICATIONS; the scalp areas in shared/scalp.js); the server
// checks every value again.
export const INDICATIONS = [
  ["androgenetic_alopecia", "Androgenetic alopecia (male or female pattern hair loss)"],
  ["telogen_effluvium", "Telogen effluvium (shedding, including after Covid-19)"],
  ["post_transplant", "After hair-restoration surgery, to prevent shock loss"],
  ["other", "Other (see notes)"],
];

export const indicationLabel = (key) => (INDICATIONS.find(([k]) => k === key) || [key, key])[1];

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
