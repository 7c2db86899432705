"""The demo clinic: staff and patients at different points of their course, so that the clinic's
dashboard shows every flag (two misses in a row, a check-in over the threshold, completions
drifting later, reminders not reaching a phone, kit 2 not dispatched, an invite not redeemed),
a paused course, a finished one, and patients with nothing to worry about."""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from anagen.auth.passwords import hash_password
from anagen.clinic.clinics import create_clinic, create_staff
from anagen.clinic.enrolment import DEFAULT_QUIET_HOURS, Enrolment, enrol_patient
from anagen.clinic.invites import issue_invite
from anagen.clinic.kits import KitDetails
from anagen.clinic.messages import send_message
from anagen.clock import utcnow
from anagen.course import lifecycle
from anagen.course.courses import CheckIn, record_application
from anagen.extensions import db
from anagen.models import Clinic, PushSubscription, StaffRole
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
    drifting: bool = False  # the last applications done, each later after its time than the one before
    device: str | None = "working"  # the patient's phone: "working", "failing" or None (none)
    kit_2_dispatched: bool = True  # handed over with kit 1 at the first visit
    invite_redeemed: bool = True
    paused: str | None = None  # the clinic's reason, when the clinic paused the course


DEMO_PATIENTS = (
    DemoPatient("Ava", "Patel", "ava@demo.anagen.example", elapsed=7),
    DemoPatient("Ben", "Okafor", "ben@demo.anagen.example", elapsed=9, missed=2),
    DemoPatient("Chloe", "Martin", "chloe@demo.anagen.example", elapsed=16, late=(9, 12), flagged_pain=7),
    DemoPatient("Dev", "Shah", "dev@demo.anagen.example", elapsed=0),
    DemoPatient("Erin", "Walsh", "erin@demo.anagen.example", elapsed=24, late=(5,)),
    DemoPatient("Farah", "Haddad", "farah@demo.anagen.example", elapsed=8, drifting=True),
    DemoPatient("Gus", "Lindqvist", "gus@demo.anagen.example", elapsed=5, device="failing"),
    DemoPatient("Hana", "Sato", "hana@demo.anagen.example", elapsed=9, kit_2_dispatched=False),
    DemoPatient("Ivan", "Petrov", "ivan@demo.anagen.example", elapsed=0, device=None, invite_redeemed=False),
    DemoPatient(
        "Jo", "Kowalski", "jo@demo.anagen.example", elapsed=5, paused="Scalp irritation: resting for a week"
    ),
)
# The lateness after the due time of a drifting patient's last three applications (each still
# within the on-time window: the early warning comes before the first miss).
DRIFT = (dt.timedelta(minutes=20), dt.timedelta(hours=1, minutes=10), dt.timedelta(hours=3))
# Demo phones subscribe at a push service that cannot exist (RFC 6761's .invalid): the dispatcher's
# sends to them fail and are retried a few times, as for a phone that is switched off.
DEMO_PUSH_SERVICE = "https://push.invalid/demo"


ADMIN_EMAIL = "admin@demo.anagen.example"
CLINICIAN_EMAIL = "clinician@demo.anagen.example"


def staff_logins() -> list[tuple[str, str, str]]:
    """The demo clinic's staff sign-ins (public by design, like the patients')."""
    return [("admin", ADMIN_EMAIL, STAFF_PASSWORD), ("clinician", CLINICIAN_EMAIL, STAFF_PASSWORD)]


def any_clinic(slug: str | None = None) -> bool:
    query = sa.select(Clinic.id)
    if slug:
        query = query.where(Clinic.slug == slug)
    return db.session.scalar(query.limit(1)) is not None


def load_demo(now: dt.datetime | None = None) -> list[tuple[str, str, str]]:
    """Create the demo clinic; returns (role, email, password) for each login."""
    now = now or utcnow()
    clinic, _admin = create_clinic(
        name="Phi Hair Clinic (demo)",
        slug=DEMO_SLUG,
        time_zone=DEMO_ZONE,
        admin_email=ADMIN_EMAIL,
        admin_name="Dr Tara Admin",
        admin_password=STAFF_PASSWORD,
    )
    clinician = create_staff(
        clinic,
        email=CLINICIAN_EMAIL,
        name="Sam Clinician",
        role=StaffRole.CLINICIAN,
        password=STAFF_PASSWORD,
    )
    # 020 7946 0xxx: a London range Ofcom keeps for drama, never a real line.
    clinic.phone = "+44 20 7946 0321"
    clinic.locations = ["Harley Street", "Richmond"]
    logins = staff_logins()
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
                kits=[
                    KitDetails(f"CAL-{story.first.upper()}-{n}", (now + KIT_SHELF_LIFE).date())
                    for n in range(1, protocol.kits_total + 1)
                ],
            ),
            staff=clinician,
        )
        invite, _token = issue_invite(patient, clinician, dt.timedelta(days=7))
        if story.kit_2_dispatched:
            for kit in course.kits:
                kit.dispatched_at = start
        if story.invite_redeemed:
            patient.password_hash = hash_password(PATIENT_PASSWORD)
            patient.photo_consent_at = start
            invite.used_at = start
        _complete_history(protocol, course, story, now, clinician.id)
        if story.device:
            _add_device(patient, story.device, start)
        if story.paused:
            lifecycle.pause(course, story.paused, now=now)
        if story.flagged_pain is not None:
            send_message(
                patient,
                clinician,
                "Thanks for telling us about the soreness after application 9. Press more gently "
                "over the crown, and call us if it happens again.",
            )
        if story.invite_redeemed:
            logins.append(("patient", story.email, PATIENT_PASSWORD))
    return logins


KIT_SHELF_LIFE = dt.timedelta(days=2 * 365)


def _add_device(patient, state: str, since: dt.datetime) -> None:
    """A phone with reminders on (a real P-256 key pair, so the sender can encrypt for it)."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    failing = state == "failing"
    db.session.add(
        PushSubscription(
            patient_id=patient.id,
            endpoint=f"{DEMO_PUSH_SERVICE}/{patient.id}",
            p256dh=base64.urlsafe_b64encode(raw).decode().rstrip("="),
            auth=base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="),
            user_agent="Chrome on Android",
            created_at=since,
            refusals=3 if failing else 0,
            failed_at=since + dt.timedelta(days=3) if failing else None,
            failure="403 Forbidden: the push service no longer accepts this phone" if failing else None,
        )
    )


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
    `story.missed` of the closed ones stay undone; a drifting patient's last three drift later."""
    done_limit = _closed(protocol, course.applications, now) - story.missed if story.missed else None
    drift_from = None
    if story.drifting:
        done_limit = sum(1 for row in course.applications if row.due_at + DRIFT[-1] <= now)
        drift_from = done_limit - len(DRIFT) + 1
    for row in course.applications:
        if done_limit is not None and row.number > done_limit:
            return
        at = row.due_at + (LATE_AFTER if row.number in story.late else ON_TIME_AFTER)
        if drift_from is not None and row.number >= drift_from:
            at = row.due_at + DRIFT[row.number - drift_from]
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
