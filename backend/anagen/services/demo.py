"""The demo clinic: staff and patients at different points of their course."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from anagen.extensions import db, utcnow
from anagen.models import Clinic, StaffRole
from anagen.services.clinics import create_clinic, create_staff
from anagen.services.courses import CheckIn, record_application
from anagen.services.enrolment import Enrolment, enrol_patient
from anagen.services.messages import send_message
from anagen.services.passwords import hash_password

DEMO_SLUG = "demo-clinic"
# Demo logins are public by design (printed by `make run` and listed in the README).
STAFF_PASSWORD = "demo-staff-pass"  # noqa: S105
PATIENT_PASSWORD = "demo-patient-pass"  # noqa: S105

# (first, last, email, days since the first application, applications done, late ones, pain)
DEMO_PATIENTS = [
    ("Ava", "Patel", "ava@demo.anagen.example", 24, None, (), 2),
    ("Ben", "Okafor", "ben@demo.anagen.example", 31, 7, (), 1),
    ("Chloe", "Martin", "chloe@demo.anagen.example", 50, None, (9, 12), 7),
    ("Dev", "Shah", "dev@demo.anagen.example", 0, 0, (), None),
    ("Erin", "Walsh", "erin@demo.anagen.example", 90, None, (5,), 1),
]


def any_clinic(slug: str | None = None) -> bool:
    query = sa.select(Clinic.id)
    if slug:
        query = query.where(Clinic.slug == slug)
    return db.session.scalar(query.limit(1)) is not None


def load_demo(now: dt.datetime | None = None) -> list[tuple[str, str, str]]:
    """Create the demo clinic; returns (role, email, password) for each login."""
    now = now or utcnow()
    clinic, admin = create_clinic(
        name="Phi Hair Clinic (demo)",
        slug=DEMO_SLUG,
        time_zone="Europe/London",
        admin_email="admin@demo.anagen.example",
        admin_name="Dr Tara Admin",
        admin_password=STAFF_PASSWORD,
    )
    clinician = create_staff(
        clinic,
        email="clinician@demo.anagen.example",
        name="Sam Clinician",
        role=StaffRole.CLINICIAN,
        password=STAFF_PASSWORD,
    )
    logins = [("admin", admin.email, STAFF_PASSWORD), ("clinician", clinician.email, STAFF_PASSWORD)]
    for first, last, email, days_ago, done, late, pain in DEMO_PATIENTS:
        start = (now - dt.timedelta(days=days_ago)).replace(hour=11, minute=0, second=0, microsecond=0)
        patient, course = enrol_patient(
            clinic,
            Enrolment(
                first_name=first,
                last_name=last,
                email=email,
                indication="androgenetic_alopecia",
                time_zone="Europe/London",
                target_areas=["crown", "parting_line"],
                first_application_at=start,
                reminder_weekdays=[0, 3],
                reminder_time=dt.time(20, 0),
                advanced_traction_alopecia=False,
                miniaturisation_seen=True,
                kit_batch_numbers=[f"CAL-{first.upper()}-1"],
            ),
            staff=clinician,
        )
        patient.password_hash = hash_password(PATIENT_PASSWORD)
        patient.photo_consent_at = start
        _complete_history(course, now, done, late, pain, clinician.id)
        if first == "Chloe":
            send_message(
                patient,
                clinician,
                "Thanks for telling us about the soreness after application 9. Press more gently "
                "over the crown, and call us if it happens again.",
            )
        logins.append(("patient", email, PATIENT_PASSWORD))
    return logins


def _complete_history(course, now, done_limit, late, pain, clinician_id) -> None:
    """Record applications whose time has come, as the patient would have done them."""
    for row in course.applications:
        if done_limit is not None and row.number > done_limit:
            return
        at = row.due_at + dt.timedelta(minutes=25)
        if row.number in late:
            at = row.due_at + dt.timedelta(hours=30)
        if at > now:
            return
        record_application(
            course,
            row.number,
            completed_at=at,
            started_at=at - dt.timedelta(minutes=15),
            check_in=CheckIn(redness="mild", irritation="none", pain=pain if row.number == 9 else 1),
            recorded_by_staff_id=clinician_id if row.in_clinic else None,
            now=at,
        )
