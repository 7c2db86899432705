"""Reminders fenced by their claim (issue 10, item 3): a stale dispatcher changes nothing it
no longer holds; a hanging push service delays only its own origin; nothing goes out once
the application is done; an application that moves gets its reminders again."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa
from support.pushservice import PushService
from support.reminders import add_occurrence, fresh, open_application, patient_with_device, received_payloads

from anagen.clock import utcnow
from anagen.course.courses import record_application
from anagen.course.settings import update_settings
from anagen.extensions import db
from anagen.models import PlannedApplication, ReminderOccurrence
from anagen.reminders import dispatcher
from anagen.reminders import occurrences as reminders
from anagen.reminders.subscriptions import make_sender
from anagen.webpush.messages import Outcome, PushResult


@pytest.fixture
def lease(push_app):
    """Set DISPATCH_LEASE_SECONDS for one test."""
    saved = push_app.config.get("DISPATCH_LEASE_SECONDS")

    def set_lease(seconds: float) -> None:
        push_app.config["DISPATCH_LEASE_SECONDS"] = seconds

    yield set_lease
    push_app.config["DISPATCH_LEASE_SECONDS"] = saved


@pytest.fixture
def one(clinic, push_service):
    """A patient with one device and one due reminder for application 2 (only that one)."""
    patient, course, (sub,) = patient_with_device(clinic, push_service)
    db.session.execute(sa.delete(ReminderOccurrence))
    db.session.commit()
    occ = add_occurrence(patient, open_application(course, 2), "due")
    return patient, course, occ


def claim_as_another_dispatcher() -> dispatcher._Batch:
    """A batch claimed (and committed) by a dispatcher that then stalls."""
    batch = dispatcher._start(100)
    db.session.commit()
    return batch


def test_a_stale_dispatcher_after_its_lease_ran_out_overwrites_nothing(one, push_service, sender, lease):
    _patient, _course, occ = one
    lease(0.2)
    stale = claim_as_another_dispatcher()
    assert stale.claimed == 1
    time.sleep(0.3)  # its lease runs out while it stalls
    lease(120)
    assert dispatcher.dispatch_until_idle(sender).sent == 1  # a second dispatcher takes it over
    assert fresh(occ.id).status == "sent"
    # The stale one wakes up: the re-check finds its claim gone, so it sends nothing...
    dispatcher._send(sender, stale)
    assert stale.pairs == [] and stale.unwanted == {occ.id}
    # ...and even an answer it got before the takeover (here: a 500 to retry) writes nothing.
    stale.pairs = [(None, type("Device", (), {"id": 0})())]
    stale.results = [PushResult(str(occ.id), Outcome.RETRY, 500, None, "HTTP 500")]
    stale.unwanted = set()
    stats = dispatcher._finish(stale)
    db.session.commit()
    assert (stats.fenced, stats.retried, stats.sent) == (1, 0, 0)
    row = fresh(occ.id)
    assert row.status == "sent" and row.last_error is None and row.lease_until is None
    assert len(push_service.received) == 1


def test_a_hanging_origin_delays_only_its_own(clinic, push_service, push_app, lease):
    """One push service hangs; the others' reminders go out at once, the batch is recorded
    well inside its lease, and the next batches do not wait for the hanging one again."""
    lease(4)  # batches stop sending after 2 s
    with PushService.start() as hanging:
        stuck_patient, stuck_course, _ = patient_with_device(clinic, hanging)
        healthy = [patient_with_device(clinic, push_service) for _ in range(3)]
        db.session.execute(sa.delete(ReminderOccurrence))
        db.session.commit()
        stuck = add_occurrence(stuck_patient, open_application(stuck_course, 2), "due")
        fine = [add_occurrence(p, open_application(c, 2), "due") for p, c, _s in healthy]
        hanging.set_behaviour(hang_seconds=30)
        with make_sender(push_app, timeout=(1.0, 20.0)) as sender:
            started = time.monotonic()
            stats = dispatcher.dispatch_until_idle(sender)
            took = time.monotonic() - started
            assert took < 3.5, took  # the batch deadline, not the 20 s request deadline
            assert (stats.sent, stats.retried) == (3, 1)
            assert all(fresh(o.id).status == "sent" for o in fine)
            row = fresh(stuck.id)
            assert row.status == "pending" and row.lease_until is None
            # The next batch: the hanging origin is paused, the healthy one is not held up.
            more = [add_occurrence(p, open_application(c, 3), "due") for p, c, _s in healthy]
            db.session.execute(
                sa.update(ReminderOccurrence).where(ReminderOccurrence.id == stuck.id).values(due_at=utcnow())
            )
            db.session.commit()
            started = time.monotonic()
            stats = dispatcher.dispatch_until_idle(sender)
            assert time.monotonic() - started < 1.5
            assert (stats.sent, stats.retried) == (3, 1)
            assert all(fresh(o.id).status == "sent" for o in more)
        assert len(hanging.received) == 1  # tried once, then paused
    assert sorted(int(p["id"]) for p in received_payloads(push_service)) == sorted(o.id for o in fine + more)


def test_completion_while_claimed_sends_nothing(one, push_service, sender):
    """The dispatcher holds a live claim; the patient records the application before the
    batch goes out: nothing is sent, and the claim's outcome does not undo the cancel."""
    _patient, course, occ = one
    batch = claim_as_another_dispatcher()
    assert fresh(occ.id).status == "claimed"
    row = open_application(course, 2)
    done_at = max(utcnow(), row.due_at)
    record_application(course, 1, completed_at=course.first_application_at, now=done_at)
    record_application(course, 2, completed_at=done_at, now=done_at)
    db.session.commit()
    assert fresh(occ.id).status == "cancelled"
    dispatcher._send(sender, batch)
    stats = dispatcher._finish(batch)
    db.session.commit()
    assert push_service.received == []
    assert stats.fenced == 1 and fresh(occ.id).status == "cancelled"


