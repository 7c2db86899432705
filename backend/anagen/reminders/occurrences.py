"""Reminder occurrences: materialised ahead of time from the course, one row per reminder.

The kinds are `ReminderKind` (models/push.py). Times are computed in the patient's zone and
stored in UTC; quiet hours push a reminder to the end of the quiet period.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from anagen.clock import utcnow
from anagen.course.protocols import course_protocol
from anagen.errors import Conflict, NotFound
from anagen.extensions import db
from anagen.models import (
    Course,
    Patient,
    PlannedApplication,
    ReminderKind,
    ReminderOccurrence,
    ReminderStatus,
)
from anagen.protocol import Protocol, local_wall_clock

WINDOW = dt.timedelta(days=14)
# A reminder first materialised more than this after its time is not created: it would
# arrive late and out of order ("due now" for a day-old application, after a course was
# entered retroactively or the demo clinic was loaded).
STALE_AFTER = dt.timedelta(hours=1)
MISSED_NOTICE_AT = dt.time(9, 0)
APPLICATION_KINDS = (ReminderKind.DUE, ReminderKind.FOLLOW_UP, ReminderKind.MISSED)
PENDING = ReminderStatus.PENDING


def respect_quiet_hours(at: dt.datetime, patient: Patient) -> dt.datetime:
    """Move an instant that falls in the patient's quiet hours to the end of them."""
    start, end = patient.quiet_hours_start, patient.quiet_hours_end
    if not start or not end or start == end:
        return at
    zone = ZoneInfo(patient.time_zone)
    local = local_wall_clock(at, zone)
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return at
    end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(end_day, end, tzinfo=zone).astimezone(dt.UTC)


def _missed_notice(protocol: Protocol, row: PlannedApplication, zone: ZoneInfo) -> dt.datetime:
    closes = local_wall_clock(row.due_at + dt.timedelta(hours=protocol.on_time_window_hours), zone)
    day = closes.date() if closes.time() < MISSED_NOTICE_AT else closes.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, MISSED_NOTICE_AT, tzinfo=zone).astimezone(dt.UTC)


def planned_times(protocol: Protocol, row: PlannedApplication, patient: Patient) -> dict[str, dt.datetime]:
    """When each application reminder of one planned application should go out."""
    zone = ZoneInfo(patient.time_zone)
    times = {
        "due": row.due_at,
        "follow_up": row.due_at + dt.timedelta(hours=protocol.follow_up_after_hours),
        "missed": _missed_notice(protocol, row, zone),
    }
    return {kind: respect_quiet_hours(at, patient) for kind, at in times.items()}


def materialise_course(course: Course, now: dt.datetime | None = None, window: dt.timedelta = WINDOW) -> int:
    """Create (or move) the pending reminders of the applications due within the window."""
    now = now or utcnow()
    if course.status != "active":
        return 0
    protocol = course_protocol(course)
    patient = course.patient
    undone = [r for r in course.applications if r.completed_at is None and not r.in_clinic]
    if not undone:
        return 0
    existing = {
        (o.planned_application_id, o.kind): o
        for o in db.session.scalars(
            sa.select(ReminderOccurrence).where(
                ReminderOccurrence.planned_application_id.in_([r.id for r in undone]),
                ReminderOccurrence.kind.in_(APPLICATION_KINDS),
                ReminderOccurrence.seq == 0,
            )
        )
    }
    created = 0
    for row in undone:
        in_window = row.due_at <= now + window
        for kind, at in planned_times(protocol, row, patient).items():
            occurrence = existing.get((row.id, kind))
            if occurrence is None and in_window and at >= now - STALE_AFTER:
                db.session.add(
                    ReminderOccurrence(
                        patient_id=patient.id,
                        planned_application_id=row.id,
                        kind=kind,
                        seq=0,
                        due_at=at,
                    )
                )
                created += 1
            elif occurrence is not None and occurrence.status == PENDING and occurrence.due_at != at:
                occurrence.due_at = at
    db.session.flush()
    return created


