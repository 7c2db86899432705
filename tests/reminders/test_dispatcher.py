"""The dispatcher against the real local push service (tests/support/pushservice.py): no mocks of
HTTP or crypto. Each test claims, sends and checks what the push service received and
what the database recorded."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from support.reminders import add_occurrence, fresh, open_application, patient_with_device, received_payloads

from anagen.clock import utcnow
from anagen.course.courses import CheckIn, record_application
from anagen.extensions import db
from anagen.models import PlannedApplication, PushSubscription, ReminderOccurrence
from anagen.reminders import claims, dispatcher
from anagen.reminders.subscriptions import make_sender

SECRET_NOTE = "itchy-scalp-secret-note"


def subscriptions(patient_id: int) -> list[PushSubscription]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(PushSubscription).where(PushSubscription.patient_id == patient_id))
    )


@pytest.fixture
def one(clinic, push_service):
    """A patient with one device, application 1 done with a check-in full of health details,
    and one due reminder for application 2."""
    patient, course, (sub,) = patient_with_device(clinic, push_service)
    record_application(
        course,
        1,
        completed_at=course.first_application_at,
        check_in=CheckIn(redness="severe", irritation="mild", pain=7, notes=SECRET_NOTE),
    )
    # Only the reminder under test: drop the ones materialised for the coming applications.
    db.session.execute(sa.delete(ReminderOccurrence))
    db.session.commit()
    occ = add_occurrence(patient, open_application(course, 2), "due")
    return patient, course, sub, occ


def test_sent_push_decrypts_to_ids_and_short_text_only(one, push_service, sender):
    patient, course, sub, occ = one
    stats = dispatcher.dispatch_until_idle(sender)
    assert (stats.claimed, stats.sent) == (1, 1)
    row = fresh(occ.id)
    assert row.status == "sent" and row.sent_at is not None and row.lease_until is None
    assert row.attempts == 1
    (rec,) = push_service.received
    assert rec.status == 201 and rec.path == urlsplit(sub["endpoint"]).path
    assert push_service.verify_all() == {"valid": 1, "invalid": 0, "reasons": {}}
    # RFC 8030 headers: Topic (one notification per occurrence), TTL and Urgency.
    assert rec.headers["topic"] == str(occ.id)
    assert rec.headers["ttl"] == str(dispatcher.DELIVERY["due"][0])
    assert rec.headers["urgency"] == "high"
    assert rec.headers["content-encoding"] == "aes128gcm"
    assert rec.headers["authorization"].startswith("vapid t=")
    raw = push_service.decrypt(rec)
    body = json.loads(raw)
    assert set(body) == {"id", "kind", "title", "body", "url", "snooze"}
    assert body["id"] == str(occ.id) and body["kind"] == "due"
    assert body["title"] and body["body"] and body["snooze"] is True
    # No health details: nothing of the check-in, no application number, no name.
    text = raw.decode()
    for forbidden in (SECRET_NOTE, "pain", "severe", "redness", "notes", "application", patient.last_name):
        assert forbidden.lower() not in text.lower()
    assert "2" not in (body["title"] + body["body"])
    (device,) = subscriptions(patient.id)
    assert device.last_success_at is not None


def test_every_device_of_the_patient_gets_it(clinic, push_service, sender):
    patient, course, subs = patient_with_device(clinic, push_service, devices=2)
    occ = add_occurrence(patient, open_application(course), "follow_up")
    dispatcher.dispatch_until_idle(sender)
    assert fresh(occ.id).status == "sent"
    assert sorted(r.path for r in push_service.received) == sorted(urlsplit(s["endpoint"]).path for s in subs)
    assert {p["id"] for p in received_payloads(push_service)} == {str(occ.id)}
    assert {r.headers["urgency"] for r in push_service.received} == {"normal"}


def test_without_a_device_nothing_is_sent(clinic, push_service, sender):
    from support.factories import make_enrolled_patient

    patient, course = make_enrolled_patient(clinic)
    occ = add_occurrence(patient, open_application(course))
    dispatcher.dispatch_until_idle(sender)
    assert fresh(occ.id).status == "no_subscription"
    assert push_service.received == []


def test_not_yet_due_is_left_alone(one, push_service, sender):
    patient, course, _sub, occ = one
    later = add_occurrence(
        patient, open_application(course), "follow_up", due_at=utcnow() + dt.timedelta(hours=1)
    )
    dispatcher.dispatch_until_idle(sender)
    assert fresh(occ.id).status == "sent"
    assert fresh(later.id).status == "pending"
    assert len(push_service.received) == 1


@pytest.mark.parametrize("status", [404, 410])
def test_gone_subscription_is_deleted(clinic, push_service, sender, status):
    patient, course, (dead, alive) = patient_with_device(clinic, push_service, devices=2)
    occ = add_occurrence(patient, open_application(course))
    push_service.set_behaviour(dead["endpoint"], status=status)
    stats = dispatcher.dispatch_until_idle(sender)
    assert stats.gone_subscriptions == 1
    assert fresh(occ.id).status == "sent"  # the other device had it
    assert [s.endpoint for s in subscriptions(patient.id)] == [alive["endpoint"]]
    # The only device gone as well: the next reminder finds no device at all.
    push_service.set_behaviour(alive["endpoint"], status=status)
    second = add_occurrence(patient, open_application(course), "follow_up")
    dispatcher.dispatch_until_idle(sender)
    assert subscriptions(patient.id) == []
    assert fresh(second.id).status == "no_subscription"


def test_429_honours_retry_after_then_fails_after_max_attempts(one, push_service, sender):
    _patient, _course, _sub, occ = one
    push_service.set_behaviour(status=429, retry_after=120)
    now = utcnow()
    stats = dispatcher.dispatch_batch(sender, now=now)
    assert stats.retried == 1
    row = fresh(occ.id)
    assert row.status == "pending" and row.attempts == 1
    assert row.due_at >= now + dt.timedelta(seconds=120)
    assert row.last_error == "HTTP 429"
    # Not due again before Retry-After has passed.
    assert dispatcher.dispatch_batch(sender, now=now + dt.timedelta(seconds=119)).claimed == 0
    for attempt in range(2, dispatcher.MAX_ATTEMPTS + 1):
        previous = row.due_at
        stats = dispatcher.dispatch_batch(sender, now=previous)
        assert stats.claimed == 1
        row = fresh(occ.id)
        assert row.attempts == attempt
        if attempt < dispatcher.MAX_ATTEMPTS:
            assert row.status == "pending" and row.due_at >= previous + dt.timedelta(seconds=120)
    assert row.status == "failed" and "429" in row.last_error
    assert len(push_service.received) == dispatcher.MAX_ATTEMPTS
    assert dispatcher.dispatch_batch(sender, now=row.due_at + dt.timedelta(days=1)).claimed == 0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_is_retried_with_backoff_then_sent(one, push_service, sender, status):
    _patient, _course, _sub, occ = one
    push_service.set_behaviour(status=status, times=1)
    now = utcnow()
    assert dispatcher.dispatch_batch(sender, now=now).retried == 1
    row = fresh(occ.id)
    assert row.status == "pending" and row.attempts == 1 and row.due_at > now
    assert row.last_error == f"HTTP {status}"
    assert dispatcher.dispatch_batch(sender, now=row.due_at).sent == 1
    row = fresh(occ.id)
    assert row.status == "sent" and row.attempts == 2
    assert [r.status for r in push_service.received] == [status, 201]
    assert len({r.headers["topic"] for r in push_service.received}) == 1  # the retry replaces, not adds


def test_a_hanging_push_service_times_out_and_is_retried(one, push_service, push_app):
    """A request past its deadline is retried later; meanwhile its origin is paused (its
    messages come back at once instead of hanging every batch), then it is sent."""
    _patient, _course, _sub, occ = one
    push_service.set_behaviour(hang_seconds=2.0, times=1)
    with make_sender(push_app, timeout=(1.0, 0.3), pause_after_timeout=0.5) as quick:
        now = utcnow()
        assert dispatcher.dispatch_batch(quick, now=now).retried == 1
        row = fresh(occ.id)
        assert row.status == "pending" and row.attempts == 1 and row.due_at > now
        assert "timeout" in row.last_error
        assert dispatcher.dispatch_batch(quick, now=row.due_at).retried == 1  # paused: not tried
        assert len(push_service.received) == 1
        time.sleep(0.6)
        row = fresh(occ.id)
        assert row.last_error == "origin paused"
        assert dispatcher.dispatch_batch(quick, now=row.due_at).sent == 1
    assert fresh(occ.id).status == "sent"
    assert len(push_service.received) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_configuration_errors_fail_with_a_reason_and_an_error_log(one, push_service, sender, caplog, status):
    _patient, _course, sub, occ = one
    push_service.set_behaviour(status=status)
    caplog.set_level(logging.INFO)
    stats = dispatcher.dispatch_until_idle(sender)
    assert stats.failed == 1
    row = fresh(occ.id)
    assert row.status == "failed" and row.last_error == f"HTTP {status}"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and f"status={status}" in errors[0].getMessage()
    assert f"occurrence={occ.id}" in errors[0].getMessage()
    # Nothing of the capability URL, keys or payload in any log line.
    secret_path = urlsplit(sub["endpoint"]).path
    for record in caplog.records:
        message = record.getMessage()
        for secret in (secret_path, sub["keys"]["p256dh"], sub["keys"]["auth"], dispatcher.TEXTS["due"][1]):
            assert secret not in message
    # A configuration error is not retried.
    assert dispatcher.dispatch_batch(sender, now=utcnow() + dt.timedelta(days=1)).claimed == 0
    assert len(push_service.received) == 1


def test_expired_lease_is_reclaimed_but_a_live_one_is_not(one, push_service, sender):
    patient, course, _sub, occ = one
    now = utcnow()
    row = fresh(occ.id)
    row.status, row.lease_until, row.attempts = "claimed", now - dt.timedelta(seconds=1), 1
    live = add_occurrence(
        patient,
        open_application(course),
        "follow_up",
        status="claimed",
        lease_until=now + dt.timedelta(minutes=1),
        attempts=1,
    )
    stats = dispatcher.dispatch_until_idle(sender)
    assert stats.sent == 1
    assert (fresh(occ.id).status, fresh(occ.id).attempts) == ("sent", 2)
    assert fresh(live.id).status == "claimed"
    assert [p["id"] for p in received_payloads(push_service)] == [str(occ.id)]


def test_claim_sets_a_lease_from_the_config(one, push_app):
    _patient, _course, _sub, occ = one
    saved = push_app.config.get("DISPATCH_LEASE_SECONDS")
    push_app.config["DISPATCH_LEASE_SECONDS"] = 7
    try:
        now = utcnow()
        assert claims.claim(10, now) == [occ.id]
    finally:
        push_app.config["DISPATCH_LEASE_SECONDS"] = saved
    row = fresh(occ.id)
    assert row.status == "claimed" and row.lease_until == now + dt.timedelta(seconds=7)
    assert claims.claim(10, now + dt.timedelta(seconds=6)) == []
    assert claims.claim(10, now + dt.timedelta(seconds=8)) == [occ.id]


def test_completed_after_claim_is_cancelled_not_sent(one, push_service, sender):
    """A dispatcher claimed the reminders and died; the patient then did the application,
    which cancels them, claimed or not (the snoozed copy included). The next dispatcher
    finds nothing to send."""
    patient, course, _sub, occ = one
    row = open_application(course, 2)
    snoozed = add_occurrence(patient, row, "due", seq=1)
    # (A lease of a millisecond: it has run out by the time the next dispatcher looks.)
    assert claims.claim(10, lease=dt.timedelta(milliseconds=1)) == [occ.id, snoozed.id]
    done_at = max(utcnow(), row.due_at)
    record_application(course, 2, completed_at=done_at, now=done_at)
    db.session.commit()
    assert fresh(occ.id).status == "cancelled" and fresh(snoozed.id).status == "cancelled"
    assert fresh(occ.id).lease_until is None  # the claim is fenced out
    stats = dispatcher.dispatch_until_idle(sender)
    assert stats.claimed == 0
    assert fresh(occ.id).status == "cancelled" and fresh(snoozed.id).status == "cancelled"
    assert push_service.received == []


def test_done_application_is_cancelled_while_the_rest_of_the_batch_is_sent(one, clinic, push_service, sender):
    """The re-check is per occurrence: in one batch, the done application's reminder is
    cancelled, another patient's reminder and a test notification go out."""
    patient, course, _sub, occ = one
    other_patient, other_course, _subs = patient_with_device(clinic, push_service)
    other = add_occurrence(other_patient, open_application(other_course, 2), "due")
    test = add_occurrence(patient, None, "test")
    row = open_application(course, 2)
    db.session.execute(
        sa.update(PlannedApplication).where(PlannedApplication.id == row.id).values(completed_at=utcnow())
    )
    db.session.commit()
    stats = dispatcher.dispatch_batch(sender)
    assert (stats.claimed, stats.cancelled, stats.sent) == (3, 1, 2)
    assert fresh(occ.id).status == "cancelled"
    assert {p["id"] for p in received_payloads(push_service)} == {str(other.id), str(test.id)}


