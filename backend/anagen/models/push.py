"""Web-push subscriptions and the reminder occurrences the dispatcher sends."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base, str_enum


class PushSubscription(Base):
    __tablename__ = "push_subscription"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patient.id"), index=True)
    endpoint: so.Mapped[str] = so.mapped_column(sa.String(1024), unique=True)
    p256dh: so.Mapped[str] = so.mapped_column(sa.String(200))
    auth: so.Mapped[str] = so.mapped_column(sa.String(64))
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_success_at: so.Mapped[dt.datetime | None]
    # Consecutive sends the push service refused as misconfigured (400/401/403); at
    # BROKEN_AFTER_REFUSALS the subscription is marked failed and no longer sent to.
    refusals: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    failed_at: so.Mapped[dt.datetime | None]
    failure: so.Mapped[str | None] = so.mapped_column(sa.String(200))  # the last refusal's reason

    @property
    def state(self) -> str:
        """ "active", or "failed" once the push service kept refusing it."""
        return "failed" if self.failed_at is not None else "active"


BROKEN_AFTER_REFUSALS = 3


class ReminderKind(enum.StrEnum):
    DUE = "due"  # at the application's time
    FOLLOW_UP = "follow_up"  # if not done some hours later
    MISSED = "missed"  # the next morning, once the on-time window has closed
    KIT_LOW = "kit_low"  # the last vial was opened
    CHECKPOINT = "checkpoint"  # progress photos are due
    MESSAGE = "message"  # the clinic wrote (no health details in the push)
    PHOTO_COMMENT = "photo_comment"  # the clinic commented on a progress photo
    TEST = "test"  # "send me a test notification"


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"  # the push service refused it for good
    NO_SUBSCRIPTION = "no_subscription"  # the patient has no working device to send it to
    CANCELLED = "cancelled"  # the application was done first


class ReminderOccurrence(Base):
    """One reminder to send at one instant; unique per planned application, kind and snooze."""

    __tablename__ = "reminder_occurrence"
    __table_args__ = (
        # Also the index of planned_application_id (its leading column).
        sa.UniqueConstraint("planned_application_id", "kind", "seq"),
        # What the claims scan: on PostgreSQL only the rows still to send, so that a sent
        # reminder leaves the index instead of being written into it again (migration
        # e5b9d2c7a104). SQLite keeps every row: it would not use the partial index for a
        # claim's single status.
        sa.Index(
            "ix_reminder_occurrence_due",
            "status",
            "due_at",
            postgresql_where=sa.text("status IN ('pending', 'claimed')"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patient.id"), index=True)
    # NULL only for reminders not tied to an application (a test notification).
    planned_application_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("planned_application.id"))
    kind: so.Mapped[ReminderKind] = so.mapped_column(str_enum(ReminderKind, 30))
    # 0 for the scheduled reminder, 1.. for each snooze of it.
    seq: so.Mapped[int] = so.mapped_column(default=0)
    due_at: so.Mapped[dt.datetime]
    # The application's due time this reminder was planned for: when the application moves
    # (a new time, days or plan), the reminder is sent again for the new time.
    application_due_at: so.Mapped[dt.datetime | None]
    status: so.Mapped[ReminderStatus] = so.mapped_column(
        str_enum(ReminderStatus, 20), default=ReminderStatus.PENDING
    )
    lease_until: so.Mapped[dt.datetime | None]
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    sent_at: so.Mapped[dt.datetime | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
