"""Server-side set-up and checks for the browser tests (same database as the live server)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from anagen.clock import utcnow
from anagen.extensions import db


def course_started(days_ago: float) -> dict:
    """Enrolment overrides for a course whose first (in-clinic) application was `days_ago`."""
    return {"first_application_at": (utcnow() - dt.timedelta(days=days_ago)).replace(microsecond=0)}


def record_in_clinic_application(course, staff) -> None:
    """The specialist records application 1 at the clinic, as on enrolment day."""
    from anagen.course.courses import record_application

    course = db.session.merge(course)
    record_application(course, 1, completed_at=course.first_application_at, recorded_by_staff_id=staff.id)
    db.session.commit()


def logs_for(course_id: int, number: int) -> int:
    """How many application records the server holds for application `number`."""
    from anagen.models import ApplicationLog, PlannedApplication

    db.session.rollback()  # see the live server's commits
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ApplicationLog)
        .join(PlannedApplication, ApplicationLog.planned_application_id == PlannedApplication.id)
        .where(PlannedApplication.course_id == course_id, PlannedApplication.number == number)
    )


def push_endpoints(patient_id: int) -> list[str]:
    """The push-subscription endpoints the server holds for a patient."""
    from anagen.models import PushSubscription

    db.session.rollback()  # see the live server's commits
    return list(
        db.session.scalars(
            sa.select(PushSubscription.endpoint).where(PushSubscription.patient_id == patient_id)
        )
    )


def reminders_of(patient_id: int, kind: str | None = None) -> list:
    """The patient's reminder occurrences (oldest due first), optionally of one kind."""
    from anagen.models import ReminderOccurrence

    db.session.rollback()
    query = sa.select(ReminderOccurrence).where(ReminderOccurrence.patient_id == patient_id)
    if kind:
        query = query.where(ReminderOccurrence.kind == kind)
    return list(db.session.scalars(query.order_by(ReminderOccurrence.due_at, ReminderOccurrence.id)))


def due_reminder(course_id: int, number: int = 2) -> int:
    """The id of a pending `due` reminder of application `number`, due a second ago (one is
    added, as a snooze of the scheduled one, if none is pending)."""
    from anagen.models import Course, PlannedApplication, ReminderOccurrence

    db.session.rollback()
    row = db.session.scalar(
        sa.select(PlannedApplication).where(
            PlannedApplication.course_id == course_id, PlannedApplication.number == number
        )
    )
    now = utcnow()
    occurrences = list(
        db.session.scalars(
            sa.select(ReminderOccurrence).where(
                ReminderOccurrence.planned_application_id == row.id, ReminderOccurrence.kind == "due"
            )
        )
    )
    for occ in occurrences:
        if occ.status == "pending":
            occ.due_at = now - dt.timedelta(seconds=1)
            db.session.commit()
            return occ.id
    occ = ReminderOccurrence(
        patient_id=db.session.get(Course, row.course_id).patient_id,
        planned_application_id=row.id,
        kind="due",
        seq=max((o.seq for o in occurrences), default=-1) + 1,
        due_at=now - dt.timedelta(seconds=1),
    )
    db.session.add(occ)
    db.session.commit()
    return occ.id


def end_sessions(patient_id: int) -> None:
    """Every session of the patient ends on the server (as after a password change elsewhere)."""
    from anagen.auth.accounts import end_sessions as revoke

    db.session.rollback()
    revoke("patient", patient_id)
    db.session.commit()


def recorded_check_ins(course_id: int, number: int) -> list[tuple[int | None, str | None, bool]]:
    """(pain, notes, flagged) of each record the server holds for application `number`."""
    from anagen.models import ApplicationLog, PlannedApplication

    db.session.rollback()
    rows = db.session.execute(
        sa.select(ApplicationLog.pain, ApplicationLog.notes, ApplicationLog.flagged)
        .join(PlannedApplication, ApplicationLog.planned_application_id == PlannedApplication.id)
        .where(PlannedApplication.course_id == course_id, PlannedApplication.number == number)
    )
    return [tuple(row) for row in rows]


def weekdays_from_today(*offsets: int, zone: str = "Europe/London") -> list[int]:
    """Reminder weekdays (0 = Monday) that fall `offsets` days after today in `zone`."""
    from zoneinfo import ZoneInfo

    today = utcnow().astimezone(ZoneInfo(zone)).date()
    return sorted((today.weekday() + offset) % 7 for offset in offsets)
