"""The reminder dispatcher: claim due occurrences, send them, record what happened.

Runs in its own process (`flask --app anagen dispatcher`), never in a web worker. Claims
(dispatcher_claims) hold a lease, so a dispatcher that dies mid-batch leaves occurrences
that are claimed again (at-least-once delivery; the service worker's notification tag
makes a repeat replace, not add).

A batch costs a fixed handful of statements whatever its size: one claim (on PostgreSQL),
then one UPDATE per outcome (`dispatch_batch` also re-checks its batch right before sending
it, `_recheck`). `dispatch_until_idle` pipelines batches: each
is claimed right when a sender lane is free and sent at once, and recorded while the other
lanes send.

Every outcome write is fenced by the batch's claim (claims.py): a batch recorded after its
lease ran out changes none of the rows another dispatcher took over, and none that were
cancelled or moved meanwhile. A batch's sending stops at a deadline well inside its lease
(`DEADLINE_SHARE`), so its outcomes are recorded while the claim still holds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from zoneinfo import ZoneInfo

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models.push import BROKEN_AFTER_REFUSALS
from anagen.reminders.claims import (
    DONE_CANCELS,
    Claimed,
    Device,
    claim_batch,
    finish_statements,
    ids_param,
    is_postgres,
    lease_duration,
    relaxed_commit,
    still_wanted,
)
from anagen.webpush.messages import Outcome, PushMessage, PushResult, SubscriptionInfo, backoff_seconds

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# Answers that say the subscription (not the message or the moment) is wrong: VAPID key
# mismatch, bad token, forbidden. Consecutive ones mark the subscription failed.
MISCONFIGURED = frozenset({400, 401, 403})
# A batch stops sending at this share of its lease (unanswered requests are retried later),
# leaving the rest of the lease to record its outcomes while the claim still holds.
DEADLINE_SHARE = 0.5

# Short, health-free text: a lock screen may be seen by anyone. For an application reminder
# these are the texts when its application's day is unknown; `application_text` words it for
# the moment it goes out.
TEXTS = {
    "due": ("Anagen", "Your treatment is due now. Tap to start."),
    "follow_up": ("Anagen", "A reminder: your treatment is still to do today."),
    "missed": ("Anagen", "You missed a treatment. Do it as soon as you can."),
    "kit_low": ("Anagen", "You've opened the last vial of this kit."),
    "checkpoint": ("Anagen", "It's time for your progress photos."),
    "test": ("Anagen", "Test notification: reminders are working."),
    "message": ("Anagen", "You have a new message from your clinic."),
    "photo_comment": ("Anagen", "Your clinic commented on one of your photos."),
}
# How long a push service may hold a message, and how urgently to wake the device.
DELIVERY = {
    "due": (6 * 3600, "high"),
    "follow_up": (4 * 3600, "normal"),
    "missed": (12 * 3600, "normal"),
    "kit_low": (24 * 3600, "low"),
    "checkpoint": (24 * 3600, "low"),
    "test": (600, "high"),
    "message": (24 * 3600, "normal"),
    "photo_comment": (24 * 3600, "normal"),
}
SCREENS = {
    "checkpoint": "/#/photos",
    "photo_comment": "/#/photos",
    "kit_low": "/#/today",
    "test": "/#/settings",
}
# An application reminder sent on a later local day than its application's (a follow-up
# held back by quiet hours, a retry, the missed notice): what it says, `when` being the day
# the application was due ("yesterday", "on Thu").
LATER_TEXTS = {
    "due": "Your treatment (due {when}) is still to do. Tap to start.",
    "follow_up": "A reminder: your treatment (due {when}) is still to do. Do it when you can.",
    "missed": "You missed a treatment (due {when}). Do it as soon as you can.",
}


@dataclass
class BatchStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    no_subscription: int = 0
    gone_subscriptions: int = 0
    fenced: int = 0  # claims lost before recording (lease ran out, cancelled or moved)
    broken_subscriptions: int = 0  # marked failed in this batch (kept refusing as misconfigured)

    def add(self, other: BatchStats) -> None:
        """Add another batch's counts to these."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class _Batch:
    now: dt.datetime
    token: dt.datetime  # the claim's lease_until: the fencing token of every outcome write
    deadline: float  # time.monotonic() by which sending stops
    claimed: int
    live: list[Claimed]
    cancelled: list[Claimed]
    pairs: list[tuple[PushMessage, Device]]
    unwanted: set[int] = field(default_factory=set)  # no longer to send at the re-check
    results: list[PushResult] = field(default_factory=list)
    future: Future | None = None


