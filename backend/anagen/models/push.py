"""Web-push subscriptions and the reminder occurrences the dispatcher sends."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base


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


class ReminderOccurrence(Base):
    """One reminder to send at one instant; unique per planned application, kind and snooze."""

    __tablename__ = "reminder_occurrence"
    __table_args__ = (
        sa.UniqueConstraint("planned_application_id", "kind", "seq"),
        sa.Index("ix_reminder_occurrence_due", "status", "due_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patient.id"), index=True)
    # NULL only for reminders not tied to an application (a test notification).
    planned_application_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("planned_application.id"), index=True
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(30))
    # 0 for the scheduled reminder, 1.. for each snooze of it.
    seq: so.Mapped[int] = so.mapped_column(default=0)
    due_at: so.Mapped[dt.datetime]
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="pending")
    lease_until: so.Mapped[dt.datetime | None]
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    sent_at: so.Mapped[dt.datetime | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
