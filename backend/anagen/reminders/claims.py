"""The dispatcher's SQL: claiming a batch of due reminders, and the statements that record it.

On PostgreSQL several dispatchers can run side by side: claims use FOR UPDATE SKIP LOCKED
and a lease, so each occurrence goes to one of them; a dispatcher that dies mid-batch leaves
leases that expire and are claimed again. On PostgreSQL one statement claims a batch and
returns, with each occurrence, whether its application is done (the re-check: nothing goes
out for an application already done) and its patient's devices.

The lease is also the claim's fencing token. A claim sets `lease_until = now + lease` for the
whole batch, and a row can only be claimed again once `now > lease_until`, so every new claim
of a row has a larger `lease_until` than the one before. Every write that records an outcome
requires `status = 'claimed' AND lease_until = <the batch's token>`: a dispatcher whose lease
ran out (the row re-claimed by another, cancelled because the application was done, or moved
because the application moved) changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import ARRAY

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import Course, Patient, PlannedApplication, PushSubscription, ReminderOccurrence
from anagen.models.push import BROKEN_AFTER_REFUSALS

# Core tables: the hot path reads and writes plain rows, never ORM objects (no identity map,
# no per-object state, no session synchronisation of bulk updates).
_OCC = ReminderOccurrence.__table__
_SUB = PushSubscription.__table__
_APP = PlannedApplication.__table__
_COURSE = Course.__table__
_PATIENT = Patient.__table__

DONE_CANCELS = ("due", "follow_up", "missed")


@dataclass(slots=True)
class Claimed:
    """One claimed occurrence, with what sending it needs."""

    id: int
    patient_id: int
    planned_application_id: int | None
    kind: str
    attempts: int
    done: bool = False  # its application was done when it was claimed
    # What an application reminder's text depends on (loaded with the claim): its
    # application's due time and its patient's zone.
    due_at: dt.datetime | None = None
    time_zone: str | None = None


@dataclass(slots=True)
class Device:
    id: int
    endpoint: str
    p256dh: str
    auth: str


def lease_duration() -> dt.timedelta:
    """How long a claim holds: `DISPATCH_LEASE_SECONDS` (config.py holds its one default).
    Longer than a batch takes to send, or a slow batch is claimed (and sent) twice."""
    return dt.timedelta(seconds=float(current_app.config["DISPATCH_LEASE_SECONDS"]))


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def ids_param(values) -> list[int]:
    """The value for an id-list (`ids`) parameter: a list, bound on PostgreSQL as one integer
    array. The array reaches the planner as a constant, which PostgreSQL hashes for `= ANY`;
    a text literal cast to int[] (how it was passed before) is an I/O coercion the planner
    cannot fold, and each claimed row was compared with the whole list (recording a batch of
    500 while 2,000 others were claimed took 33 ms instead of 7)."""
    return [int(v) for v in values]


def _in_ids(column, name: str, postgres: bool):
    """`column IN (:name)` for a list of integer ids given by `ids_param`."""
    if postgres:
        return column == sa.any_(sa.bindparam(name, type_=ARRAY(sa.Integer)))
    return column.in_(sa.bindparam(name, expanding=True))


def _in(column, values):
    """`column IN values` for integer ids (a statement built per call)."""
    values = list(values)
    return _in_ids(column, "ids", is_postgres()).params(ids=ids_param(values))


def _held(postgres: bool, token_name: str = "token"):  # noqa: S107 (a bind parameter name)
    """The fence: the row is still claimed under this batch's token."""
    return sa.and_(_OCC.c.status == "claimed", _OCC.c.lease_until == sa.bindparam(token_name))


@functools.cache
def finish_statements(postgres: bool) -> dict:
    """The statements that record a batch, built once per dialect; each is fenced by the
    batch's claim (parameter `token`, or `b_token` in the per-row ones), so their row counts
    say how much of the batch the claim still held."""
    return {
        "finished": sa.update(_OCC)
        .where(_in_ids(_OCC.c.id, "ids", postgres), _held(postgres))
        .values(status=sa.bindparam("status"), lease_until=None, sent_at=sa.bindparam("sent_at")),
        "retry": sa.update(_OCC)
        .where(_OCC.c.id == sa.bindparam("b_id"), _held(postgres, "b_token"))
        .values(
            status="pending",
            lease_until=None,
            due_at=sa.bindparam("b_due"),
            last_error=sa.bindparam("b_error"),
        ),
        "failed": sa.update(_OCC)
        .where(_OCC.c.id == sa.bindparam("b_id"), _held(postgres, "b_token"))
        .values(status="failed", lease_until=None, last_error=sa.bindparam("b_error")),
        # At most one write per device and hour: a busy device is not rewritten every batch
        # (unless it has refusals to forget: they count only in a row).
        "delivered": sa.update(_SUB)
        .where(
            _in_ids(_SUB.c.id, "ids", postgres),
            sa.or_(
                _SUB.c.last_success_at.is_(None),
                _SUB.c.last_success_at < sa.bindparam("hour_ago"),
                _SUB.c.refusals > 0,
            ),
        )
        .values(last_success_at=sa.bindparam("now"), refusals=0, failure=None),
        # Refused as misconfigured (400/401/403): counted; failed once they keep coming.
        "refused": sa.update(_SUB)
        .where(_SUB.c.id == sa.bindparam("b_id"))
        .values(
            refusals=_SUB.c.refusals + sa.bindparam("b_count", type_=sa.Integer),
            failure=sa.bindparam("b_reason"),
            failed_at=sa.case(
                (
                    _SUB.c.refusals + sa.bindparam("b_count", type_=sa.Integer) >= BROKEN_AFTER_REFUSALS,
                    sa.func.coalesce(_SUB.c.failed_at, sa.bindparam("b_now")),
                ),
                else_=_SUB.c.failed_at,
            ),
        )
        .returning(_SUB.c.id, _SUB.c.failed_at),
        "gone": sa.delete(_SUB).where(_in_ids(_SUB.c.id, "ids", postgres)),
    }


