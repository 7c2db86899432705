"""Daily purges the dispatcher runs (reminders/loop.py): rows whose use is over.

Each purge is one plain DELETE with its limits as arguments, and returns how many rows went.
What is kept a while after its use ends, and why:
- sessions: ended (revoked, idle or past their absolute lifetime) a day ago; the session
  list and the sign-in checks only ever need live ones;
- idempotency records: 30 days, far longer than an offline phone's outbox waits (a replay
  after that meets the recorded application itself: 409 already_recorded);
- invites: used, revoked or expired 30 days ago (until then a link opened late still says
  "already used" or "expired" instead of "not found");
- reminders: sent or settled 90 days ago (the patient's and clinic's views look at weeks).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from anagen.extensions import db
from anagen.models import IdempotencyRecord, Invite, ReminderOccurrence, UserSession
from anagen.models.session import AccountType

SESSION_GRACE = dt.timedelta(days=1)
IDEMPOTENCY_KEEP = dt.timedelta(days=30)
INVITE_KEEP = dt.timedelta(days=30)
REMINDER_KEEP = dt.timedelta(days=90)
SETTLED = ("sent", "cancelled", "failed", "no_subscription")


@dataclass(frozen=True)
class SessionLimits:
    """How long a session of one kind of account lives: since its last use, and at most."""

    idle: dt.timedelta
    absolute: dt.timedelta


def purge_ended_sessions(
    now: dt.datetime, staff: SessionLimits, patient: SessionLimits, grace: dt.timedelta = SESSION_GRACE
) -> int:
    """Delete sessions that ended (revoked, idle too long, past their lifetime) `grace` ago."""
    cutoff = now - grace
    table = UserSession.__table__

    def ended(kind: AccountType, limits: SessionLimits):
        return sa.and_(
            table.c.user_type == kind,
            sa.or_(
                table.c.last_seen_at < cutoff - limits.idle, table.c.created_at < cutoff - limits.absolute
            ),
        )

    return db.session.execute(
        sa.delete(table).where(
            sa.or_(
                table.c.revoked_at < cutoff,
                ended(AccountType.STAFF, staff),
                ended(AccountType.PATIENT, patient),
            )
        )
    ).rowcount


def purge_idempotency_records(now: dt.datetime, keep: dt.timedelta = IDEMPOTENCY_KEEP) -> int:
    """Delete idempotency records older than `keep`."""
    table = IdempotencyRecord.__table__
    return db.session.execute(sa.delete(table).where(table.c.created_at < now - keep)).rowcount


def purge_invites(now: dt.datetime, keep: dt.timedelta = INVITE_KEEP) -> int:
    """Delete invites used, revoked or expired more than `keep` ago."""
    table = Invite.__table__
    cutoff = now - keep
    return db.session.execute(
        sa.delete(table).where(
            sa.or_(table.c.used_at < cutoff, table.c.revoked_at < cutoff, table.c.expires_at < cutoff)
        )
    ).rowcount


def purge_reminders(now: dt.datetime, keep: dt.timedelta = REMINDER_KEEP) -> int:
    """Delete reminders sent (or settled otherwise) more than `keep` ago."""
    table = ReminderOccurrence.__table__
    return db.session.execute(
        sa.delete(table).where(
            table.c.status.in_(SETTLED), sa.func.coalesce(table.c.sent_at, table.c.due_at) < now - keep
        )
    ).rowcount


def purge_all(now: dt.datetime, staff: SessionLimits, patient: SessionLimits) -> dict[str, int]:
    """Every purge with its default retention (the caller commits); rows deleted by each."""
    return {
        "sessions": purge_ended_sessions(now, staff, patient),
        "idempotency_records": purge_idempotency_records(now),
        "invites": purge_invites(now),
        "reminders": purge_reminders(now),
    }