def test_reminders_not_tied_to_the_application_survive_its_completion(one, push_service, sender):
    patient, course, _sub, _occ = one
    row = open_application(course, 2)
    photos = add_occurrence(patient, row, "checkpoint")
    done_at = max(utcnow(), row.due_at)
    record_application(course, 2, completed_at=done_at, now=done_at)
    db.session.commit()
    dispatcher.dispatch_until_idle(sender)
    assert fresh(photos.id).status == "sent"
    assert [(p["id"], p["kind"], p["url"]) for p in received_payloads(push_service)] == [
        (str(photos.id), "checkpoint", "/#/photos")
    ]


def test_a_backlog_larger_than_a_batch_is_sent_in_one_go(clinic, push_service, sender):
    from support.reminders import bulk_occurrences

    courses = [patient_with_device(clinic, push_service)[1] for _ in range(3)]
    ids = bulk_occurrences(courses, 120)
    stats = dispatcher.dispatch_until_idle(sender, batch_size=50)
    assert (stats.claimed, stats.sent) == (120, 120)
    assert sorted(int(p["id"]) for p in received_payloads(push_service)) == sorted(ids)
    statuses = db.session.scalars(sa.select(ReminderOccurrence.status).distinct()).all()
    assert statuses == ["sent"]


def test_sender_worker_processes_deliver_the_same(clinic, push_service, push_app):
    """`PUSH_SENDER_PROCESSES` > 0 (the dispatcher process's default on 2+ cores): encryption
    and HTTP in worker processes, with the same outcomes and the same bookkeeping."""
    from support.reminders import bulk_occurrences

    patients = [patient_with_device(clinic, push_service) for _ in range(3)]
    ids = bulk_occurrences([course for _p, course, _s in patients], 90)
    dead = patients[0][2][0]
    push_service.set_behaviour(dead["endpoint"], status=410)
    to_dead = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ReminderOccurrence)
        .where(ReminderOccurrence.patient_id == patients[0][0].id)
    )
    with make_sender(push_app, processes=2, timeout=(1.0, 2.0)) as workers:
        stats = dispatcher.dispatch_until_idle(workers, batch_size=40)
        assert (stats.claimed, stats.sent) == (90, 90 - to_dead)
        # (A batch prepared while the previous one was sending may try the gone device once more.)
        assert stats.gone_subscriptions >= 1
        assert subscriptions(patients[0][0].id) == []
        # Only plain data crosses to the workers, so none of them loads the database layer (a
        # model enum in the payload made each import SQLAlchemy and the models on its first
        # batch: ~0.25 s of CPU per worker). Seen from outside: its mapped libraries.
        for pid in workers._executor._processes:
            assert "sqlalchemy" not in Path(f"/proc/{pid}/maps").read_text()
        statuses = dict(
            db.session.execute(
                sa.select(ReminderOccurrence.status, sa.func.count()).group_by(ReminderOccurrence.status)
            ).all()
        )
        assert statuses == {"sent": 90 - to_dead, "no_subscription": to_dead}
        assert sorted(int(p["id"]) for p in received_payloads(push_service)) == sorted(
            i for i in ids if fresh(i).status == "sent"
        )
        # One message alone, and a 500 that is retried.
        push_service.set_behaviour(status=500, times=1)
        occ = add_occurrence(patients[1][0], open_application(patients[1][1], 3), "follow_up")
        assert dispatcher.dispatch_batch(workers).retried == 1
        assert fresh(occ.id).status == "pending"
    assert push_service.verify_all()["invalid"] == 0


