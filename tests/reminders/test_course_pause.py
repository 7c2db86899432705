"""Paused by the clinic: no reminder goes out (not even one already claimed), none is made again
by the dispatcher's materialising; resumed: the remaining schedule is re-planned from now and its
reminders come back and are sent."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from support.reminders import patient_with_device

from anagen.clock import utcnow
from anagen.course import lifecycle
from anagen.course.courses import record_application
from anagen.extensions import db
from anagen.models import ReminderOccurrence
from anagen.reminders import claims, dispatcher
from anagen.reminders import occurrences as reminders


def occurrences(patient_id: int) -> list[ReminderOccurrence]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(ReminderOccurrence)
            .where(ReminderOccurrence.patient_id == patient_id)
            .order_by(ReminderOccurrence.id)
        )
    )


def make_all_due(patient_id: int) -> None:
    """Every pending reminder of the patient due a second ago (as if its time had come)."""
    db.session.execute(
        sa.update(ReminderOccurrence)
        .where(ReminderOccurrence.patient_id == patient_id, ReminderOccurrence.status == "pending")
        .values(due_at=utcnow() - dt.timedelta(seconds=1))
    )
    db.session.commit()


def test_a_paused_course_sends_no_reminder_and_a_resumed_one_does(clinic, push_service, sender):
    patient, course, _subs = patient_with_device(clinic, push_service)
    record_application(course, 1, completed_at=course.first_application_at)
    reminders.materialise_course(course)
    db.session.commit()
    assert any(o.status == "pending" for o in occurrences(patient.id))

    lifecycle.pause(course, "Irritated scalp: resting for a week")
    db.session.commit()
    make_all_due(patient.id)
    reminders.materialise_all()  # the dispatcher's tick makes nothing for a paused course
    db.session.commit()
    stats = dispatcher.dispatch_until_idle(sender)
    assert stats.sent == 0 and push_service.received == []
    assert {o.status for o in occurrences(patient.id)} == {"cancelled"}

    now = utcnow()
    lifecycle.resume(course, now=now)
    db.session.commit()
    pending = [o for o in occurrences(patient.id) if o.status == "pending"]
    assert pending, "the remaining applications are reminded again"
    assert min(o.application_due_at for o in pending) >= now, "re-planned from now"
    make_all_due(patient.id)
    stats = dispatcher.dispatch_until_idle(sender)
    assert stats.sent >= 1 and len(push_service.received) == stats.sent


def test_pausing_fences_out_a_reminder_already_claimed(clinic, push_service, sender):
    patient, course, _subs = patient_with_device(clinic, push_service)
    record_application(course, 1, completed_at=course.first_application_at)
    reminders.materialise_course(course)
    db.session.commit()
    make_all_due(patient.id)
    assert claims.claim(10), "a dispatcher holds them"
    lifecycle.pause(course, "Holiday")
    db.session.commit()
    assert {o.status for o in occurrences(patient.id)} == {"cancelled"}
    assert all(o.lease_until is None for o in occurrences(patient.id))


def test_an_ended_course_sends_nothing(clinic, push_service, sender):
    patient, course, _subs = patient_with_device(clinic, push_service)
    record_application(course, 1, completed_at=course.first_application_at)
    reminders.materialise_course(course)
    db.session.commit()
    lifecycle.end(course, "Moved abroad")
    db.session.commit()
    make_all_due(patient.id)
    reminders.materialise_all()
    db.session.commit()
    assert dispatcher.dispatch_until_idle(sender).sent == 0
    assert push_service.received == []
