"""The reminder dispatcher: claim due occurrences, send them, record what happened.

Runs in its own process (`flask --app anagen dispatcher`), never in a web worker.
On PostgreSQL several dispatchers can run side by side: claims use FOR UPDATE SKIP
LOCKED and a lease, so each occurrence goes to one of them; a dispatcher that dies
mid-batch leaves leases that expire and are claimed again (at-least-once delivery; the
service worker's notification tag makes a repeat replace, not add).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa

from anagen.extensions import db, utcnow
from anagen.models import PlannedApplication, PushSubscription, ReminderOccurrence
from anagen.services.push_sender import Outcome, PushMessage, PushResult, SubscriptionInfo, backoff_seconds

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


def claim(batch_size: int, now: dt.datetime | None = None, lease: dt.timedelta = LEASE) -> list[int]:
    """Claim up to `batch_size` due occurrences (and expired leases) for this dispatcher."""
    now = now or utcnow()
    due = (
        sa.select(ReminderOccurrence.id)
        .where(
            sa.or_(
                sa.and_(ReminderOccurrence.status == "pending", ReminderOccurrence.due_at <= now),
                sa.and_(ReminderOccurrence.status == "claimed", ReminderOccurrence.lease_until < now),
            )
        )
        .order_by(ReminderOccurrence.due_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    ids = list(db.session.scalars(due))
    if ids:
        db.session.execute(
            sa.update(ReminderOccurrence)
            .where(ReminderOccurrence.id.in_(ids))
            .values(status="claimed", lease_until=now + lease, attempts=ReminderOccurrence.attempts + 1)
        )
    db.session.commit()
    return ids


def payload(occurrence: ReminderOccurrence) -> dict:
    title, body = TEXTS[occurrence.kind]
    return {
        "id": str(occurrence.id),
        "kind": occurrence.kind,
        "title": title,
        "body": body,
        "url": SCREENS.get(occurrence.kind, "/#/today"),
        "snooze": occurrence.kind in DONE_CANCELS,
    }


def _messages(occurrences, subscriptions) -> list[PushMessage]:
    messages = []
    for occ in occurrences:
        ttl, urgency = DELIVERY[occ.kind]
        body = payload(occ)
        for sub in subscriptions.get(occ.patient_id, ()):
            messages.append(
                PushMessage(
                    occurrence_id=str(occ.id),
                    subscription=SubscriptionInfo(sub.endpoint, sub.p256dh, sub.auth),
                    payload=body,
                    ttl=ttl,
                    urgency=urgency,
                    topic=str(occ.id),
                )
            )
    return messages


def dispatch_batch(sender, batch_size: int = 500, now: dt.datetime | None = None) -> BatchStats:
    """Claim one batch, send it, and record every outcome."""
    now = now or utcnow()
    stats = BatchStats()
    ids = claim(batch_size, now)
    stats.claimed = len(ids)
    if not ids:
        return stats
    occurrences = list(
        db.session.scalars(sa.select(ReminderOccurrence).where(ReminderOccurrence.id.in_(ids)))
    )
    done_apps = set(
        db.session.scalars(
            sa.select(PlannedApplication.id).where(
                PlannedApplication.id.in_(
                    {o.planned_application_id for o in occurrences if o.planned_application_id}
                ),
                PlannedApplication.completed_at.is_not(None),
            )
        )
    )
    live, cancelled = [], []
    for occ in occurrences:
        (cancelled if occ.kind in DONE_CANCELS and occ.planned_application_id in done_apps else live).append(
            occ
        )
    subscriptions = defaultdict(list)
    for sub in db.session.scalars(
        sa.select(PushSubscription).where(PushSubscription.patient_id.in_({o.patient_id for o in live}))
    ):
        subscriptions[sub.patient_id].append(sub)
    results = sender.send_many(_messages(live, subscriptions)) if live else []
    _record(now, live, cancelled, subscriptions, results, stats)
    db.session.commit()
    return stats


def _record(now, live, cancelled, subscriptions, results: list[PushResult], stats: BatchStats) -> None:
    by_occurrence: dict[str, list[PushResult]] = defaultdict(list)
    for result in results:
        by_occurrence[result.occurrence_id].append(result)
    gone_endpoints: set[str] = set()
    updates: dict[str, list[int]] = defaultdict(list)
    for occ in cancelled:
        updates["cancelled"].append(occ.id)
    stats.cancelled = len(cancelled)
    for occ in live:
        outcomes = by_occurrence.get(str(occ.id), [])
        subs = subscriptions.get(occ.patient_id, [])
        for result, sub in zip(outcomes, subs, strict=False):
            if result.outcome == Outcome.GONE:
                gone_endpoints.add(sub.endpoint)
        kinds = {r.outcome for r in outcomes}
        if Outcome.SENT in kinds:
            updates["sent"].append(occ.id)
        elif Outcome.RETRY in kinds and occ.attempts < MAX_ATTEMPTS:
            retry_after = max((r.retry_after_s or 0) for r in outcomes)
            occ.status = "pending"
            occ.due_at = now + dt.timedelta(seconds=backoff_seconds(occ.attempts, retry_after))
            occ.last_error = next(r.reason for r in outcomes if r.outcome == Outcome.RETRY)[:200]
            stats.retried += 1
        elif not outcomes or kinds == {Outcome.GONE}:
            updates["no_subscription"].append(occ.id)
        else:
            occ.status = "failed"
            occ.last_error = "; ".join(sorted({r.reason for r in outcomes}))[:200]
            stats.failed += 1
    if updates["sent"]:
        db.session.execute(
            sa.update(ReminderOccurrence)
            .where(ReminderOccurrence.id.in_(updates["sent"]))
            .values(status="sent", sent_at=now, lease_until=None)
        )
        db.session.execute(
            sa.update(PushSubscription)
            .where(
                PushSubscription.patient_id.in_({o.patient_id for o in live if o.id in set(updates["sent"])})
            )
            .values(last_success_at=now)
        )
    for status in ("cancelled", "no_subscription"):
        if updates[status]:
            db.session.execute(
                sa.update(ReminderOccurrence)
                .where(ReminderOccurrence.id.in_(updates[status]))
                .values(status=status, lease_until=None)
            )
    if gone_endpoints:
        db.session.execute(sa.delete(PushSubscription).where(PushSubscription.endpoint.in_(gone_endpoints)))
    stats.sent = len(updates["sent"])
    stats.no_subscription = len(updates["no_subscription"])
    stats.gone_subscriptions = len(gone_endpoints)


def dispatch_until_idle(sender, batch_size: int = 500, max_batches: int = 1000) -> BatchStats:
    """While a backlog remains, keep claiming instead of waiting for the next tick."""
    total = BatchStats()
    for _ in range(max_batches):
        stats = dispatch_batch(sender, batch_size)
        for name in (
            "claimed",
            "sent",
            "retried",
            "failed",
            "cancelled",
            "no_subscription",
            "gone_subscriptions",
        ):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
        if stats.claimed < batch_size:
            break
    if total.claimed:
        log.info(
            "dispatched: claimed=%d sent=%d retried=%d failed=%d",
            total.claimed,
            total.sent,
            total.retried,
            total.failed,
        )
    return total