@functools.cache
def _wanted_select(postgres: bool):
    """Of a batch's rows, those still to send: still held under its token, and (for an
    application reminder) the application not done."""
    return (
        sa.select(_OCC.c.id)
        .select_from(_OCC.outerjoin(_APP, _APP.c.id == _OCC.c.planned_application_id))
        .where(
            _in_ids(_OCC.c.id, "ids", postgres),
            _held(postgres),
            sa.or_(_OCC.c.kind.not_in(DONE_CANCELS), _APP.c.completed_at.is_(None)),
        )
    )


def still_wanted(ids, token: dt.datetime) -> set[int]:
    """The ids, of these claimed under `token`, that should still go out now (the re-check
    right before sending: a claim taken over, or an application done since, sends nothing)."""
    if not ids:
        return set()
    return set(db.session.scalars(_wanted_select(is_postgres()), {"ids": ids_param(ids), "token": token}))


def relaxed_commit() -> None:
    """On PostgreSQL, this transaction's commit need not wait for the WAL flush.

    Safe for the dispatcher's own bookkeeping: a commit lost in a database crash leaves
    a claim unmade (the row is claimed again) or an outcome unrecorded (the lease runs out
    and it is sent again) - a possible repeat, which the notification tag absorbs, never a
    lost reminder. It saves a disk flush per batch."""
    if is_postgres():
        db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))


# -- claiming --------------------------------------------------------------------------------


