"""Progress photos, by checkpoint and view."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base


class Photo(Base):
    __tablename__ = "photo"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patient.id"), index=True)
    course_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("course.id"))
    checkpoint: so.Mapped[str] = so.mapped_column(sa.String(40))
    view: so.Mapped[str] = so.mapped_column(sa.String(40))
    # Key in the photo storage (never a public path).
    storage_key: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    content_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    media_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    width: so.Mapped[int]
    height: so.Mapped[int]
    taken_at: so.Mapped[dt.datetime | None]
    uploaded_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    reviewed_at: so.Mapped[dt.datetime | None]
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("staff_user.id"))