def materialise_all(now: dt.datetime | None = None, window: dt.timedelta = WINDOW) -> int:
    """The rolling window for every active course with something due soon (the dispatcher runs this)."""
    now = now or utcnow()
    course_ids = db.session.scalars(
        sa.select(PlannedApplication.course_id)
        .join(Course)
        .where(
            Course.status == "active",
            PlannedApplication.completed_at.is_(None),
            PlannedApplication.due_at <= now + window,
        )
        .distinct()
    ).all()
    created = 0
    for course_id in course_ids:
        created += materialise_course(db.session.get(Course, course_id), now, window)
    return created


def cancel_for_application(row: PlannedApplication) -> int:
    """No reminder after the application is done (snoozed copies included)."""
    return db.session.execute(
        sa.update(ReminderOccurrence)
        .where(
            ReminderOccurrence.planned_application_id == row.id,
            ReminderOccurrence.kind.in_(APPLICATION_KINDS),
            ReminderOccurrence.status == PENDING,
        )
        .values(status=ReminderStatus.CANCELLED)
    ).rowcount


def _add_once(patient_id: int, row: PlannedApplication, kind: str, at: dt.datetime) -> None:
    exists = db.session.scalar(
        sa.select(ReminderOccurrence.id).where(
            ReminderOccurrence.planned_application_id == row.id, ReminderOccurrence.kind == kind
        )
    )
    if exists is None:
        db.session.add(
            ReminderOccurrence(
                patient_id=patient_id, planned_application_id=row.id, kind=kind, seq=0, due_at=at
            )
        )


def application_done(course: Course, row: PlannedApplication, now: dt.datetime | None = None) -> None:
    """After an application: cancel its reminders, add kit-low / checkpoint ones, re-plan the window."""
    now = now or utcnow()
    protocol = course_protocol(course)
    cancel_for_application(row)
    patient = course.patient
    if row.opens_vial and row.vial_number == protocol.vials_per_kit:
        _add_once(patient.id, row, ReminderKind.KIT_LOW, respect_quiet_hours(now, patient))
    if any(c.after_application == row.number and row.number > 1 for c in protocol.checkpoints):
        _add_once(
            patient.id,
            row,
            ReminderKind.CHECKPOINT,
            respect_quiet_hours(now + dt.timedelta(hours=1), patient),
        )
    materialise_course(course, now)


def snooze(
    original: ReminderOccurrence,
    delay: dt.timedelta = dt.timedelta(hours=1),
    now: dt.datetime | None = None,
) -> ReminderOccurrence:
    """A new occurrence of the same reminder, `delay` from now (the snoozed one stays as sent).

    The caller looks the reminder up through `anagen.auth.policy`, which scopes it to the patient.
    """
    now = now or utcnow()
    if original.kind == ReminderKind.TEST or original.planned_application_id is None:
        raise NotFound("No such reminder.")
    row = db.session.get(PlannedApplication, original.planned_application_id)
    if row.completed_at is not None and original.kind in APPLICATION_KINDS:
        raise Conflict("This application is already done.", code="already_done")
    seq = db.session.scalar(
        sa.select(sa.func.max(ReminderOccurrence.seq)).where(
            ReminderOccurrence.planned_application_id == row.id, ReminderOccurrence.kind == original.kind
        )
    )
    patient = db.session.get(Patient, original.patient_id)
    snoozed = ReminderOccurrence(
        patient_id=original.patient_id,
        planned_application_id=row.id,
        kind=original.kind,
        seq=(seq or 0) + 1,
        due_at=respect_quiet_hours(now + delay, patient),
    )
    db.session.add(snoozed)
    db.session.flush()
    return snoozed


def queue_test(patient: Patient, now: dt.datetime | None = None) -> ReminderOccurrence:
    """A test notification, sent by the dispatcher on its next tick."""
    return _queue_notice(patient, ReminderKind.TEST, now or utcnow())


def queue_message_notice(patient: Patient, now: dt.datetime | None = None) -> ReminderOccurrence:
    """ "You have a new message" (never its text), outside the patient's quiet hours."""
    return _queue_notice(patient, ReminderKind.MESSAGE, respect_quiet_hours(now or utcnow(), patient))


def _queue_notice(patient: Patient, kind: str, due_at: dt.datetime) -> ReminderOccurrence:
    occurrence = ReminderOccurrence(
        patient_id=patient.id, planned_application_id=None, kind=kind, seq=0, due_at=due_at
    )
    db.session.add(occurrence)
    db.session.flush()
    return occurrence