def test_done_behind_the_claims_back_is_still_not_sent(one, push_service, sender):
    """Done by a path that does not cancel (a direct write): the re-check right before
    sending still finds the application done; the reminder is recorded as cancelled."""
    _patient, course, occ = one
    batch = claim_as_another_dispatcher()
    row = open_application(course, 2)
    db.session.execute(
        sa.update(PlannedApplication).where(PlannedApplication.id == row.id).values(completed_at=utcnow())
    )
    db.session.commit()
    dispatcher._send(sender, batch)
    stats = dispatcher._finish(batch)
    db.session.commit()
    assert push_service.received == []
    assert (stats.cancelled, stats.sent, stats.fenced) == (1, 0, 0)
    assert fresh(occ.id).status == "cancelled"


@pytest.mark.parametrize("outcome", ["sent", "no_subscription", "failed"])
def test_an_application_that_moves_is_reminded_again_at_its_new_time(clinic, outcome):
    """The patient missed the reminder (or had no device), then moved their reminder time:
    the reminder is armed again for the application's new time."""
    patient, course = make_patient(clinic)
    now = utcnow()
    reminders.materialise_course(course, now=now)
    db.session.commit()
    row = next(r for r in course.applications if not r.in_clinic and r.due_at > now)
    due = db.session.scalar(
        sa.select(ReminderOccurrence).where(
            ReminderOccurrence.planned_application_id == row.id, ReminderOccurrence.kind == "due"
        )
    )
    due.status, due.sent_at, due.attempts = outcome, now, 1
    db.session.commit()
    old_time = row.due_at
    new_time = dt.time(12, 30) if course.reminder_time != dt.time(12, 30) else dt.time(13, 30)
    update_settings(patient, {"reminder_time": new_time}, now=now)
    db.session.commit()
    db.session.refresh(row)
    assert row.due_at != old_time
    again = fresh(due.id)
    expected = reminders.respect_quiet_hours(row.due_at, patient)
    assert again.status == "pending" and again.due_at == expected and again.attempts == 0
    assert again.sent_at is None and again.application_due_at == row.due_at
    # Not moved again by a later pass (nothing changed).
    reminders.materialise_course(course, now=now)
    db.session.commit()
    assert fresh(due.id).status == "pending"


def test_a_sent_reminder_is_not_repeated_when_only_quiet_hours_change(clinic):
    patient, course = make_patient(clinic)
    now = utcnow()
    reminders.materialise_course(course, now=now)
    db.session.commit()
    query = sa.select(ReminderOccurrence).where(ReminderOccurrence.kind == "follow_up")
    sent = db.session.scalars(query).first()
    sent.status = "sent"
    db.session.commit()
    update_settings(patient, {"quiet_hours": {"start": dt.time(21, 0), "end": dt.time(9, 0)}}, now=now)
    db.session.commit()
    assert fresh(sent.id).status == "sent"


def make_patient(clinic):
    from support.factories import make_enrolled_patient

    return make_enrolled_patient(
        clinic,
        first_application_at=(utcnow() - dt.timedelta(days=1)).replace(microsecond=0),
        reminder_weekdays=[0, 3],
    )