def test_a_dead_sender_worker_is_replaced_and_its_batch_sent_again(one, push_service, push_app):
    _patient, _course, _sub, occ = one
    saved = push_app.config.get("DISPATCH_LEASE_SECONDS")
    # A short lease, so the dead worker's claim runs out within the test; long enough that the
    # retry's batch deadline (half the lease) also covers starting the replacement worker on a
    # busy machine.
    lease = 4.0
    push_app.config["DISPATCH_LEASE_SECONDS"] = lease
    try:
        with make_sender(push_app, processes=1, timeout=(1.0, 2.0)) as workers:
            (proc,) = workers._executor._processes.values()
            proc.kill()
            proc.join(5)
            with pytest.raises(RuntimeError, match="worker died"):
                dispatcher.dispatch_until_idle(workers)
            db.session.rollback()
            assert fresh(occ.id).status == "claimed"  # left to its lease
            assert push_service.received == []
            time.sleep(lease + 0.1)
            stats = dispatcher.dispatch_until_idle(workers)  # on the replacement worker
            assert stats.sent == 1
    finally:
        push_app.config["DISPATCH_LEASE_SECONDS"] = saved
    assert fresh(occ.id).status == "sent"
    assert [p["id"] for p in received_payloads(push_service)] == [str(occ.id)]


