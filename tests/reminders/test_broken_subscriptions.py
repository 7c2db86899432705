"""A subscription the push service keeps refusing as misconfigured is marked failed and no
longer sent to (issue 10, item 4); the patient's subscription answer shows it."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from support.reminders import add_occurrence, fresh, open_application, patient_with_device

from anagen.extensions import db
from anagen.models import PushSubscription, ReminderOccurrence
from anagen.models.push import BROKEN_AFTER_REFUSALS
from anagen.reminders import dispatcher
from anagen.reminders import subscriptions as push


def device(endpoint: str) -> PushSubscription:
    db.session.expire_all()
    return db.session.scalar(sa.select(PushSubscription).where(PushSubscription.endpoint == endpoint))


@pytest.fixture
def patient(clinic, push_service):
    patient, course, (sub,) = patient_with_device(clinic, push_service)
    db.session.execute(sa.delete(ReminderOccurrence))
    db.session.commit()
    return patient, course, sub


def remind(patient, course, number: int, kind: str = "due"):
    return add_occurrence(patient, open_application(course, number), kind)


@pytest.mark.parametrize("status", [400, 401, 403])
def test_consecutive_refusals_mark_the_subscription_failed(patient, push_service, sender, caplog, status):
    patient, course, sub = patient
    push_service.set_behaviour(status=status)
    caplog.set_level(logging.INFO)
    for n in range(BROKEN_AFTER_REFUSALS):
        remind(patient, course, 2 + n)
        stats = dispatcher.dispatch_until_idle(sender)
        assert stats.failed == 1
    row = device(sub["endpoint"])
    assert row.failed_at is not None and row.state == "failed" and row.failure == f"HTTP {status}"
    assert stats.broken_subscriptions == 1
    assert len(push_service.received) == BROKEN_AFTER_REFUSALS
    # No longer sent to, and no error logged for it any more: the reminder has no device.
    caplog.clear()
    later = remind(patient, course, 2 + BROKEN_AFTER_REFUSALS)
    assert dispatcher.dispatch_until_idle(sender).no_subscription == 1
    assert fresh(later.id).status == "no_subscription"
    assert len(push_service.received) == BROKEN_AFTER_REFUSALS
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # The patient's app sees it as failed when it saves the subscription again...
    same = push.save_subscription(patient, sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"], "ua")
    db.session.commit()
    assert (same.created, same.state) == (False, "failed")
    # ...and a new subscription (new keys) starts afresh.
    renewed = push_service.new_subscription()["keys"]
    again = push.save_subscription(patient, sub["endpoint"], renewed["p256dh"], renewed["auth"], "ua")
    db.session.commit()
    assert again.state == "active" and device(sub["endpoint"]).refusals == 0


def test_a_success_in_between_resets_the_count(patient, push_service, sender):
    patient, course, sub = patient
    for n in range(BROKEN_AFTER_REFUSALS * 2):
        push_service.set_behaviour(status=403 if n % BROKEN_AFTER_REFUSALS else 201)
        remind(patient, course, 2 + n)
        dispatcher.dispatch_until_idle(sender)
    row = device(sub["endpoint"])
    assert row.failed_at is None and row.refusals == BROKEN_AFTER_REFUSALS - 1


def test_other_refusals_do_not_count(patient, push_service, sender):
    """413 (this message too large) or 429/5xx (the moment) say nothing about the subscription."""
    patient, course, sub = patient
    push_service.set_behaviour(status=413)
    for n in range(BROKEN_AFTER_REFUSALS + 1):
        remind(patient, course, 2 + n)
        dispatcher.dispatch_until_idle(sender)
    row = device(sub["endpoint"])
    assert row.failed_at is None and row.refusals == 0


def test_the_subscription_answer_shows_the_failed_state(patient, push_service, make_api):
    patient, _course, sub = patient
    db.session.execute(
        sa.update(PushSubscription)
        .where(PushSubscription.endpoint == sub["endpoint"])
        .values(failed_at=sa.func.current_timestamp(), refusals=BROKEN_AFTER_REFUSALS)
    )
    db.session.commit()
    api = make_api()
    api.login(patient.email)
    response = api.request("PUT", "/api/me/push-subscriptions", json=sub)
    assert response.status_code == 200
    assert response.get_json() == {"created": False, "state": "failed"}
