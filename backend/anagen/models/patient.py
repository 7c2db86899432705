"""A patient of a clinic, following one course at a time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base

if TYPE_CHECKING:
    from anagen.models.clinic import Clinic
    from anagen.models.course import Course


class Patient(Base):
    __tablename__ = "patient"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    clinic_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clinic.id"), index=True)
    first_name: so.Mapped[str] = so.mapped_column(sa.String(100))
    last_name: so.Mapped[str] = so.mapped_column(sa.String(100))
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254), unique=True)
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    date_of_birth: so.Mapped[dt.date | None]
    indication: so.Mapped[str] = so.mapped_column(sa.String(40))
    # The in-clinic scalp exam: findings as recorded by the clinician.
    suitability: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    # Named scalp regions the clinic marked for treatment.
    target_areas: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    time_zone: so.Mapped[str] = so.mapped_column(sa.String(64))
    quiet_hours_start: so.Mapped[dt.time | None]
    quiet_hours_end: so.Mapped[dt.time | None]
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    photo_consent_at: so.Mapped[dt.datetime | None]
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    clinic: so.Mapped[Clinic] = so.relationship(back_populates="patients")
    courses: so.WriteOnlyMapped[Course] = so.relationship(back_populates="patient")

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
