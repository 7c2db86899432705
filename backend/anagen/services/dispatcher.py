"""The reminder dispatcher: claim due occurrences, send them, record what happened.

Runs in its own process (`flask --app anagen dispatcher`), never in a web worker.
On PostgreSQL several dispatchers can run side by side: claims use FOR UPDATE SKIP
LOCKED and a lease, so each occurrence goes to one of them; a dispatcher that dies
mid-batch leaves leases that expire and are claimed again (at-least-once delivery; the
service worker's notification tag makes a repeat replace, not add).

A batch costs a fixed handful of statements whatever its size. On PostgreSQL one statement
claims the batch and returns, with each occurrence, whether its application is done (the
re-check: nothing goes out for an application already done) and its patient's devices;
after sending, one UPDATE per outcome. `dispatch_until_idle` pipelines batches: while one
is with the push services, the previous one is recorded and the next claimed, in one
transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import ARRAY

from anagen.extensions import db, utcnow
from anagen.models import PlannedApplication, PushSubscription, ReminderOccurrence
from anagen.services.push_sender import Outcome, PushMessage, PushResult, SubscriptionInfo, backoff_seconds

# Core tables: the hot path reads and writes plain rows, never ORM objects (no identity map,
# no per-object state, no session synchronisation of bulk updates).
_OCC = ReminderOccurrence.__table__
_SUB = PushSubscription.__table__
_APP = PlannedApplication.__table__

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)
MAX_ATTEMPTS = 6
DONE_CANCELS = ("due", "follow_up", "missed")

# Short, health-free text: a lock screen may be seen by anyone.
TEXTS = {
    "due": ("Anagen", "Your treatment is due now. Tap to start."),
    "follow_up": ("Anagen", "A reminder: your treatment is still to do today."),
    "missed": ("Anagen", "You missed a treatment. Do it as soon as you can."),
    "kit_low": ("Anagen", "You've opened the last vial of this kit."),
    "checkpoint": ("Anagen", "It's time for your progress photos."),
    "test": ("Anagen", "Test notification: reminders are working."),
}
# How long a push service may hold a message, and how urgently to wake the device.
DELIVERY = {
    "due": (6 * 3600, "high"),
    "follow_up": (4 * 3600, "normal"),
    "missed": (12 * 3600, "normal"),
    "kit_low": (24 * 3600, "low"),
    "checkpoint": (24 * 3600, "low"),
    "test": (600, "high"),
}
SCREENS = {"checkpoint": "/#/photos", "kit_low": "/#/today", "test": "/#/settings"}


@dataclass
class BatchStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    no_subscription: int = 0
    gone_subscriptions: int = 0
    outcomes: dict = field(default_factory=dict)

    def add(self, other: BatchStats) -> None:
        for name in (
            "claimed",
            "sent",
            "retried",
            "failed",
            "cancelled",
            "no_subscription",
            "gone_subscriptions",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(slots=True)
class Claimed:
    """One claimed occurrence, with what sending it needs."""

    id: int
    patient_id: int
    planned_application_id: int | None
    kind: str
    attempts: int
    done: bool = False  # its application was done when it was claimed


@dataclass(slots=True)
class Device:
    id: int
    endpoint: str
    p256dh: str
    auth: str


@dataclass
class _Batch:
    now: dt.datetime
    claimed: int
    live: list[Claimed]
    cancelled: list[Claimed]
    pairs: list[tuple[PushMessage, Device]]
    future: Future | None = None


def lease_duration() -> dt.timedelta:
    """How long a claim holds: `DISPATCH_LEASE_SECONDS` in the app config, else LEASE.
    Longer than a batch takes to send, or a slow batch is claimed (and sent) twice."""
    seconds = current_app.config.get("DISPATCH_LEASE_SECONDS")
    return dt.timedelta(seconds=float(seconds)) if seconds else LEASE


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _ids(values) -> str | list[int]:
    """The value for an `_in_ids` parameter: on PostgreSQL one array literal (psycopg's
    per-element list adaptation, or a placeholder per id, costs more than the query)."""
    if _is_postgres():
        return "{" + ",".join(str(int(v)) for v in values) + "}"
    return list(values)


def _in_ids(column, name: str, postgres: bool):
    """`column IN (:name)` for a list of integer ids given by `_ids`."""
    if postgres:
        return column == sa.any_(sa.cast(sa.bindparam(name, type_=sa.String), ARRAY(sa.Integer)))
    return column.in_(sa.bindparam(name, expanding=True))


def _in(column, values):
    """`column IN values` for integer ids (a statement built per call)."""
    values = list(values)
    return _in_ids(column, "ids", _is_postgres()).params(ids=_ids(values))


@functools.cache
def _finish_statements(postgres: bool) -> dict:
    """The statements that record a batch, built once per dialect."""
    return {
        "finished": sa.update(_OCC)
        .where(_in_ids(_OCC.c.id, "ids", postgres))
        .values(status=sa.bindparam("status"), lease_until=None, sent_at=sa.bindparam("sent_at")),
        "retry": sa.update(_OCC)
        .where(_OCC.c.id == sa.bindparam("b_id"))
        .values(
            status="pending",
            lease_until=None,
            due_at=sa.bindparam("b_due"),
            last_error=sa.bindparam("b_error"),
        ),
        "failed": sa.update(_OCC)
        .where(_OCC.c.id == sa.bindparam("b_id"))
        .values(status="failed", lease_until=None, last_error=sa.bindparam("b_error")),
        # At most one write per device and hour: a busy device is not rewritten every batch.
        "delivered": sa.update(_SUB)
        .where(
            _in_ids(_SUB.c.id, "ids", postgres),
            sa.or_(_SUB.c.last_success_at.is_(None), _SUB.c.last_success_at < sa.bindparam("hour_ago")),
        )
        .values(last_success_at=sa.bindparam("now")),
        "gone": sa.delete(_SUB).where(_in_ids(_SUB.c.id, "ids", postgres)),
    }


def _relaxed_commit() -> None:
    """On PostgreSQL, this transaction's commit need not wait for the WAL flush.

    Safe for the dispatcher's own bookkeeping: a commit lost in a database crash leaves
    a claim unmade (the row is claimed again) or an outcome unrecorded (the lease runs out
    and it is sent again) - a possible repeat, which the notification tag absorbs, never a
    lost reminder. It saves a disk flush per batch."""
    if _is_postgres():
        db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))


# -- claiming --------------------------------------------------------------------------------


def _claim_update(condition):
    """UPDATE ... SET status='claimed' WHERE id IN (SELECT ... LIMIT :lim FOR UPDATE SKIP
    LOCKED) RETURNING the claimed rows. On PostgreSQL concurrent dispatchers take disjoint
    rows; on SQLite the single UPDATE is atomic (writes are serialised). Parameters: now,
    lease_until, lim."""
    due = (
        sa.select(_OCC.c.id)
        .where(condition)
        .order_by(_OCC.c.status, _OCC.c.due_at)  # the (status, due_at) index's order: no sort
        .limit(sa.bindparam("lim", type_=sa.Integer))
        .with_for_update(skip_locked=True)
    )
    return (
        sa.update(_OCC)
        .where(_OCC.c.id.in_(due.scalar_subquery()))
        .values(status="claimed", lease_until=sa.bindparam("lease_until"), attempts=_OCC.c.attempts + 1)
        .returning(_OCC.c.id, _OCC.c.patient_id, _OCC.c.planned_application_id, _OCC.c.kind, _OCC.c.attempts)
    )


# Leases that ran out (their dispatcher died) first, then pending rows by due time: two
# range scans of the (status, due_at) index that stop after n rows, where one OR of the
# two made the database read and sort every due row on every claim. The statements are
# built once (and so compiled once).
@functools.cache
def _claim_expired():
    return _claim_update(sa.and_(_OCC.c.status == "claimed", _OCC.c.lease_until < sa.bindparam("now")))


@functools.cache
def _claim_pending():
    return _claim_update(sa.and_(_OCC.c.status == "pending", _OCC.c.due_at <= sa.bindparam("now")))


@functools.cache
def _claim_and_load():
    """PostgreSQL: both claims as data-modifying CTEs in one statement, joined with the
    application (done yet?) and the patient's devices: a batch in one round trip."""
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
            _SUB.c.id.label("sub_id"),
            _SUB.c.endpoint,
            _SUB.c.p256dh,
            _SUB.c.auth,
        )
        .select_from(
            rows.outerjoin(_APP, _APP.c.id == rows.c.planned_application_id).outerjoin(
                _SUB, _SUB.c.patient_id == rows.c.patient_id
            )
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
    _relaxed_commit()
    rows = _claim_both(batch_size, now, lease or lease_duration())
    db.session.commit()
    return rows


def claim(batch_size: int, now: dt.datetime | None = None, lease: dt.timedelta | None = None) -> list[int]:
    """Claim up to `batch_size` due occurrences (and expired leases); their ids, by due time."""
    return sorted(row.id for row in claim_rows(batch_size, now, lease))


def _claim_batch(batch_size: int, now: dt.datetime) -> tuple[int, list[Claimed], list[Claimed], dict]:
    """Claim a batch in the current transaction (the caller commits) and load what sending
    needs: (claimed count, live, cancelled, patient id -> devices)."""
    lease = lease_duration()
    claimed: dict[int, Claimed] = {}
    devices: dict[int, list[Device]] = defaultdict(list)
    if _is_postgres():
        params = {"now": now, "lease_until": now + lease, "lim": batch_size}
        seen_subs: set[int] = set()
        for (
            oid,
            patient_id,
            app_id,
            kind,
            attempts,
            done,
            sub_id,
            endpoint,
            p256dh,
            auth,
        ) in db.session.execute(_claim_and_load(), params).all():
            if oid not in claimed:
                claimed[oid] = Claimed(oid, patient_id, app_id, kind, attempts, bool(done))
            if sub_id is not None and sub_id not in seen_subs:
                seen_subs.add(sub_id)
                devices[patient_id].append(Device(sub_id, endpoint, p256dh, auth))
    else:
        for r in _claim_both(batch_size, now, lease):
            claimed[r.id] = Claimed(r.id, r.patient_id, r.planned_application_id, r.kind, r.attempts)
        app_ids = {c.planned_application_id for c in claimed.values() if c.planned_application_id}
        if app_ids:
            done = set(
                db.session.scalars(
                    sa.select(_APP.c.id).where(_in(_APP.c.id, app_ids), _APP.c.completed_at.is_not(None))
                )
            )
            for c in claimed.values():
                c.done = c.planned_application_id in done
        if claimed:
            for sub in db.session.execute(
                sa.select(_SUB.c.id, _SUB.c.patient_id, _SUB.c.endpoint, _SUB.c.p256dh, _SUB.c.auth)
                .where(_in(_SUB.c.patient_id, {c.patient_id for c in claimed.values()}))
                .order_by(_SUB.c.id)
            ):
                devices[sub.patient_id].append(Device(sub.id, sub.endpoint, sub.p256dh, sub.auth))
    live, cancelled = [], []
    for c in claimed.values():
        (cancelled if c.done and c.kind in DONE_CANCELS else live).append(c)
    return len(claimed), live, cancelled, devices


# -- messages --------------------------------------------------------------------------------


def payload(occurrence) -> dict:
    """What the service worker gets (anything with `id` and `kind`): ids and short text only."""
    title, body = TEXTS[occurrence.kind]
    return {
        "id": str(occurrence.id),
        "kind": occurrence.kind,
        "title": title,
        "body": body,
        "url": SCREENS.get(occurrence.kind, "/#/today"),
        "snooze": occurrence.kind in DONE_CANCELS,
    }


def messages(occurrences, devices: dict[int, list]) -> list[tuple[PushMessage, object]]:
    """(message, device) for every device of every occurrence's patient. `devices`:
    patient id -> objects with id, endpoint, p256dh, auth."""
    out = []
    infos: dict[int, SubscriptionInfo] = {}
    for occ in occurrences:
        subs = devices.get(occ.patient_id)
        if not subs:
            continue
        ttl, urgency = DELIVERY[occ.kind]
        body = payload(occ)
        occ_id = str(occ.id)
        for sub in subs:
            info = infos.get(sub.id)
            if info is None:
                info = infos[sub.id] = SubscriptionInfo(sub.endpoint, sub.p256dh, sub.auth)
            out.append((PushMessage(occ_id, info, body, ttl, urgency, occ_id), sub))
    return out


# -- recording -------------------------------------------------------------------------------


def _record(now, live, cancelled, pairs, results: list[PushResult], stats: BatchStats) -> None:
    """Write every outcome of a batch (the caller commits)."""
    by_occurrence: dict[str, list[PushResult]] = defaultdict(list)
    gone: set[int] = set()
    delivered_to: set[int] = set()
    for (_msg, sub), result in zip(pairs, results, strict=True):
        by_occurrence[result.occurrence_id].append(result)
        if result.outcome is Outcome.SENT:
            delivered_to.add(sub.id)
        elif result.outcome is Outcome.GONE:
            gone.add(sub.id)
    sent, no_subscription, retry, failed = [], [], [], []
    for occ in live:
        outcomes = by_occurrence.get(str(occ.id), ())
        kinds = {r.outcome for r in outcomes}
        if Outcome.SENT in kinds:
            sent.append(occ.id)
        elif Outcome.RETRY in kinds and occ.attempts < MAX_ATTEMPTS:
            retry_after = max((r.retry_after_s or 0) for r in outcomes)
            reason = next(r.reason for r in outcomes if r.outcome is Outcome.RETRY)
            due_at = now + dt.timedelta(seconds=backoff_seconds(occ.attempts, retry_after))
            retry.append({"b_id": occ.id, "b_due": due_at, "b_error": reason[:200]})
        elif not outcomes or kinds == {Outcome.GONE}:
            no_subscription.append(occ.id)
        else:
            failed.append({"b_id": occ.id, "b_error": "; ".join(sorted({r.reason for r in outcomes}))[:200]})
    statements = _finish_statements(_is_postgres())
    finished = {"sent": sent, "cancelled": [o.id for o in cancelled], "no_subscription": no_subscription}
    for status, ids in finished.items():
        if ids:
            db.session.execute(
                statements["finished"],
                {"ids": _ids(ids), "status": status, "sent_at": now if status == "sent" else None},
            )
    if retry:
        db.session.execute(statements["retry"], retry)
    if failed:
        db.session.execute(statements["failed"], failed)
    delivered_to -= gone
    if delivered_to:
        db.session.execute(
            statements["delivered"],
            {"ids": _ids(delivered_to), "now": now, "hour_ago": now - dt.timedelta(hours=1)},
        )
    if gone:
        db.session.execute(statements["gone"], {"ids": _ids(gone)})
    stats.sent = len(sent)
    stats.retried = len(retry)
    stats.failed = len(failed)
    stats.cancelled = len(cancelled)
    stats.no_subscription = len(no_subscription)
    stats.gone_subscriptions = len(gone)


# -- dispatching -----------------------------------------------------------------------------


def _start(batch_size: int, now: dt.datetime | None = None) -> _Batch:
    """Claim and prepare a batch in the current transaction (the caller commits)."""
    now = now or utcnow()
    claimed, live, cancelled, devices = _claim_batch(batch_size, now)
    return _Batch(now, claimed, live, cancelled, messages(live, devices))


def _finish(batch: _Batch, results: list[PushResult]) -> BatchStats:
    """Record a sent batch in the current transaction (the caller commits)."""
    stats = BatchStats(claimed=batch.claimed)
    _record(batch.now, batch.live, batch.cancelled, batch.pairs, results, stats)
    return stats


def dispatch_batch(sender, batch_size: int = 500, now: dt.datetime | None = None) -> BatchStats:
    """Claim one batch, send it, and record every outcome."""
    _relaxed_commit()
    batch = _start(batch_size, now)
    db.session.commit()  # claimed: no transaction stays open while the push services answer
    if not batch.claimed:
        return BatchStats()
    results = sender.send_many([m for m, _ in batch.pairs]) if batch.pairs else []
    _relaxed_commit()
    stats = _finish(batch, results)
    db.session.commit()
    return stats


def dispatch_until_idle(sender, batch_size: int = 500, max_batches: int = 1000) -> BatchStats:
    """While a backlog remains, keep claiming instead of waiting for the next tick.

    Pipelined: batches are sent on sender threads - as many at once as the sender has
    `parallelism` (its worker processes; 1 for an in-process sender) - while this thread,
    in one transaction per batch, records a sent batch and claims the next one, so the push
    services always have work and the database round trips do not add to the sending time.
    At most `parallelism` + 2 batches are claimed and not yet recorded. Stops when a claim
    finds nothing (not merely fewer than `batch_size`: with concurrent dispatchers a claim
    can come back short while work remains).
    """
    total = BatchStats()
    queue: deque[_Batch] = deque()
    started = 0
    exhausted = False
    lanes = max(1, int(getattr(sender, "parallelism", 1)))

    def claim_next() -> _Batch | None:
        nonlocal started, exhausted
        if exhausted or started >= max_batches:
            exhausted = True
            return None
        batch = _start(batch_size)
        started += 1
        if not batch.claimed:
            exhausted = True
            return None
        queue.append(batch)
        return batch

    def send(pool: ThreadPoolExecutor, batches) -> None:
        # Only once the claim is committed: no push goes out for a claim that could still
        # be rolled back.
        for batch in batches:
            if batch is not None and batch.pairs:
                batch.future = pool.submit(sender.send_many, [m for m, _ in batch.pairs])

    with ThreadPoolExecutor(lanes, thread_name_prefix="dispatch-send") as pool:
        try:
            _relaxed_commit()
            claimed = [claim_next() for _ in range(lanes + 1)]
            db.session.commit()
            send(pool, claimed)
            while queue:
                batch = queue.popleft()
                results = batch.future.result() if batch.future is not None else []
                _relaxed_commit()
                total.add(_finish(batch, results))
                claimed = claim_next()
                db.session.commit()
                send(pool, [claimed])
        finally:
            for batch in queue:  # after an error: left claimed, their leases run out
                if batch.future is not None:
                    batch.future.cancel()
    if total.claimed:
        log.info(
            "dispatched: claimed=%d sent=%d retried=%d failed=%d cancelled=%d",
            total.claimed,
            total.sent,
            total.retried,
            total.failed,
            total.cancelled,
        )
    return total
