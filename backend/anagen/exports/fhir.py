"""A patient's course as an HL7 FHIR R4 Bundle (type `collection`).

Resources: Organization (the clinic), Patient, CarePlan (the schedule: one activity per planned
application, its status and scheduled time, pointing to the Procedure once done), Procedure per
application done, Observation per check-in (redness, irritation, pain 0-10 as LOINC 72514-3,
notes). Ids are UUIDs derived from the records (the same record gives the same id in every
export); references are `urn:uuid:` full URLs, as a collection Bundle allows.

Other packages contribute resources: `register(contributor)` with a function
`contributor(builder: BundleBuilder, record: PatientRecord)` that calls `builder.add(...)` and may
refer to `builder.reference("Patient", patient.id)`, `builder.reference("Procedure", number)` etc.
The JSON is written here by hand (plain dicts): the shapes are few and fixed, and the tests
validate every Bundle against fhir.resources' R4B models.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from anagen.clinic.patient_page import timeline
from anagen.clock import iso, utcnow
from anagen.course.courses import PlanItem, plan_items, require_course
from anagen.course.protocols import course_protocol
from anagen.course.today import SCALP_AREAS
from anagen.models import Clinic, Course, Patient
from anagen.protocol import Protocol

NAMESPACE = uuid.UUID("6f1c6d2e-4b7a-5e55-9a61-0a9a6e6f3c21")
IDENTIFIER_SYSTEM = "urn:anagen"
CAREPLAN_STATUS = {"active": "active", "paused": "on-hold", "completed": "completed", "ended": "revoked"}
PAIN_LOINC = {
    "system": "http://loinc.org",
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}
SURVEY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "survey",
            "display": "Survey",
        }
    ]
}
STATUS_TEXT = {
    "done_on_time": "done on time",
    "done_late": "done late",
    "done_moved": "done on an earlier day",
    "missed": "missed",
    "due": "due",
    "upcoming": "upcoming",
}


@dataclass(frozen=True)
class PatientRecord:
    """What a contributor may read: the patient, their clinic and current course, as of `now`."""

    patient: Patient
    clinic: Clinic
    course: Course
    protocol: Protocol
    items: list[PlanItem]
    now: dt.datetime


class BundleBuilder:
    def __init__(self, now: dt.datetime):
        self.now = now
        self.entries: list[dict] = []
        self._ids: set[str] = set()

    @staticmethod
    def resource_id(resource_type: str, key: object) -> str:
        """The stable id of the resource of this type made from the record `key`."""
        return str(uuid.uuid5(NAMESPACE, f"{resource_type}/{key}"))

    def reference(self, resource_type: str, key: object, display: str | None = None) -> dict:
        ref = {"reference": f"urn:uuid:{self.resource_id(resource_type, key)}"}
        if display:
            ref["display"] = display
        return ref

    def add(self, resource_type: str, key: object, resource: dict) -> dict:
        """Add a resource (its `resourceType` and `id` are set here); returns a reference to it."""
        rid = self.resource_id(resource_type, key)
        if rid in self._ids:
            raise ValueError(f"{resource_type} {key} is already in the bundle")
        self._ids.add(rid)
        self.entries.append(
            {"fullUrl": f"urn:uuid:{rid}", "resource": {"resourceType": resource_type, "id": rid, **resource}}
        )
        return self.reference(resource_type, key)

    def bundle(self, key: object) -> dict:
        return {
            "resourceType": "Bundle",
            "id": str(uuid.uuid5(NAMESPACE, f"Bundle/{key}/{iso(self.now)}")),
            "type": "collection",
            "timestamp": iso(self.now),
            "entry": self.entries,
        }


Contributor = Callable[[BundleBuilder, PatientRecord], None]
_CONTRIBUTORS: list[Contributor] = []


def register(contributor: Contributor) -> None:
    """Add resources of another package to every patient Bundle (idempotent)."""
    if contributor not in _CONTRIBUTORS:
        _CONTRIBUTORS.append(contributor)


def _clean(value):
    """Drop empty values: FHIR forbids empty strings, arrays and objects."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [c for c in (_clean(v) for v in value) if c not in (None, "", [], {})]
    return value


def _organization(b: BundleBuilder, clinic: Clinic) -> dict:
    return b.add(
        "Organization",
        clinic.id,
        _clean(
            {
                "identifier": [{"system": f"{IDENTIFIER_SYSTEM}:clinic", "value": clinic.slug}],
                "name": clinic.name,
                "telecom": [{"system": "phone", "value": clinic.phone}] if clinic.phone else [],
            }
        ),
    )


def _patient(b: BundleBuilder, patient: Patient, organization: dict) -> dict:
    return b.add(
        "Patient",
        patient.id,
        _clean(
            {
                "identifier": [{"system": f"{IDENTIFIER_SYSTEM}:patient", "value": str(patient.id)}],
                "active": patient.active,
                "name": [{"family": patient.last_name, "given": [patient.first_name]}],
                "telecom": [
                    {"system": "email", "value": patient.email} if patient.email else None,
                    {"system": "phone", "value": patient.phone} if patient.phone else None,
                ],
                "birthDate": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
                "managingOrganization": {**organization, "display": patient.clinic.name},
            }
        ),
    )


