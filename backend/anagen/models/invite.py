"""One-time, expiring invites that turn an enrolled patient into an account."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base


class Invite(Base):
    __tablename__ = "invite"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patient.id"), index=True)
    # Only a SHA-256 of the token is stored: a database leak does not leak usable invites.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    expires_at: so.Mapped[dt.datetime]
    used_at: so.Mapped[dt.datetime | None]
    revoked_at: so.Mapped[dt.datetime | None]
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("staff_user.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