# -- messages --------------------------------------------------------------------------------


def _screen(occurrence) -> str:
    """Where a tap opens: an application reminder opens a screen that offers both starting
    and "remind me in an hour" (iOS shows no notification actions, so snooze lives there too)."""
    if occurrence.kind in DONE_CANCELS:
        return f"/#/reminder/{occurrence.id}"
    return SCREENS.get(occurrence.kind, "/#/today")


@dataclass(frozen=True, slots=True)
class AppliesTo:
    """What an application reminder's text depends on: its application's due time and zone."""

    due_at: dt.datetime
    time_zone: str


def _due_day(due: dt.date, today: dt.date) -> str:
    """The local day an application was due, as said on a later day."""
    days = (today - due).days
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"on {due:%a}"
    return f"on {due:%a} {due.day} {due:%b}"


def application_text(kind: str, applies: AppliesTo, now: dt.datetime) -> tuple[str, str]:
    """(title, body) of an application reminder sent at `now`, true at that moment in the
    patient's zone: "today" only on the application's own local day."""
    zone = ZoneInfo(applies.time_zone)
    due = applies.due_at.astimezone(zone).date()
    today = now.astimezone(zone).date()
    title, body = TEXTS[kind]
    if today > due:
        body = LATER_TEXTS[kind].format(when=_due_day(due, today))
    return title, body


def _text(occurrence, applies: AppliesTo | None, now: dt.datetime | None) -> tuple[str, str]:
    if applies is not None and occurrence.kind in LATER_TEXTS:
        return application_text(occurrence.kind, applies, now or utcnow())
    return TEXTS[occurrence.kind]


def payload(occurrence, applies: AppliesTo | None = None, now: dt.datetime | None = None) -> dict:
    """What the service worker gets (anything with `id` and `kind`): ids and short text only,
    worded for `now` (an application reminder, given what it `applies` to)."""
    title, body = _text(occurrence, applies, now)
    # Plain str and bool only: it is pickled to the sender's worker processes, and the model's
    # enum would make each of them import the models and SQLAlchemy.
    return {
        "id": str(occurrence.id),
        "kind": str(occurrence.kind),
        "title": title,
        "body": body,
        "url": _screen(occurrence),
        "snooze": occurrence.kind in DONE_CANCELS,
    }


def applies_to(claimed) -> dict[int, AppliesTo]:
    """Planned application id -> its due time and its patient's zone, for the application
    reminders among these claimed ones (loaded with the claim: no query of its own)."""
    return {
        c.planned_application_id: AppliesTo(c.due_at, c.time_zone)
        for c in claimed
        if c.kind in LATER_TEXTS and c.due_at is not None and c.time_zone
    }


def messages(
    occurrences,
    devices: dict[int, list],
    applies: dict[int, AppliesTo] | None = None,
    now: dt.datetime | None = None,
) -> list[tuple[PushMessage, object]]:
    """(message, device) for every device of every occurrence's patient, worded for `now`.
    `devices`: patient id -> objects with id, endpoint, p256dh, auth; `applies`: see
    `applies_to` (without it, application reminders get the texts true on any day)."""
    applies = applies or {}
    out = []
    infos: dict[int, SubscriptionInfo] = {}
    for occ in occurrences:
        subs = devices.get(occ.patient_id)
        if not subs:
            continue
        ttl, urgency = DELIVERY[occ.kind]
        body = payload(occ, applies.get(occ.planned_application_id), now)
        occ_id = str(occ.id)
        for sub in subs:
            info = infos.get(sub.id)
            if info is None:
                info = infos[sub.id] = SubscriptionInfo(sub.endpoint, sub.p256dh, sub.auth)
            out.append((PushMessage(occ_id, info, body, ttl, urgency, occ_id), sub))
    return out


# -- recording -------------------------------------------------------------------------------


