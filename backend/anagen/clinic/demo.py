"""The demo clinic: staff and patients at different points of their course."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from anagen.auth.passwords import hash_password
from anagen.clinic.clinics import create_clinic, create_staff
from anagen.clinic.enrolment import DEFAULT_QUIET_HOURS, Enrolment, enrol_patient
from anagen.clinic.messages import send_message
from anagen.clock import utcnow
from anagen.course.courses import CheckIn, record_application
from anagen.extensions import db
from anagen.models import Clinic, StaffRole
from anagen.protocol import Protocol, default_protocol, schedule_course

DEMO_SLUG = "demo-clinic"
# Demo logins are public by design (printed by `make run` and listed in the README).
STAFF_PASSWORD = "demo-staff-pass"  # noqa: S105
PATIENT_PASSWORD = "demo-patient-pass"  # noqa: S105

DEMO_ZONE = "Europe/London"
DEMO_WEEKDAYS = (0, 3)  # Mondays and Thursdays
DEMO_REMINDER = dt.time(20, 0)
IN_CLINIC_AT = dt.time(11, 0)  # the first application, at the clinic (local time)
ON_TIME_AFTER = dt.timedelta(minutes=25)
LATE_AFTER = dt.timedelta(hours=30)


@dataclass(frozen=True)
class DemoPatient:
    """A demo patient's story, told in applications rather than days, so it holds on any date."""

    first: str
    last: str
    email: str
    # Applications whose time has come (LATE_AFTER past their due time) when the demo loads:
    # the course start is counted back on the protocol's own schedule until this many have.
    elapsed: int
    # How many of the elapsed ones were missed at the end (none done after them).
    missed: int = 0
    late: tuple[int, ...] = ()
    flagged_pain: int | None = None  # the pain reported at application 9 (over the threshold flags)


DEMO_PATIENTS = (
    DemoPatient("Ava", "Patel", "ava@demo.anagen.example", elapsed=7),
    DemoPatient("Ben", "Okafor", "ben@demo.anagen.example", elapsed=9, missed=2),
    DemoPatient("Chloe", "Martin", "chloe@demo.anagen.example", elapsed=16, late=(9, 12), flagged_pain=7),
    DemoPatient("Dev", "Shah", "dev@demo.anagen.example", elapsed=0),
    DemoPatient("Erin", "Walsh", "erin@demo.anagen.example", elapsed=24, late=(5,)),
)


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
        time_zone=DEMO_ZONE,
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
    protocol = default_protocol()
    for story in DEMO_PATIENTS:
        # A late application can push the rest of the course back by up to half a week (the
        # minimum gap counts from the completion), so each one asks for that much more time.
        start = course_start(protocol, story.elapsed, now - len(story.late) * dt.timedelta(days=4))
        patient, course = enrol_patient(
            clinic,
            Enrolment(
                first_name=story.first,
                last_name=story.last,
                email=story.email,
                indication="androgenetic_alopecia",
                time_zone=DEMO_ZONE,
                target_areas=["crown", "parting_line"],
                first_application_at=start,
                reminder_weekdays=list(DEMO_WEEKDAYS),
                reminder_time=DEMO_REMINDER,
                quiet_hours=DEFAULT_QUIET_HOURS,  # as every patient a clinic enrols
                advanced_traction_alopecia=False,
                miniaturisation_seen=True,
                kit_batch_numbers=[f"CAL-{story.first.upper()}-1"],
            ),
            staff=clinician,
        )
        patient.password_hash = hash_password(PATIENT_PASSWORD)
        patient.photo_consent_at = start
        _complete_history(protocol, course, story, now, clinician.id)
        if story.flagged_pain is not None:
            send_message(
                patient,
                clinician,
                "Thanks for telling us about the soreness after application 9. Press more gently "
                "over the crown, and call us if it happens again.",
            )
        logins.append(("patient", story.email, PATIENT_PASSWORD))
    return logins


def _closed(protocol: Protocol, slots: list, now: dt.datetime) -> int:
    """How many applications' on-time windows have closed by `now`."""
    window = dt.timedelta(hours=protocol.on_time_window_hours)
    return sum(1 for slot in slots if slot.due_at + window <= now)


def course_start(protocol: Protocol, elapsed: int, now: dt.datetime) -> dt.datetime:
    """The latest in-clinic start (a day at IN_CLINIC_AT, local) after which, on the protocol's own
    schedule, at least `elapsed` applications' windows have closed by `now` (and the first is done).

    Counting applications rather than days keeps each demo story true on every weekday and hour."""
    zone = ZoneInfo(DEMO_ZONE)
    today = now.astimezone(zone).date()
    for days_back in range(0, 7 * (protocol.course_weeks + 4)):
        start = dt.datetime.combine(today - dt.timedelta(days=days_back), IN_CLINIC_AT, zone).astimezone(
            dt.UTC
        )
        if start + ON_TIME_AFTER > now:
            continue
        slots = schedule_course(protocol, start, DEMO_WEEKDAYS, DEMO_REMINDER, DEMO_ZONE)
        if _closed(protocol, slots, now) >= elapsed:
            return start
    raise RuntimeError(f"No demo course start gives {elapsed} elapsed applications")  # pragma: no cover


def _complete_history(protocol: Protocol, course, story: DemoPatient, now: dt.datetime, staff_id) -> None:
    """Record the applications whose time has come, as the patient would have done them; the last
    `story.missed` of the closed ones stay undone."""
    done_limit = _closed(protocol, course.applications, now) - story.missed if story.missed else None
    for row in course.applications:
        if done_limit is not None and row.number > done_limit:
            return
        at = row.due_at + (LATE_AFTER if row.number in story.late else ON_TIME_AFTER)
        if at > now:
            return
        pain = story.flagged_pain if row.number == 9 and story.flagged_pain is not None else 1
        record_application(
            course,
            row.number,
            completed_at=at,
            started_at=at - dt.timedelta(minutes=15),
            check_in=CheckIn(redness="mild", irritation="none", pain=pain),
            recorded_by_staff_id=staff_id if row.in_clinic else None,
            now=at,
        )
