"""Stored protocol definitions: versioned, validated data (see anagen.protocol)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base


class ProtocolVersion(Base):
    __tablename__ = "protocol_version"
    __table_args__ = (
        sa.UniqueConstraint("clinic_id", "key", "version"),
        # NULLs are distinct in the constraint above, so the shipped ones need their own.
        sa.Index(
            "uq_protocol_version_builtin",
            "key",
            "version",
            unique=True,
            sqlite_where=sa.text("clinic_id IS NULL"),
            postgresql_where=sa.text("clinic_id IS NULL"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # NULL: a protocol shipped with Anagen and offered to every clinic.
    clinic_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("clinic.id"), index=True)
    key: so.Mapped[str] = so.mapped_column(sa.String(80))
    version: so.Mapped[int]
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    definition: so.Mapped[dict] = so.mapped_column(sa.JSON)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
