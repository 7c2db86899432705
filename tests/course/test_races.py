"""Exactly once under races and retries: parallel completions, a dead request's claim, a phone
whose clock runs fast, and the shipped protocol stored once. Real threads on the real database."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import uuid

import pytest
import requests
import sqlalchemy as sa
import time_machine
from sqlalchemy import orm as so
from support.factories import PASSWORD, make_clinic, make_enrolled_patient
from support.server import serving

from anagen.clock import utcnow
from anagen.course import courses, idempotency, protocols
from anagen.extensions import db
from anagen.models import ApplicationLog, IdempotencyRecord, PlannedApplication, ProtocolVersion
from anagen.protocol import default_protocol


def completion(at: dt.datetime) -> dict:
    return {
        "started_at": (at - dt.timedelta(minutes=12)).isoformat(),
        "completed_at": at.isoformat(),
        "steps": [{"key": "prepare", "completed_at": (at - dt.timedelta(minutes=11)).isoformat()}],
        "check_in": {"redness": "mild", "irritation": "none", "pain": 2, "notes": "fine"},
    }


def complete(api, number, body, key=None):
    return api.post(
        f"/api/me/applications/{number}/complete", body, headers={"Idempotency-Key": key or str(uuid.uuid4())}
    )


def logs() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(ApplicationLog))


def signed_in_patient(api, **kw):
    clinic, _ = make_clinic()
    patient, course = make_enrolled_patient(clinic, **kw)
    api.login(patient.email)
    return patient, course


@pytest.fixture
def live_url(app):
    """The app served by a threaded werkzeug server, so requests really run side by side."""
    with serving(app) as url:
        yield url


def hold_first_calls(monkeypatch, module, name: str, parties: int) -> None:
    """Make the first `parties` calls of module.name wait for each other, so they all pass the
    checks before any of them writes (the window a real race needs)."""
    original = getattr(module, name)
    barrier = threading.Barrier(parties)
    calls = iter(range(parties))
    lock = threading.Lock()

    def held(*args, **kwargs):
        with lock:
            first = next(calls, None) is not None
        if first:
            barrier.wait(timeout=20)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, held)


def test_parallel_completions_with_different_keys_record_once(app_ctx, live_url, monkeypatch):
    clinic, _ = make_clinic()
    email = make_enrolled_patient(clinic)[0].email
    db.session.remove()
    browser = requests.Session()
    csrf = browser.get(f"{live_url}/api/auth/session").json()["csrf_token"]
    signed_in = browser.post(
        f"{live_url}/api/auth/login",
        json={"email": email, "password": PASSWORD, "account": "patient"},
        headers={"X-CSRF-Token": csrf},
    )
    assert signed_in.status_code == 200, signed_in.text
    csrf = signed_in.json()["csrf_token"]
    cookies = browser.cookies.get_dict()
    hold_first_calls(monkeypatch, courses, "course_protocol", 4)
    body = completion(utcnow())
    answers: list = [None] * 4

    def send(n: int) -> None:
        answers[n] = requests.post(
            f"{live_url}/api/me/applications/1/complete",
            json=body,
            cookies=cookies,
            headers={"X-CSRF-Token": csrf, "Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(40)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409], [(a.status_code, a.text[:200]) for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"already_recorded"}
    assert logs() == 1


def test_a_claim_whose_request_died_is_taken_over_after_the_lease(app_ctx, api):
    patient, _ = signed_in_patient(api)
    start = utcnow().replace(microsecond=0)
    body, key = completion(start - dt.timedelta(minutes=5)), str(uuid.uuid4())
    with time_machine.travel(start, tick=False) as clock:
        # A worker claimed the key and was killed before it answered.
        db.session.add(
            IdempotencyRecord(
                scope=f"patient:{patient.id}",
                key=key,
                request_hash=idempotency.request_fingerprint("POST", "/api/me/applications/1/complete", body),
                created_at=utcnow(),
            )
        )
        db.session.commit()
        clock.shift(idempotency.CLAIM_LEASE - dt.timedelta(seconds=1))
        waiting = complete(api, 1, body, key)
        assert waiting.status_code == 409
        assert waiting.get_json()["error"]["code"] == "request_in_progress"
        clock.shift(dt.timedelta(seconds=2))
        taken_over = complete(api, 1, body, key)
        assert taken_over.status_code == 201, taken_over.get_json()
        assert complete(api, 1, body, key).get_json() == taken_over.get_json()
    assert logs() == 1


def test_a_request_that_outlived_its_lease_gives_way_to_the_one_that_took_over(app, app_ctx):
    """The slow first request does not overwrite the answer of the request that took its claim
    over, and its own work is undone: the key still has exactly one answer."""
    start = utcnow().replace(microsecond=0)
    scope, key = "patient:1", str(uuid.uuid4())
    taker: dict = {}

    def take_over() -> None:
        with app.app_context():
            try:
                taker["answer"] = idempotency.run_once(scope, key, "f", lambda: (201, {"by": "second"}))
            finally:
                db.session.remove()

    def slow_first() -> tuple[int, dict]:
        clock.shift(idempotency.CLAIM_LEASE + dt.timedelta(seconds=1))
        thread = threading.Thread(target=take_over)
        thread.start()
        thread.join(20)
        return 201, {"by": "first"}

    with time_machine.travel(start, tick=False) as clock:
        first = idempotency.run_once(scope, key, "f", slow_first)
    assert taker["answer"] == (201, {"by": "second"})
    assert first == (201, {"by": "second"})
    record = db.session.scalar(sa.select(IdempotencyRecord).where(IdempotencyRecord.key == key))
    assert (record.status_code, record.response_body) == (201, {"by": "second"})


def test_a_phone_clock_a_few_minutes_fast_is_clamped_and_said(app_ctx, api):
    signed_in_patient(api)
    now = utcnow().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        response = complete(api, 1, completion(now + dt.timedelta(minutes=4)))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["clock_adjusted"] is True
    row = db.session.scalar(sa.select(PlannedApplication).where(PlannedApplication.number == 1))
    log = db.session.scalar(sa.select(ApplicationLog))
    assert row.completed_at == now and log.completed_at == now
    # The session keeps its length: the start moves with the end.
    assert log.started_at == now - dt.timedelta(minutes=12)
    assert log.steps[0]["completed_at"] == (now - dt.timedelta(minutes=11)).isoformat()


def test_a_completion_on_time_is_not_adjusted(app_ctx, api):
    signed_in_patient(api)
    response = complete(api, 1, completion(utcnow()))
    assert response.status_code == 201
    assert response.get_json()["clock_adjusted"] is False


def test_the_openapi_document_describes_clock_adjusted(app_ctx, client):
    spec = client.get("/api/openapi.json").get_json()
    completed = spec["components"]["schemas"]["Completed"]
    assert "clock_adjusted" in completed["required"]
    assert "clock" in completed["properties"]["clock_adjusted"]["description"]


def test_a_refusal_as_in_the_future_is_not_the_keys_answer_for_ever(app_ctx, api):
    """The phone's clock was far ahead; once our time reaches the completion, the same request
    (as the outbox resends it) is recorded."""
    signed_in_patient(api)
    now = utcnow().replace(microsecond=0)
    body, key = completion(now + dt.timedelta(minutes=40)), str(uuid.uuid4())
    with time_machine.travel(now, tick=False) as clock:
        refused = complete(api, 1, body, key)
        assert refused.status_code == 422
        assert refused.get_json()["error"]["code"] == "completed_in_future"
        clock.shift(dt.timedelta(minutes=40))
        recorded = complete(api, 1, body, key)
    assert recorded.status_code == 201, recorded.get_json()
    assert logs() == 1


def test_not_next_application_is_not_the_keys_answer_for_ever(app_ctx, api):
    """Application 2 arrived before 1 (sent from another device); once 1 is in, 2's retry is recorded."""
    signed_in_patient(api)
    gap = dt.timedelta(hours=default_protocol().min_gap_hours)
    now = utcnow().replace(microsecond=0)
    second, key = completion(now + gap + dt.timedelta(hours=1)), str(uuid.uuid4())
    with time_machine.travel(now + gap + dt.timedelta(hours=1), tick=False):
        early = complete(api, 2, second, key)
        assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_next_application"
        assert complete(api, 1, completion(now)).status_code == 201
        later = complete(api, 2, second, key)
    assert later.status_code == 201, later.get_json()
    assert logs() == 2


