"""A clinician's acknowledgement of a dashboard flag: quiet until something new raises it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base

if TYPE_CHECKING:
    from anagen.models.clinic import StaffUser


class FlagAcknowledgement(Base):
    """One acknowledgement of one flag of one patient. The flag stays quiet while the instant of
    the event that raises it (`event_at`, see clinic/flags.py) is no later than this one's."""

    __tablename__ = "flag_acknowledgement"
    __table_args__ = (sa.Index("ix_flag_acknowledgement_patient_flag", "patient_id", "flag", "event_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patient.id"))
    flag: so.Mapped[str] = so.mapped_column(sa.String(40))
    event_at: so.Mapped[dt.datetime]
    note: so.Mapped[str] = so.mapped_column(sa.Text)
    staff_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("staff_user.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    staff: so.Mapped[StaffUser] = so.relationship()