def _claim_update(condition, name: str):
    """WITH due AS MATERIALIZED (SELECT ... LIMIT :lim FOR UPDATE SKIP LOCKED) UPDATE ... SET
    status='claimed' WHERE id IN (SELECT id FROM due) RETURNING the claimed rows. On PostgreSQL
    concurrent dispatchers take disjoint rows; on SQLite the single UPDATE is atomic (writes
    are serialised). Parameters: now, lease_until, lim.

    The selection is a materialised CTE, run once: as a plain `IN (SELECT ... LIMIT ...)`
    PostgreSQL may plan it as the inner side of a nested loop and rescan it per row, and each
    rescan skips the rows the statement has just claimed (SKIP LOCKED), so one claim took the
    whole backlog (tests/reminders/test_races.py)."""
    due = (
        sa.select(_OCC.c.id)
        .where(condition)
        .order_by(_OCC.c.status, _OCC.c.due_at)  # the (status, due_at) index's order: no sort
        .limit(sa.bindparam("lim", type_=sa.Integer))
        .with_for_update(skip_locked=True)
        .cte(name)
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return (
        sa.update(_OCC)
        .where(_OCC.c.id.in_(sa.select(due.c.id)))
        .values(status="claimed", lease_until=sa.bindparam("lease_until"), attempts=_OCC.c.attempts + 1)
        .returning(_OCC.c.id, _OCC.c.patient_id, _OCC.c.planned_application_id, _OCC.c.kind, _OCC.c.attempts)
    )


# Leases that ran out (their dispatcher died) first, then pending rows by due time: two
# range scans of the (status, due_at) index that stop after n rows, where one OR of the
# two made the database read and sort every due row on every claim. The statements are
# built once (and so compiled once).
@functools.cache
def _claim_expired():
    return _claim_update(
        sa.and_(_OCC.c.status == "claimed", _OCC.c.lease_until < sa.bindparam("now")), "due_expired"
    )


@functools.cache
def _claim_pending():
    return _claim_update(
        sa.and_(_OCC.c.status == "pending", _OCC.c.due_at <= sa.bindparam("now")), "due_pending"
    )


@functools.cache
def _claim_and_load():
    """PostgreSQL: both claims as data-modifying CTEs in one statement, joined with the
    application (done yet? due when?), the patient (time zone) and the patient's devices:
    a batch in one round trip."""
    expired = _claim_expired().cte("expired")
    pending = _claim_pending().cte("pending")
    rows = sa.union_all(sa.select(expired), sa.select(pending)).subquery("claimed")
    return (
        sa.select(
            rows.c.id,
            rows.c.patient_id,
            rows.c.planned_application_id,
            rows.c.kind,
            rows.c.attempts,
            _APP.c.completed_at.is_not(None).label("done"),
            _APP.c.due_at,
            _PATIENT.c.time_zone,
            _SUB.c.id.label("sub_id"),
            _SUB.c.endpoint,
            _SUB.c.p256dh,
            _SUB.c.auth,
        )
        .select_from(
            rows.join(_PATIENT, _PATIENT.c.id == rows.c.patient_id)
            .outerjoin(_APP, _APP.c.id == rows.c.planned_application_id)
            .outerjoin(_SUB, sa.and_(_SUB.c.patient_id == rows.c.patient_id, _SUB.c.failed_at.is_(None)))
        )
        .order_by(rows.c.id, _SUB.c.id)
    )


def _claim_both(batch_size: int, now: dt.datetime, lease: dt.timedelta) -> list:
    params = {"now": now, "lease_until": now + lease, "lim": batch_size}
    rows = db.session.execute(_claim_expired(), params).all()
    if len(rows) < batch_size:
        rows += db.session.execute(_claim_pending(), {**params, "lim": batch_size - len(rows)}).all()
    return rows


def claim_rows(batch_size: int, now: dt.datetime | None = None, lease: dt.timedelta | None = None):
    """Claim up to `batch_size` due occurrences (expired leases first) and commit; return
    their rows (id, patient_id, planned_application_id, kind, attempts)."""
    now = now or utcnow()
    relaxed_commit()
    rows = _claim_both(batch_size, now, lease or lease_duration())
    db.session.commit()
    return rows


def claim(batch_size: int, now: dt.datetime | None = None, lease: dt.timedelta | None = None) -> list[int]:
    """Claim up to `batch_size` due occurrences (and expired leases); their ids, by due time."""
    return sorted(row.id for row in claim_rows(batch_size, now, lease))


def claim_batch(
    batch_size: int, now: dt.datetime, lease: dt.timedelta | None = None
) -> tuple[int, list[Claimed], list[Claimed], dict]:
    """Claim a batch in the current transaction (the caller commits) and load what sending
    needs: (claimed count, live, cancelled, patient id -> devices). The batch's fencing
    token is `now + lease`."""
    lease = lease or lease_duration()
    claimed: dict[int, Claimed] = {}
    devices: dict[int, list[Device]] = defaultdict(list)
    if is_postgres():
        params = {"now": now, "lease_until": now + lease, "lim": batch_size}
        seen_subs: set[int] = set()
        for (
            oid,
            patient_id,
            app_id,
            kind,
            attempts,
            done,
            due_at,
            time_zone,
            sub_id,
            endpoint,
            p256dh,
            auth,
        ) in db.session.execute(_claim_and_load(), params).all():
            if oid not in claimed:
                claimed[oid] = Claimed(oid, patient_id, app_id, kind, attempts, bool(done), due_at, time_zone)
            if sub_id is not None and sub_id not in seen_subs:
                seen_subs.add(sub_id)
                devices[patient_id].append(Device(sub_id, endpoint, p256dh, auth))
    else:
        for r in _claim_both(batch_size, now, lease):
            claimed[r.id] = Claimed(r.id, r.patient_id, r.planned_application_id, r.kind, r.attempts)
        app_ids = {c.planned_application_id for c in claimed.values() if c.planned_application_id}
        if app_ids:
            apps = {
                row.id: row
                for row in db.session.execute(
                    sa.select(_APP.c.id, _APP.c.completed_at, _APP.c.due_at, _PATIENT.c.time_zone)
                    .join(_COURSE, _COURSE.c.id == _APP.c.course_id)
                    .join(_PATIENT, _PATIENT.c.id == _COURSE.c.patient_id)
                    .where(_in(_APP.c.id, app_ids))
                )
            }
            for c in claimed.values():
                app = apps.get(c.planned_application_id)
                if app is not None:
                    c.done = app.completed_at is not None
                    c.due_at, c.time_zone = app.due_at, app.time_zone
        if claimed:
            for sub in db.session.execute(
                sa.select(_SUB.c.id, _SUB.c.patient_id, _SUB.c.endpoint, _SUB.c.p256dh, _SUB.c.auth)
                .where(
                    _in(_SUB.c.patient_id, {c.patient_id for c in claimed.values()}),
                    _SUB.c.failed_at.is_(None),  # refused for good: no longer sent to
                )
                .order_by(_SUB.c.id)
            ):
                devices[sub.patient_id].append(Device(sub.id, sub.endpoint, sub.p256dh, sub.auth))
    live, cancelled = [], []
    for c in claimed.values():
        (cancelled if c.done and c.kind in DONE_CANCELS else live).append(c)
    return len(claimed), live, cancelled, devices
