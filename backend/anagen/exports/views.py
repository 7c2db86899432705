"""Downloads: the clinic's adherence CSV and a patient's FHIR Bundle (staff), and the patient's
own data as JSON or as the same FHIR Bundle. Every download is audited, and none is cached."""

from __future__ import annotations

import json

from flask import Response
from flask_smorest import Blueprint

from anagen.auth.policy import account, get_patient, record_action, requires
from anagen.clock import utcnow
from anagen.exports import fhir, personal
from anagen.exports.csv import adherence_csv
from anagen.extensions import db

bp = Blueprint("exports", __name__, url_prefix="/api", description="Exports of patient data")

FHIR_JSON = "application/fhir+json"


def _download(body: str, media_type: str, filename: str) -> Response:
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _doc(media_type: str, description: str) -> dict:
    schema = {"type": "object"} if media_type.endswith("json") else {"type": "string"}
    return {"responses": {"200": {"description": description, "content": {media_type: {"schema": schema}}}}}


@bp.get("/clinic/exports/adherence.csv")
@requires("staff")
@bp.doc(**_doc("text/csv", "UTF-8 with a byte order mark, CRLF, one row per application"))
def clinic_adherence_csv():
    """The clinic's adherence: one row per planned application of every course (for Excel)."""
    acct = account()
    now = utcnow()
    body = adherence_csv(acct.clinic_id, now)
    record_action(acct, "export_downloaded", "clinic", acct.clinic_id, export="adherence_csv")
    db.session.commit()
    return _download(body, "text/csv; charset=utf-8", f"adherence-{now:%Y-%m-%d}.csv")


@bp.get("/clinic/patients/<int:patient_id>/export.fhir.json")
@requires("staff")
@bp.doc(**_doc(FHIR_JSON, "An HL7 FHIR R4 Bundle of type collection"))
def clinic_patient_fhir(patient_id):
    """A patient's course as an HL7 FHIR R4 Bundle (Patient, CarePlan, Procedures, Observations)."""
    acct = account()
    patient = get_patient(acct, patient_id)
    bundle = fhir.patient_bundle(patient)
    record_action(acct, "export_downloaded", "patient", patient.id, export="fhir")
    db.session.commit()
    return _download(json.dumps(bundle, indent=1), FHIR_JSON, f"patient-{patient.id}-fhir.json")


@bp.get("/me/export.json")
@requires("patient")
@bp.doc(**_doc("application/json", "Everything held about the signed-in patient"))
def my_data():
    """Everything the service holds about you: details, course, check-ins, kits, devices, messages."""
    acct = account()
    patient = get_patient(acct, acct.id)
    data = personal.patient_data(patient)
    record_action(acct, "export_downloaded", "patient", patient.id, export="personal_json")
    db.session.commit()
    return _download(
        json.dumps(data, indent=1, ensure_ascii=False), "application/json", "my-anagen-data.json"
    )


@bp.get("/me/export.fhir.json")
@requires("patient")
@bp.doc(**_doc(FHIR_JSON, "An HL7 FHIR R4 Bundle of type collection"))
def my_fhir():
    """Your course as an HL7 FHIR R4 Bundle, to take to another clinic or health record."""
    acct = account()
    patient = get_patient(acct, acct.id)
    bundle = fhir.patient_bundle(patient)
    record_action(acct, "export_downloaded", "patient", patient.id, export="fhir")
    db.session.commit()
    return _download(json.dumps(bundle, indent=1), FHIR_JSON, "my-anagen-fhir.json")
