"""Server-side set-up and checks for the browser tests (same database as the live server)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from anagen.extensions import db, utcnow


def course_started(days_ago: float) -> dict:
    """Enrolment overrides for a course whose first (in-clinic) application was `days_ago`."""
    return {"first_application_at": (utcnow() - dt.timedelta(days=days_ago)).replace(microsecond=0)}


def record_in_clinic_application(course, staff) -> None:
    """The specialist records application 1 at the clinic, as on enrolment day."""
    from anagen.services.courses import record_application

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