def _activity_status(course: Course, item: PlanItem) -> str:
    if item.completed_at is not None:
        return "completed"
    if course.status == "ended":
        return "stopped"
    if course.status == "paused":
        return "on-hold"
    return "not-started" if item.status == "missed" else "scheduled"


def _careplan(b: BundleBuilder, r: PatientRecord, subject: dict) -> dict:
    p, course = r.protocol, r.course
    activities = []
    for item in r.items:
        activity = {
            "detail": {
                "code": {"text": f"Application {item.number} of {p.applications_total}"},
                "status": _activity_status(course, item),
                "statusReason": {"text": STATUS_TEXT.get(item.status, item.status)},
                "scheduledPeriod": {"start": iso(item.scheduled_at)},
                "description": "In the clinic" if item.in_clinic else "At home",
            }
        }
        if item.completed_at is not None:
            activity["outcomeReference"] = [b.reference("Procedure", f"{course.id}/{item.number}")]
        activities.append(activity)
    return b.add(
        "CarePlan",
        course.id,
        _clean(
            {
                "identifier": [{"system": f"{IDENTIFIER_SYSTEM}:course", "value": str(course.id)}],
                "status": CAREPLAN_STATUS.get(str(course.status), "unknown"),
                "intent": "plan",
                "title": p.name,
                "description": (
                    f"{p.applications_total} micro-needling applications with serum, "
                    f"{p.applications_per_week} a week for {p.course_weeks} weeks"
                ),
                "subject": subject,
                "period": {
                    "start": iso(course.first_application_at),
                    "end": iso(max(i.scheduled_at for i in r.items)) if r.items else None,
                },
                "created": iso(course.created_at),
                "note": [{"text": course.status_reason}] if course.status_reason else [],
                "activity": activities,
            }
        ),
    )


def _procedures_and_check_ins(b: BundleBuilder, r: PatientRecord, subject: dict, careplan: dict) -> None:
    areas = [{"text": SCALP_AREAS.get(a, a)} for a in r.patient.target_areas or []]
    total = r.protocol.applications_total
    for item, entry in zip(r.items, timeline(r.course, r.items), strict=True):
        if item.completed_at is None:
            continue
        by = entry.recorded_by
        procedure = b.add(
            "Procedure",
            f"{r.course.id}/{item.number}",
            _clean(
                {
                    "basedOn": [careplan],
                    "status": "completed",
                    "code": {"text": "Micro-needling with growth-factor serum"},
                    "subject": subject,
                    "performedDateTime": iso(item.completed_at),
                    "performer": [{"actor": {"display": by.name}}] if by else [],
                    "bodySite": areas,
                    "note": [
                        {
                            "text": f"Application {item.number} of {total} (kit {item.kit_number}), "
                            f"{'in the clinic' if item.in_clinic else 'at home'}: {STATUS_TEXT[item.status]}"
                        }
                    ],
                }
            ),
        )
        c = entry.check_in
        if c is None:
            continue
        components = [
            {"code": {"text": "Redness"}, "valueString": c.redness} if c.redness else None,
            {"code": {"text": "Irritation"}, "valueString": c.irritation} if c.irritation else None,
            {"code": {"coding": [PAIN_LOINC], "text": "Pain (0-10)"}, "valueInteger": c.pain}
            if c.pain is not None
            else None,
        ]
        b.add(
            "Observation",
            f"{r.course.id}/{item.number}",
            _clean(
                {
                    "status": "final",
                    "category": [SURVEY],
                    "code": {"text": "Check-in after an application"},
                    "subject": subject,
                    "partOf": [procedure],
                    "effectiveDateTime": iso(item.completed_at),
                    "component": components,
                    "interpretation": [{"text": "Over the clinic's side-effect threshold"}]
                    if c.flagged
                    else [],
                    "note": [{"text": c.notes}] if c.notes else [],
                }
            ),
        )


def patient_bundle(patient: Patient, now: dt.datetime | None = None) -> dict:
    """The patient's current course as a FHIR R4 Bundle."""
    now = now or utcnow()
    course = require_course(patient.id)
    protocol = course_protocol(course)
    record = PatientRecord(patient, patient.clinic, course, protocol, plan_items(course, protocol, now), now)
    b = BundleBuilder(now)
    organization = _organization(b, patient.clinic)
    subject = {**_patient(b, patient, organization), "display": patient.display_name}
    careplan = _careplan(b, record, subject)
    _procedures_and_check_ins(b, record, subject, careplan)
    for contributor in _CONTRIBUTORS:
        contributor(b, record)
    return b.bundle(patient.id)
