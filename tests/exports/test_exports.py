"""Exports: the clinic's adherence CSV (one row per application, UTF-8 with BOM, formula-safe), a
patient's FHIR R4 Bundle validated with fhir.resources' R4B models, and the patient's own data.
Every download is audited; another clinic's patient answers 404."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from support.factories import make_clinic, make_enrolled_patient, make_staff

from anagen.clock import utcnow
from anagen.course.courses import CheckIn, record_application
from anagen.exports import fhir
from anagen.exports.csv import COLUMNS, safe_cell
from anagen.extensions import db
from anagen.models import AuditEvent


@pytest.fixture
def world(app_ctx, make_api):
    clinic, _admin = make_clinic("Crown & Co")
    user = make_staff(clinic)
    start = (utcnow() - dt.timedelta(days=12)).replace(microsecond=0)
    patient, course = make_enrolled_patient(
        clinic, first_name='=HYPERLINK("x")', last_name="Zoë Ñúñez", first_application_at=start
    )
    record_application(course, 1, completed_at=course.first_application_at, recorded_by_staff_id=user.id)
    row = course.applications[1]
    record_application(
        course,
        2,
        completed_at=row.due_at,
        now=row.due_at,
        check_in=CheckIn(redness="mild", pain=8, notes="stings"),
    )
    db.session.commit()
    staff = make_api()
    staff.login(user.email, account="staff")
    return clinic, user, patient, course, staff


def audit_exports() -> list[tuple]:
    return [
        (e.actor_type, e.target_type, e.detail["export"])
        for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == "export_downloaded"))
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+44 20", "'+44 20"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
     ("plain", "plain"), (None, ""), (True, "yes"), (7, "7")],
)  # fmt: skip
def test_cells_a_spreadsheet_would_run_are_defused(value, expected):
    assert safe_cell(value) == expected


def test_adherence_csv_one_row_per_application(world):
    _clinic, user, patient, course, staff = world
    response = staff.get("/api/clinic/exports/adherence.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="adherence-')
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark, for Excel"
    assert b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    body = [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]
    assert len(body) == 24
    first, second, third = body[:3]
    assert first["first_name"] == '\'=HYPERLINK("x")' and first["last_name"] == "Zoë Ñúñez"
    assert (first["where"], first["recorded_by"], first["status"]) == ("clinic", user.name, "done_on_time")
    assert (second["recorded_by"], second["pain"], second["over_threshold"]) == ("patient", "8", "yes")
    assert second["completed_local"] == course.applications[1].completed_at.astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/London")
    ).strftime("%Y-%m-%d %H:%M")
    assert third["completed_local"] == "" and third["time_zone"] == "Europe/London"
    assert audit_exports() == [("staff", "clinic", "adherence_csv")]


def validate(bundle: dict) -> Bundle:
    parsed = Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"
    return parsed


def test_patient_fhir_bundle_validates_and_holds_the_course(world):
    _clinic, _user, patient, course, staff = world
    response = staff.get(f"/api/clinic/patients/{patient.id}/export.fhir.json")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="patient-{patient.id}-fhir.json"'
    bundle = json.loads(response.get_data())
    validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Patient") == 1 and kinds.count("CarePlan") == 1 and kinds.count("Organization") == 1
    assert kinds.count("Procedure") == 2 and kinds.count("Observation") == 1
    by_type = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    careplan = by_type["CarePlan"]
    assert careplan["status"] == "active" and len(careplan["activity"]) == 24
    statuses = [a["detail"]["status"] for a in careplan["activity"]]
    # Two done; the third, due days ago, missed (not started); the last one still scheduled.
    assert statuses[:3] == ["completed", "completed", "not-started"] and statuses[-1] == "scheduled"
    assert careplan["activity"][2]["detail"]["statusReason"] == {"text": "missed"}
    urls = {e["fullUrl"] for e in bundle["entry"]}
    refs = [a["outcomeReference"][0]["reference"] for a in careplan["activity"] if "outcomeReference" in a]
    assert len(refs) == 2 and set(refs) <= urls, "every reference resolves inside the bundle"
    observation = by_type["Observation"]
    pain = next(c for c in observation["component"] if "valueInteger" in c)
    assert pain["valueInteger"] == 8 and pain["code"]["coding"][0]["code"] == "72514-3"
    assert observation["partOf"][0]["reference"] in urls
    assert by_type["Patient"]["name"] == [{"family": "Zoë Ñúñez", "given": ['=HYPERLINK("x")']}]
    assert audit_exports() == [("staff", "patient", "fhir")]
    again = json.loads(staff.get(f"/api/clinic/patients/{patient.id}/export.fhir.json").get_data())
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in bundle["entry"]], "stable ids"


def test_paused_and_ended_courses_export_their_status(world):
    _clinic, _user, patient, course, staff = world
    staff.post(f"/api/clinic/patients/{patient.id}/course/pause", {"reason": "Holiday"})
    bundle = json.loads(staff.get(f"/api/clinic/patients/{patient.id}/export.fhir.json").get_data())
    validate(bundle)
    careplan = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan")
    assert careplan["status"] == "on-hold" and careplan["note"] == [{"text": "Holiday"}]
    assert careplan["activity"][2]["detail"]["status"] == "on-hold"


def test_other_packages_contribute_resources(world):
    _clinic, _user, patient, _course, _staff = world

    def media(builder, record):
        builder.add(
            "Media",
            "photo-1",
            {"status": "completed", "subject": builder.reference("Patient", record.patient.id),
             "content": {"contentType": "image/jpeg", "title": "Crown, baseline"}},
        )  # fmt: skip

    fhir.register(media)
    try:
        bundle = fhir.patient_bundle(patient)
    finally:
        fhir._CONTRIBUTORS.remove(media)
    validate(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]].count("Media") == 1


def test_a_patient_downloads_their_own_data(world, make_api):
    _clinic, _user, patient, _course, _staff = world
    phone = make_api()
    phone.login(patient.email)
    response = phone.get("/api/me/export.json")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data())
    assert data["patient"]["email"] == patient.email and data["clinic"]["name"] == "Crown & Co"
    applications = data["course"]["applications"]
    assert len(applications) == 24 and applications[1]["check_in"]["notes"] == "stings"
    assert applications[0]["recorded_by"]["kind"] == "staff"
    fhir_response = phone.get("/api/me/export.fhir.json")
    assert fhir_response.status_code == 200
    validate(json.loads(fhir_response.get_data()))
    assert audit_exports() == [("patient", "patient", "personal_json"), ("patient", "patient", "fhir")]


def test_exports_stay_inside_the_clinic(world, make_api):
    _clinic, _user, patient, _course, _staff = world
    _other, other_admin = make_clinic()
    outsider = make_api()
    outsider.login(other_admin.email, account="staff")
    assert outsider.get(f"/api/clinic/patients/{patient.id}/export.fhir.json").status_code == 404
    body = outsider.get("/api/clinic/exports/adherence.csv").get_data().decode("utf-8-sig")
    assert patient.email not in body and body.count("\r\n") == 1, "only the header: no patients of its own"
