"""Server-side session records (revocable sign-ins) and idempotent request records."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base, str_enum


class AccountType(enum.StrEnum):
    STAFF = "staff"
    PATIENT = "patient"


class UserSession(Base):
    """A signed-in device. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "user_session"
    __table_args__ = (sa.Index("ix_user_session_user", "user_type", "user_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_type: so.Mapped[AccountType] = so.mapped_column(str_enum(AccountType, 10))
    user_id: so.Mapped[int]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_seen_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    reauth_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    revoked_at: so.Mapped[dt.datetime | None]
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(300))


class IdempotencyRecord(Base):
    """The first response to a request made with an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("scope", "key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # "patient:<id>" — keys are only unique per account.
    scope: so.Mapped[str] = so.mapped_column(sa.String(40))
    key: so.Mapped[str] = so.mapped_column(sa.String(100))
    request_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    status_code: so.Mapped[int | None]
    response_body: so.Mapped[dict | None] = so.mapped_column(sa.JSON)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