def _record(batch: _Batch, stats: BatchStats) -> None:
    """Write every outcome of a batch, fenced by its claim (the caller commits)."""
    now, pairs, results = batch.now, batch.pairs, batch.results
    cancelled = batch.cancelled + [o for o in batch.live if o.id in batch.unwanted]
    live = [o for o in batch.live if o.id not in batch.unwanted]
    by_occurrence: dict[str, list[PushResult]] = defaultdict(list)
    gone: set[int] = set()
    delivered_to: set[int] = set()
    refused: dict[int, list[str]] = defaultdict(list)
    for (_msg, sub), result in zip(pairs, results, strict=True):
        by_occurrence[result.occurrence_id].append(result)
        if result.outcome is Outcome.SENT:
            delivered_to.add(sub.id)
        elif result.outcome is Outcome.GONE:
            gone.add(sub.id)
        elif result.outcome is Outcome.CONFIG_ERROR and result.status_code in MISCONFIGURED:
            refused[sub.id].append(result.reason)
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
            retry.append({"b_id": occ.id, "b_token": batch.token, "b_due": due_at, "b_error": reason[:200]})
        elif not outcomes or kinds == {Outcome.GONE}:
            no_subscription.append(occ.id)
        else:
            reasons = "; ".join(sorted({r.reason for r in outcomes}))[:200]
            failed.append({"b_id": occ.id, "b_token": batch.token, "b_error": reasons})
    # Every write is fenced by the claim: what it did not write, another dispatcher owns now
    # (the lease ran out) or the row was cancelled or moved meanwhile.
    statements = finish_statements(is_postgres())
    written: dict[str, int] = {}
    finished = {"sent": sent, "cancelled": [o.id for o in cancelled], "no_subscription": no_subscription}
    for status, ids in finished.items():
        if ids:
            params = {"ids": ids_param(ids), "token": batch.token, "status": status, "sent_at": None}
            if status == "sent":
                params["sent_at"] = now
            written[status] = db.session.execute(statements["finished"], params).rowcount
    if retry:
        written["retry"] = db.session.execute(statements["retry"], retry).rowcount
    if failed:
        written["failed"] = db.session.execute(statements["failed"], failed).rowcount
    stats.fenced = len(live) + len(cancelled) - sum(written.values())
    if stats.fenced:
        log.warning("claim lost before recording: %d reminders left to their new owner", stats.fenced)
    delivered_to -= gone
    if delivered_to:
        db.session.execute(
            statements["delivered"],
            {"ids": ids_param(delivered_to), "now": now, "hour_ago": now - dt.timedelta(hours=1)},
        )
    if gone:
        db.session.execute(statements["gone"], {"ids": ids_param(gone)})
    for sub_id in delivered_to | gone:
        refused.pop(sub_id, None)
    for sub_id, reasons in refused.items():
        params = {"b_id": sub_id, "b_count": len(reasons), "b_reason": reasons[-1][:200], "b_now": now}
        row = db.session.execute(statements["refused"], params).first()
        if row is not None and row.failed_at == now:
            stats.broken_subscriptions += 1
            log.warning(
                "push subscription marked failed (refused %d+ times in a row): subscription=%d last=%s",
                BROKEN_AFTER_REFUSALS,
                sub_id,
                reasons[-1][:200],
            )
    stats.sent = written.get("sent", 0)
    stats.retried = written.get("retry", 0)
    stats.failed = written.get("failed", 0)
    stats.cancelled = written.get("cancelled", 0)
    stats.no_subscription = written.get("no_subscription", 0)
    stats.gone_subscriptions = len(gone)


# -- dispatching -----------------------------------------------------------------------------


def _start(batch_size: int, now: dt.datetime | None = None) -> _Batch:
    """Claim and prepare a batch in the current transaction (the caller commits)."""
    now = now or utcnow()
    lease = lease_duration()
    deadline = time.monotonic() + lease.total_seconds() * DEADLINE_SHARE
    claimed, live, cancelled, devices = claim_batch(batch_size, now, lease)
    # Worded now, at the claim: the batch goes out within its lease.
    pairs = messages(live, devices, applies_to(live), now)
    return _Batch(now, now + lease, deadline, claimed, live, cancelled, pairs)


def _recheck(batch: _Batch) -> None:
    """Right before sending a batch that waited since its claim, in the caller's transaction:
    drop what is no longer to send (the claim taken over, or the application done since)."""
    ids = [o.id for o in batch.live]
    wanted = still_wanted(ids, batch.token)
    batch.unwanted = set(ids) - wanted
    if batch.unwanted:
        batch.pairs = [(m, d) for m, d in batch.pairs if int(m.occurrence_id) in wanted]


def _push(sender, batch: _Batch) -> None:
    """Send a batch's messages until its deadline (no database work: a sender thread)."""
    if not batch.pairs:
        batch.results = []
        return
    remaining = batch.deadline - time.monotonic()
    msgs = [m for m, _ in batch.pairs]
    if remaining <= 0:
        late = "batch deadline"
        batch.results = [PushResult(m.occurrence_id, Outcome.RETRY, None, None, late) for m in msgs]
        return
    batch.results = sender.send_many(msgs, timeout=remaining)