def test_a_lane_that_comes_back_first_is_refilled_while_an_older_batch_still_sends(
    clinic, push_service, sender
):
    """Two lanes; the first batch hangs at its push service. The second batch comes back, and
    its lane gets the third batch at once (waiting for the oldest batch left it idle)."""
    import threading

    from support.reminders import bulk_occurrences

    courses = [patient_with_device(clinic, push_service)[1] for _ in range(3)]
    bulk_occurrences(courses, 30)
    release = threading.Event()
    third_sent = threading.Event()
    calls = []
    released = []

    class TwoLanes:
        parallelism = 2

        def send_many(self, msgs, timeout=None):
            calls.append(len(msgs))
            if len(calls) == 1:
                # The oldest batch: back only once the third batch was sent (or not at all in time).
                released.append(release.wait(5))
            elif len(calls) == 3:
                third_sent.set()
            return sender.send_many(msgs, timeout)

    def release_once_third_sent():
        if third_sent.wait(5):
            release.set()

    watcher = threading.Thread(target=release_once_third_sent)
    watcher.start()
    stats = dispatcher.dispatch_until_idle(TwoLanes(), batch_size=10)
    watcher.join()
    assert released == [True], "the third batch waited for the oldest one"
    assert calls == [10, 10, 10]
    assert (stats.claimed, stats.sent) == (30, 30)
