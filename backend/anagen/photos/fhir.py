"""The photos and the outcome measures as FHIR R4 resources in the patient's export Bundle
(exports/fhir.py): `contribute` is registered with the exports at import (photos/views.py imports
this module), so every patient Bundle carries them.

- Each active photo is a `Media` (type image, `view` the protocol's view label, `bodySite` the
  scalp): its content is a link to the full-resolution master behind the authorised endpoint, not
  the bytes (an export stays small, and a photo is fetched only by someone allowed to, audited).
  Withdrawn photos are left out: the patient took them back.
- Each measured value is an `Observation` (category exam, status final) with the trichoscopy value
  as a UCUM quantity — hair count per cm² (`/cm2`), cumulative hair thickness in mm/cm²
  (`mm/cm2`) — the target area as `bodySite`, and the change from the same area's baseline as a
  component in percent. No LOINC or SNOMED code names these measures, so the codes are the app's
  own code system (with a text every reader can show).

Plain dicts (JSON-ready); `media` and `observations` take the patient's reference, so the Bundle
decides the reference style (its `urn:uuid:` ids).
"""

from __future__ import annotations

from anagen.clock import iso
from anagen.exports import fhir as exports_fhir
from anagen.models import Course, Patient, Photo, PhotoStatus
from anagen.photos import outcomes
from anagen.photos.guides import guides
from anagen.photos.uploads import course_photos
from anagen.protocol import Protocol

CODE_SYSTEM = "https://anagen.app/fhir/CodeSystem/trichoscopy"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
SCALP = {"system": SNOMED, "code": "41695006", "display": "Scalp structure"}
EXAM = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "exam",
            "display": "Exam",
        }
    ]
}
MEDIA_IMAGE = {
    "coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/media-type", "code": "image", "display": "Image"}
    ]
}
MEASURES = (
    # (attribute, change attribute, code, display, UCUM unit)
    ("hair_count_per_cm2", "hair_count_change_pct", "hair-count-density", "Hair count per cm²", "/cm2"),
    (
        "cumulative_thickness_mm_per_cm2",
        "thickness_change_pct",
        "cumulative-hair-thickness",
        "Cumulative hair thickness (sum of hair diameters per cm²)",
        "mm/cm2",
    ),
)


def media(
    patient: Patient,
    patient_ref: str,
    base_url: str,
    course: Course | None = None,
    protocol: Protocol | None = None,
) -> list[dict]:
    """One Media per active photo of the patient's current course, oldest first (`course` and
    `protocol`: the current ones when the caller has them already)."""
    from anagen.course.courses import require_course
    from anagen.course.protocols import course_protocol

    course = course or require_course(patient.id)
    protocol = protocol or course_protocol(course)
    views = {g.key: g.label for g in guides(protocol)}
    checkpoints = {c.key: c.label for c in protocol.checkpoints}
    photos = [p for p in reversed(course_photos(course)) if p.status == PhotoStatus.ACTIVE]
    return [_media(p, patient_ref, base_url, views, checkpoints) for p in photos]


def _media(photo: Photo, patient_ref: str, base_url: str, views: dict, checkpoints: dict) -> dict:
    checkpoint = checkpoints.get(photo.checkpoint, "Extra photo")
    view = views.get(photo.view, photo.view)
    resource = {
        "resourceType": "Media",
        "id": f"photo-{photo.id}",
        "status": "completed",
        "type": MEDIA_IMAGE,
        "view": {"text": view},
        "subject": {"reference": patient_ref},
        "createdDateTime": iso(photo.taken_at or photo.uploaded_at),
        "issued": iso(photo.uploaded_at),
        "bodySite": {"coding": [SCALP], "text": view},
        "height": photo.height,
        "width": photo.width,
        "content": {
            "contentType": photo.media_type,
            "url": f"{base_url.rstrip('/')}/api/clinic/photos/{photo.id}/image?size=master",
            "title": f"{checkpoint}: {view}",
        },
        "note": [{"text": f"Progress photo, {checkpoint.lower()}; taken by the {_taker(photo)}."}],
    }
    if photo.byte_size is not None and photo.media_type == photo.source_media_type:
        resource["content"]["size"] = photo.byte_size
    return resource


def _taker(photo: Photo) -> str:
    return "clinic" if photo.uploaded_by_staff_id else "patient"


def observations(
    patient: Patient, patient_ref: str, course: Course | None = None, protocol: Protocol | None = None
) -> list[dict]:
    """One Observation per measured value of the course's outcome measures."""
    result = []
    for area in outcomes.outcomes(patient, course, protocol):
        for measure in area.measures:
            for attribute, change, code, display, unit in MEASURES:
                value = getattr(measure.row, attribute)
                if value is None:
                    continue
                observation = {
                    "resourceType": "Observation",
                    "id": f"outcome-{measure.row.id}-{code}",
                    "status": "final",
                    "category": [EXAM],
                    "code": {
                        "coding": [{"system": CODE_SYSTEM, "code": code, "display": display}],
                        "text": display,
                    },
                    "subject": {"reference": patient_ref},
                    "effectiveDateTime": iso(measure.row.measured_at),
                    "issued": iso(measure.row.updated_at),
                    "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
                    "bodySite": {"coding": [SCALP], "text": area.label},
                    "note": [{"text": f"{area.label}, {measure.checkpoint_label.lower()}."}],
                }
                pct = getattr(measure, change)
                if pct is not None:
                    observation["component"] = [
                        {
                            "code": {
                                "coding": [
                                    {
                                        "system": CODE_SYSTEM,
                                        "code": "change-from-baseline",
                                        "display": "Change from baseline",
                                    }
                                ],
                                "text": "Change from baseline",
                            },
                            "valueQuantity": {"value": pct, "unit": "%", "system": UCUM, "code": "%"},
                        }
                    ]
                result.append(observation)
    return result


def _key(resource: dict) -> str:
    return resource.pop("id")


def contribute(builder: exports_fhir.BundleBuilder, record: exports_fhir.PatientRecord) -> None:
    """Add the patient's photos (Media) and outcome measures (Observation) to their Bundle."""
    from flask import current_app

    subject = builder.reference("Patient", record.patient.id)
    base_url = current_app.config["PUBLIC_BASE_URL"]
    for resource in media(record.patient, subject["reference"], base_url, record.course, record.protocol):
        resource.pop("resourceType")
        builder.add("Media", _key(resource), resource)
    for resource in observations(record.patient, subject["reference"], record.course, record.protocol):
        resource.pop("resourceType")
        builder.add("Observation", _key(resource), resource)


exports_fhir.register(contribute)