def _send(sender, batch: _Batch) -> None:
    """Re-check a claimed batch, then send it (the re-check's transaction ends first)."""
    _recheck(batch)
    db.session.commit()  # no transaction stays open while the push services answer
    _push(sender, batch)


def _finish(batch: _Batch) -> BatchStats:
    """Record a sent batch in the current transaction (the caller commits)."""
    stats = BatchStats(claimed=batch.claimed)
    _record(batch, stats)
    return stats


def dispatch_batch(sender, batch_size: int = 500, now: dt.datetime | None = None) -> BatchStats:
    """Claim one batch, send it, and record every outcome."""
    relaxed_commit()
    batch = _start(batch_size, now)
    db.session.commit()  # claimed: no transaction stays open while the push services answer
    if not batch.claimed:
        return BatchStats()
    _send(sender, batch)
    relaxed_commit()
    stats = _finish(batch)
    db.session.commit()
    return stats


def dispatch_until_idle(
    sender, batch_size: int = 500, max_batches: int = 1000, stop: threading.Event | None = None
) -> BatchStats:
    """While a backlog remains, keep claiming instead of waiting for the next tick.

    Pipelined: batches are sent on sender threads - as many at once as the sender has
    `parallelism` (its worker processes; 1 for an in-process sender). When one comes back,
    this thread claims the freed lane's next batch and hands it over at once (a batch is
    claimed right before it is sent, so it needs no re-check: claiming ahead and re-checking
    before sending measured slower, docs/BENCHMARKS.md), then records the one that came back
    while the lanes send. At most `parallelism` + 1 batches are claimed and not yet
    recorded. Stops when a claim finds nothing (not merely fewer than `batch_size`: with
    concurrent dispatchers a claim can come back short while work remains), or once `stop`
    is set: then it claims nothing more, and finishes and records the batches already
    claimed.
    """
    total = BatchStats()
    started = 0
    exhausted = False
    lanes = max(1, int(getattr(sender, "parallelism", 1)))

    def claim_next() -> _Batch | None:
        nonlocal started, exhausted
        if exhausted or started >= max_batches or (stop is not None and stop.is_set()):
            exhausted = True
            return None
        batch = _start(batch_size)
        started += 1
        if not batch.claimed:
            exhausted = True
            return None
        return batch

    def submit(pool: ThreadPoolExecutor, batch: _Batch) -> None:
        # Only once the claim is committed: no push goes out for a claim that could still
        # be rolled back.
        if batch.pairs:
            batch.future = pool.submit(_push, sender, batch)
        inflight.append(batch)

    inflight: list[_Batch] = []  # claimed, sending or sent, not yet recorded

    def claim_and_submit(pool: ThreadPoolExecutor) -> None:
        relaxed_commit()
        batch = claim_next()
        db.session.commit()
        if batch is not None:
            submit(pool, batch)

    def next_sent() -> _Batch:
        """The first batch to come back, whichever lane it was on (waiting for the oldest
        instead left a lane idle while an older batch was still sending)."""
        for batch in inflight:
            if batch.future is None or batch.future.done():
                break
        else:
            done, _pending = wait([b.future for b in inflight], return_when=FIRST_COMPLETED)
            batch = next(b for b in inflight if b.future in done)
        inflight.remove(batch)
        return batch

    with ThreadPoolExecutor(lanes, thread_name_prefix="dispatch-send") as pool:
        try:
            for _lane in range(lanes):
                claim_and_submit(pool)
            while inflight:
                batch = next_sent()
                if batch.future is not None:
                    batch.future.result()
                # The freed lane gets a batch claimed for it at once (claimed just now: it
                # needs no re-check), and only then is the sent batch recorded.
                claim_and_submit(pool)
                relaxed_commit()
                total.add(_finish(batch))
                db.session.commit()
        finally:
            for batch in inflight:  # after an error: left claimed, their leases run out
                if batch.future is not None:
                    batch.future.cancel()
    if total.claimed:
        log.info(
            "dispatched: claimed=%d sent=%d retried=%d failed=%d cancelled=%d fenced=%d",
            total.claimed,
            total.sent,
            total.retried,
            total.failed,
            total.cancelled,
            total.fenced,
        )
    return total
