"""Messages from the clinic to a patient, shown on the patient's Today screen."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base

if TYPE_CHECKING:
    from anagen.models.clinic import StaffUser


class ClinicMessage(Base):
    __tablename__ = "clinic_message"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patient.id"), index=True)
    author_staff_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("staff_user.id"))
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    author: so.Mapped[StaffUser] = so.relationship()