def test_already_recorded_is_kept_as_the_keys_answer(app_ctx, api):
    signed_in_patient(api)
    body = completion(utcnow())
    assert complete(api, 1, body).status_code == 201
    key = str(uuid.uuid4())
    assert complete(api, 1, body, key).get_json()["error"]["code"] == "already_recorded"
    record = db.session.scalar(sa.select(IdempotencyRecord).where(IdempotencyRecord.key == key))
    assert record.status_code == 409


@pytest.fixture
def other_builtin(app_ctx, monkeypatch):
    """A shipped protocol not yet stored (a new version), removed again afterwards."""
    version = dataclasses.replace(default_protocol(), version=default_protocol().version + 900)
    monkeypatch.setattr(protocols, "default_protocol", lambda: version)
    yield version
    db.session.rollback()
    db.session.execute(
        sa.delete(ProtocolVersion).where(
            ProtocolVersion.clinic_id.is_(None), ProtocolVersion.version == version.version
        )
    )
    db.session.commit()


def test_the_shipped_protocol_is_stored_once_under_a_race(app, other_builtin):
    db.session.remove()
    barrier = threading.Barrier(4)

    def before_insert(session, _context, _instances):
        if any(isinstance(o, ProtocolVersion) for o in session.new):
            # A session that inserts with ON CONFLICT (no flush) never arrives: go on alone.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=3)

    ids: list = [None] * 4
    errors: list = []

    def ensure(n: int) -> None:
        with app.app_context():
            try:
                ids[n] = protocols.ensure_builtin_protocols().id
                db.session.commit()
            except Exception as error:
                errors.append(error)
            finally:
                db.session.remove()

    sa.event.listen(so.Session, "before_flush", before_insert)
    try:
        threads = [threading.Thread(target=ensure, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        sa.event.remove(so.Session, "before_flush", before_insert)
    assert errors == []
    stored = db.session.scalars(
        sa.select(ProtocolVersion.id).where(
            ProtocolVersion.clinic_id.is_(None), ProtocolVersion.version == other_builtin.version
        )
    ).all()
    assert len(stored) == 1 and set(ids) == set(stored)
