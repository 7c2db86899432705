"""The audit log: who did what to which record, never with secrets or health values."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    clinic_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("clinic.id"), index=True)
    event: so.Mapped[str] = so.mapped_column(sa.String(60), index=True)
    actor_type: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    actor_id: so.Mapped[int | None]
    target_type: so.Mapped[str | None] = so.mapped_column(sa.String(30))
    target_id: so.Mapped[int | None]
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    detail: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, index=True)
