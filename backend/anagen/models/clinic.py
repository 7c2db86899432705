"""A clinic and the staff who work there."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base, str_enum

if TYPE_CHECKING:
    from anagen.models.patient import Patient


class StaffRole(enum.StrEnum):
    ADMIN = "admin"
    CLINICIAN = "clinician"


class Clinic(Base):
    __tablename__ = "clinic"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    slug: so.Mapped[str] = so.mapped_column(sa.String(80), unique=True)
    time_zone: so.Mapped[str] = so.mapped_column(sa.String(64), default="Europe/London")
    # Clinic-wide protocol parameter overrides, validated against the protocol's bounds.
    protocol_overrides: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    # Shown to patients (the printed invite sheet): how to reach the clinic.
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    # Where the clinic treats patients (names, as the clinic calls them).
    locations: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    # The reminder time an enrolment proposes (the patient's local time); NULL: 20:00.
    default_reminder_time: so.Mapped[dt.time | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    staff: so.WriteOnlyMapped[StaffUser] = so.relationship(back_populates="clinic")
    patients: so.WriteOnlyMapped[Patient] = so.relationship(back_populates="clinic")


class StaffUser(Base):
    __tablename__ = "staff_user"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    clinic_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("clinic.id"), index=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    role: so.Mapped[StaffRole] = so.mapped_column(str_enum(StaffRole, 20))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    clinic: so.Mapped[Clinic] = so.relationship(back_populates="staff")
