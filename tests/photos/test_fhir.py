"""Photos and outcome measures as FHIR R4 resources (Media, Observation) for the clinic's export."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from support.factories import make_clinic, make_enrolled_patient
from support.photo_rows import uploaded

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.photos import fhir, outcomes, uploads
from anagen.photos.storage import photo_storage


@pytest.fixture
def patient(app_ctx):
    clinic, admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    return patient, admin


def test_each_active_photo_is_a_media_linking_to_its_master(patient):
    patient, _ = patient
    kept = uploaded(patient, 1, "crown", "end_of_kit_1")
    withdrawn = uploaded(patient, 2, "parting", "end_of_kit_1")
    uploads.withdraw(withdrawn, photo_storage())
    resources = fhir.media(patient, f"Patient/{patient.id}", "https://clinic.example/")
    assert [r["id"] for r in resources] == [f"photo-{kept.id}"]
    media = resources[0]
    assert media["resourceType"] == "Media" and media["status"] == "completed"
    assert media["type"]["coding"][0]["code"] == "image"
    assert media["view"] == {"text": "Crown from above"}
    assert media["subject"] == {"reference": f"Patient/{patient.id}"}
    assert media["content"]["url"] == f"https://clinic.example/api/clinic/photos/{kept.id}/image?size=master"
    assert (
        media["content"]["contentType"] == "image/jpeg"
        and media["content"]["title"] == "End of kit 1: Crown from above"
    )
    assert (media["width"], media["height"]) == (kept.width, kept.height)
    assert media["createdDateTime"].endswith("Z")
    json.dumps(resources)


def test_each_measured_value_is_an_observation_with_its_change_from_baseline(patient):
    patient, admin = patient
    when = utcnow() - dt.timedelta(days=1)
    outcomes.put_measure(
        patient, "baseline", "crown", measured_at=when, hair_count_per_cm2=150.0,
        cumulative_thickness_mm_per_cm2=5.0, staff=admin,
    )  # fmt: skip
    outcomes.put_measure(
        patient, "end_of_course", "crown", measured_at=when, hair_count_per_cm2=171.0,
        cumulative_thickness_mm_per_cm2=None, staff=admin,
    )  # fmt: skip
    db.session.commit()
    resources = fhir.observations(patient, f"Patient/{patient.id}")
    codes = [(r["code"]["coding"][0]["code"], r["valueQuantity"]["value"]) for r in resources]
    assert codes == [
        ("hair-count-density", 150.0),
        ("cumulative-hair-thickness", 5.0),
        ("hair-count-density", 171.0),
    ]
    baseline, _, later = resources
    assert baseline["status"] == "final" and baseline["category"][0]["coding"][0]["code"] == "exam"
    assert baseline["valueQuantity"] == {
        "value": 150.0,
        "unit": "/cm2",
        "system": "http://unitsofmeasure.org",
        "code": "/cm2",
    }
    assert baseline["bodySite"]["text"] == "Crown" and "component" not in baseline
    change = later["component"][0]
    assert change["code"]["coding"][0]["code"] == "change-from-baseline"
    assert change["valueQuantity"] == {
        "value": 14.0,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }
    assert len({r["id"] for r in resources}) == 3
    json.dumps(resources)


def test_the_patients_fhir_export_carries_them_and_validates_as_r4(patient):
    from fhir.resources.R4B.bundle import Bundle

    from anagen.exports import fhir as exports_fhir

    patient, admin = patient
    photo = uploaded(patient, 1, "crown", "end_of_kit_1")
    outcomes.put_measure(
        patient, "baseline", "crown", measured_at=utcnow() - dt.timedelta(days=1), hair_count_per_cm2=150.0,
        cumulative_thickness_mm_per_cm2=5.0, staff=admin,
    )  # fmt: skip
    db.session.commit()
    bundle = exports_fhir.patient_bundle(patient)
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    media = [r for r in resources if r["resourceType"] == "Media"]
    measures = [
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and r.get("category", [{}])[0].get("coding", [{}])[0].get("code") == "exam"
    ]
    patient_entry = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    assert len(media) == 1 and media[0]["subject"]["reference"] == patient_entry["fullUrl"]
    assert media[0]["content"]["url"].endswith(f"/api/clinic/photos/{photo.id}/image?size=master")
    assert sorted(r["code"]["coding"][0]["code"] for r in measures) == [
        "cumulative-hair-thickness",
        "hair-count-density",
    ]
