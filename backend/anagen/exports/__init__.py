"""Exports of patient data: the clinic's adherence CSV, a patient's HL7 FHIR R4 Bundle, and the
patient's own data as JSON. Other packages add to the Bundle and the JSON through the registries
of `fhir` and `personal` (photos adds its Media and outcome Observations), never the reverse."""
