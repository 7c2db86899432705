"""Enrolling a patient: the suitability check, the course, and the first invite."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from anagen.clinic.clinics import normalise_email, refuse_email
from anagen.clinic.kits import KitDetails, record_kits
from anagen.clock import utcnow
from anagen.course.courses import create_course
from anagen.course.protocols import available_protocols, ensure_builtin_protocols, insert_ignoring_duplicates
from anagen.course.settings import reminder_field_names
from anagen.course.today import SCALP_AREAS
from anagen.errors import InvalidInput, NotFound
from anagen.extensions import db
from anagen.models import Clinic, Course, Patient, ProtocolVersion, StaffUser
from anagen.protocol import validate_zone

INDICATIONS = {
    "androgenetic_alopecia": "Androgenetic alopecia (male or female pattern hair loss)",
    "telogen_effluvium": "Telogen effluvium (shedding, including after Covid-19)",
    "post_transplant": "After hair-restoration surgery, to prevent shock loss",
    "other": "Other (see notes)",
}

FIRST_APPLICATION_RANGE = dt.timedelta(days=365)

# The quiet hours (the patient's local time) a clinic's enrolment gives a new patient, shown
# and changeable at onboarding and in Settings: after the default 20:00 reminder, the
# follow-up (four hours later) moves to the morning instead of waking them
# (reminders/occurrences.py respect_quiet_hours).
DEFAULT_QUIET_HOURS = (dt.time(21, 30), dt.time(8, 0))

NOT_SUITABLE_MESSAGE = (
    "Not suitable: advanced traction alopecia. The follicles in these areas are damaged and "
    "cannot be revived by this treatment, so the patient cannot be enrolled."
)


@dataclass
class Enrolment:
    first_name: str
    last_name: str
    email: str
    indication: str
    time_zone: str
    target_areas: list[str]
    first_application_at: dt.datetime
    reminder_weekdays: list[int]
    reminder_time: dt.time
    advanced_traction_alopecia: bool
    miniaturisation_seen: bool
    phone: str | None = None
    date_of_birth: dt.date | None = None
    exam_notes: str | None = None
    protocol_version_id: int | None = None
    kit_batch_numbers: list[str] = field(default_factory=list)  # the earlier form of `kits`
    kits: list[KitDetails] = field(default_factory=list)  # batch and expiry, kit 1 first
    protocol_overrides: dict | None = None  # this patient's course, within the protocol's bounds
    quiet_hours: tuple[dt.time, dt.time] | None = None  # (start, end); None: none


def check_suitability(e: Enrolment) -> None:
    """The clinic's scalp exam: dead follicles (advanced traction alopecia) block enrolment."""
    if e.advanced_traction_alopecia:
        raise InvalidInput(
            NOT_SUITABLE_MESSAGE, {"advanced_traction_alopecia": "Blocks enrolment"}, code="not_suitable"
        )


def _protocol_version(clinic: Clinic, version_id: int | None) -> ProtocolVersion:
    if version_id is None:
        return ensure_builtin_protocols()
    for version in available_protocols(clinic.id):
        if version.id == version_id:
            return version
    raise NotFound("No such protocol for this clinic.", {"protocol_version_id": "Unknown protocol"})


def enrol_patient(clinic: Clinic, e: Enrolment, staff: StaffUser | None = None) -> tuple[Patient, Course]:
    """Create the patient and their course (scheduled by the course engine)."""
    check_suitability(e)
    errors = {}
    if e.indication not in INDICATIONS:
        errors["indication"] = "Choose one of: " + ", ".join(INDICATIONS)
    unknown = [a for a in e.target_areas if a not in SCALP_AREAS]
    if unknown or not e.target_areas:
        errors["target_areas"] = "Mark at least one area; known areas: " + ", ".join(SCALP_AREAS)
    if abs(e.first_application_at - utcnow()) > FIRST_APPLICATION_RANGE:
        errors["first_application_at"] = "The first application must be within a year of today"
    if e.kits and e.kit_batch_numbers:
        errors["kit_batch_numbers"] = "Give the kits' batches in `kits` only"
    if errors:
        raise InvalidInput("Some enrolment details need attention.", errors)
    validate_zone(e.time_zone)
    version = _protocol_version(clinic, e.protocol_version_id)
    # The email last, once every other field is known good: its refusal is the only answer
    # that could tell anything about other clinics, and it tells no more than "can't be used".
    email = normalise_email(e.email)
    owner = db.session.scalar(sa.select(Patient.clinic_id).where(Patient.email == email))
    if owner is not None:
        raise refuse_email("patient", clinic, owner)
    patient = db.session.scalar(
        insert_ignoring_duplicates(Patient)
        .values(
            clinic_id=clinic.id,
            first_name=e.first_name.strip(),
            last_name=e.last_name.strip(),
            email=email,
            phone=e.phone,
            date_of_birth=e.date_of_birth,
            indication=e.indication,
            suitability={
                "advanced_traction_alopecia": False,
                "miniaturisation_seen": e.miniaturisation_seen,
                "notes": e.exam_notes or "",
                "examined_by_staff_id": staff.id if staff else None,
            },
            target_areas=list(dict.fromkeys(e.target_areas)),
            time_zone=e.time_zone,
            quiet_hours_start=e.quiet_hours[0] if e.quiet_hours else None,
            quiet_hours_end=e.quiet_hours[1] if e.quiet_hours else None,
        )
        .returning(Patient)
    )
    if patient is None:  # the same email, enrolled by another request since the check above
        owner = db.session.scalar(sa.select(Patient.clinic_id).where(Patient.email == email))
        raise refuse_email("patient", clinic, owner)
    with reminder_field_names():
        course = create_course(
            patient,
            version,
            first_application_at=e.first_application_at,
            weekdays=e.reminder_weekdays,
            reminder_time=e.reminder_time,
            kit_batches=[k.batch_number for k in e.kits] or e.kit_batch_numbers,
            overrides=e.protocol_overrides,
        )
    if e.kits:
        record_kits(course, e.kits)
    return patient, course
