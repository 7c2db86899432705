"""Builders for test data, going through the real services (so the rules apply)."""

from __future__ import annotations

import datetime as dt
import itertools

from anagen.auth.passwords import hash_password
from anagen.clinic.clinics import create_clinic, create_staff
from anagen.clinic.enrolment import Enrolment, enrol_patient
from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import Clinic, Course, Patient, StaffRole, StaffUser

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_clinic(name: str | None = None) -> tuple[Clinic, StaffUser]:
    n = next(_seq)
    clinic, admin = create_clinic(
        name=name or f"Clinic {n}",
        slug=f"clinic-{n}",
        time_zone="Europe/London",
        admin_email=f"admin{n}@clinic.example",
        admin_name=f"Admin {n}",
        admin_password=PASSWORD,
    )
    db.session.commit()
    return clinic, admin


def make_staff(clinic: Clinic, role: str = "clinician") -> StaffUser:
    n = next(_seq)
    user = create_staff(
        clinic, email=f"staff{n}@clinic.example", name=f"Staff {n}", role=StaffRole(role), password=PASSWORD
    )
    db.session.commit()
    return user


def enrolment(**overrides) -> Enrolment:
    n = next(_seq)
    values = dict(
        first_name="Pat",
        last_name=f"Ient{n}",
        email=f"patient{n}@mail.example",
        indication="androgenetic_alopecia",
        time_zone="Europe/London",
        target_areas=["crown", "parting_line"],
        first_application_at=(utcnow() - dt.timedelta(hours=1)).replace(microsecond=0),
        reminder_weekdays=[0, 3],
        reminder_time=dt.time(20, 0),
        advanced_traction_alopecia=False,
        miniaturisation_seen=True,
        kit_batch_numbers=["BATCH-1"],
    )
    values.update(overrides)
    return Enrolment(**values)


def make_enrolled_patient(
    clinic: Clinic, *, password: str | None = PASSWORD, **overrides
) -> tuple[Patient, Course]:
    """An enrolled patient; with a password set (as if the invite was redeemed) unless password=None."""
    patient, course = enrol_patient(clinic, enrolment(**overrides))
    if password:
        patient.password_hash = hash_password(password)
        patient.photo_consent_at = utcnow()
    db.session.commit()
    return patient, course
