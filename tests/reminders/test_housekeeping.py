"""The dispatcher's daily purges, and materialising in batches (issue 10, item 7)."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

import pytest
import sqlalchemy as sa
from support.factories import make_enrolled_patient
from support.queries import count_queries
from support.reminders import add_occurrence, open_application

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import IdempotencyRecord, Invite, Patient, ReminderOccurrence, UserSession
from anagen.reminders import housekeeping, loop
from anagen.reminders import occurrences as reminders

DAY = dt.timedelta(days=1)
STAFF = housekeeping.SessionLimits(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=12))
PATIENT = housekeeping.SessionLimits(idle=dt.timedelta(days=30), absolute=dt.timedelta(days=120))


def session(kind: str, *, created: dt.datetime, seen: dt.datetime, revoked: dt.datetime | None = None) -> int:
    row = UserSession(
        token_hash=secrets.token_hex(32),
        user_type=kind,
        user_id=1,
        created_at=created,
        last_seen_at=seen,
        reauth_at=created,
        revoked_at=revoked,
    )
    db.session.add(row)
    db.session.flush()
    return row.id


def ids(model) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(model.id)))


def test_ended_sessions_are_purged_and_live_ones_kept(app_ctx):
    now = utcnow()
    live_staff = session("staff", created=now - dt.timedelta(hours=2), seen=now - dt.timedelta(minutes=5))
    live_patient = session("patient", created=now - 100 * DAY, seen=now - 2 * DAY)
    just_ended = session("staff", created=now - dt.timedelta(hours=2), seen=now - dt.timedelta(hours=1))
    session("staff", created=now - 3 * DAY, seen=now - 2 * DAY)  # idle, a day past the grace
    session("staff", created=now - 2 * DAY, seen=now - dt.timedelta(minutes=1))  # past 12 h (+ grace)
    session("patient", created=now - 40 * DAY, seen=now - 32 * DAY)  # idle 30 days
    session("patient", created=now - 122 * DAY, seen=now - DAY)  # past 120 days
    session("patient", created=now - 5 * DAY, seen=now - DAY, revoked=now - 2 * DAY)  # signed out
    recently_revoked = session(
        "patient", created=now - 5 * DAY, seen=now, revoked=now - dt.timedelta(hours=2)
    )
    db.session.commit()
    assert housekeeping.purge_ended_sessions(now, STAFF, PATIENT) == 5
    db.session.commit()
    assert ids(UserSession) == {live_staff, live_patient, just_ended, recently_revoked}


def test_old_idempotency_records_are_purged(app_ctx):
    now = utcnow()
    for age, key in ((31, "old"), (29, "recent"), (0, "new")):
        db.session.add(
            IdempotencyRecord(scope="patient:1", key=key, request_hash="h", created_at=now - age * DAY)
        )
    db.session.commit()
    assert housekeeping.purge_idempotency_records(now) == 1
    db.session.commit()
    assert sorted(db.session.scalars(sa.select(IdempotencyRecord.key))) == ["new", "recent"]


def test_used_revoked_and_expired_invites_are_purged_after_a_while(clinic):
    patient, _course = make_enrolled_patient(clinic)
    db.session.execute(sa.delete(Invite))
    now = utcnow()

    def invite(**values) -> int:
        row = Invite(
            patient_id=patient.id,
            token_hash=secrets.token_hex(32),
            expires_at=values.pop("expires_at", now + 7 * DAY),
            **values,
        )
        db.session.add(row)
        db.session.flush()
        return row.id

    usable = invite()
    used_recently = invite(used_at=now - 2 * DAY)
    expired_recently = invite(expires_at=now - 2 * DAY)
    invite(used_at=now - 31 * DAY)
    invite(revoked_at=now - 31 * DAY)
    invite(expires_at=now - 31 * DAY)
    db.session.commit()
    assert housekeeping.purge_invites(now) == 3
    db.session.commit()
    assert ids(Invite) == {usable, used_recently, expired_recently}


def test_old_settled_reminders_are_purged_but_pending_ones_kept(clinic):
    patient, course = make_enrolled_patient(clinic)
    db.session.execute(sa.delete(ReminderOccurrence))
    now = utcnow()
    row = open_application(course, 2)
    old_sent = add_occurrence(
        patient, row, "due", status="sent", due_at=now - 100 * DAY, sent_at=now - 95 * DAY
    )
    add_occurrence(patient, row, "due", seq=1, status="cancelled", due_at=now - 91 * DAY)
    recent = add_occurrence(
        patient, row, "due", seq=2, status="sent", due_at=now - 10 * DAY, sent_at=now - 9 * DAY
    )
    waiting = add_occurrence(patient, row, "due", seq=3, status="pending", due_at=now - 100 * DAY)
    assert old_sent.id
    assert housekeeping.purge_reminders(now) == 2
    db.session.commit()
    assert ids(ReminderOccurrence) == {recent.id, waiting.id}


def test_the_dispatcher_s_daily_job_runs_every_purge(push_app, caplog):
    now = utcnow()
    db.session.add(IdempotencyRecord(scope="patient:1", key="k", request_hash="h", created_at=now - 60 * DAY))
    session("staff", created=now - 3 * DAY, seen=now - 3 * DAY)
    db.session.commit()
    caplog.set_level(logging.INFO)
    counts = loop.purge(push_app, now)
    assert counts == {"sessions": 1, "idempotency_records": 1, "invites": 0, "reminders": 0}
    assert ids(IdempotencyRecord) == set() and ids(UserSession) == set()
    assert any("purged: sessions=1" in r.getMessage() for r in caplog.records)


# -- materialising in batches ----------------------------------------------------------------


def fresh_courses(clinic, n: int) -> None:
    for _ in range(n):
        make_enrolled_patient(clinic)
    db.session.execute(sa.delete(ReminderOccurrence))
    db.session.commit()
    db.session.expire_all()


def test_a_batch_of_courses_costs_the_same_queries_as_one_course(push_app, clinic):
    fresh_courses(clinic, 1)
    one = count_queries(lambda: reminders.materialise_all(batch_size=10))
    made_one = db.session.scalar(sa.select(sa.func.count()).select_from(ReminderOccurrence))
    db.session.execute(sa.delete(ReminderOccurrence))
    db.session.commit()
    fresh_courses(clinic, 9)  # 10 courses now: still one batch
    ten = count_queries(lambda: reminders.materialise_all(batch_size=10))
    assert ten == one
    made_ten = db.session.scalar(sa.select(sa.func.count()).select_from(ReminderOccurrence))
    assert made_one > 0 and made_ten == 10 * made_one
    # Two batches: twice the per-batch queries, plus the one that lists the courses.
    db.session.execute(sa.delete(ReminderOccurrence))
    db.session.commit()
    db.session.expire_all()
    two = count_queries(lambda: reminders.materialise_all(batch_size=5))
    assert two == 2 * (one - 1) + 1


def test_a_bad_course_is_logged_and_skipped(push_app, clinic, caplog):
    fresh_courses(clinic, 3)
    bad_patient_id = db.session.scalars(sa.select(Patient.id).order_by(Patient.id)).all()[1]
    # A zone the database holds but the zone database does not know (a bad import, say).
    db.session.execute(
        sa.update(Patient).where(Patient.id == bad_patient_id).values(time_zone="Mars/Olympus")
    )
    db.session.commit()
    caplog.set_level(logging.ERROR)
    created = reminders.materialise_all(batch_size=2)
    db.session.commit()
    patients = set(db.session.scalars(sa.select(ReminderOccurrence.patient_id).distinct()))
    assert created > 0 and len(patients) == 2 and bad_patient_id not in patients
    (record,) = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert record.levelno == logging.ERROR


@pytest.fixture(autouse=True)
def _app_context(push_app):
    """Every test here works in the app's context."""
    yield
