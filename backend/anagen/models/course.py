"""A patient's course: its kits, the planned applications and what was done."""

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
    from anagen.models.protocol import ProtocolVersion


class CourseStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"  # every application done
    PAUSED = "paused"  # by the clinic, with a reason: no reminders until it resumes
    ENDED = "ended"  # stopped for good by the clinic before it was completed


class Course(Base):
    __tablename__ = "course"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patient.id"), index=True)
    protocol_version_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("protocol_version.id"))
    # Clinic overrides in force for this course (within the protocol's declared bounds).
    protocol_overrides: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    first_application_at: so.Mapped[dt.datetime]
    # Weekdays as ints, 0 = Monday.
    weekdays: so.Mapped[list] = so.mapped_column(sa.JSON)
    reminder_time: so.Mapped[dt.time]
    status: so.Mapped[CourseStatus] = so.mapped_column(
        str_enum(CourseStatus, 20), default=CourseStatus.ACTIVE
    )
    # Set while paused / once ended: a stopped course is judged as of the moment it stopped.
    paused_at: so.Mapped[dt.datetime | None]
    ended_at: so.Mapped[dt.datetime | None]
    # The clinic's reason for the last pause, resume or end (also in the audit log).
    status_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    patient: so.Mapped[Patient] = so.relationship(back_populates="courses")
    protocol_version: so.Mapped[ProtocolVersion] = so.relationship()
    kits: so.Mapped[list[Kit]] = so.relationship(
        back_populates="course", order_by="Kit.number", cascade="all, delete-orphan"
    )
    applications: so.Mapped[list[PlannedApplication]] = so.relationship(
        back_populates="course", order_by="PlannedApplication.number", cascade="all, delete-orphan"
    )


class Kit(Base):
    __tablename__ = "kit"
    __table_args__ = (sa.UniqueConstraint("course_id", "number"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id"), index=True)
    number: so.Mapped[int]
    batch_number: so.Mapped[str | None] = so.mapped_column(sa.String(60))
    expires_on: so.Mapped[dt.date | None]  # the batch's expiry date, as printed on the kit
    vials: so.Mapped[int]
    # Kit 1 is handed over at the first in-clinic application; kit 2 is recorded when sent.
    dispatched_at: so.Mapped[dt.datetime | None]

    course: so.Mapped[Course] = so.relationship(back_populates="kits")


class PlannedApplication(Base):
    __tablename__ = "planned_application"
    __table_args__ = (sa.UniqueConstraint("course_id", "number"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id"), index=True)
    number: so.Mapped[int]
    due_at: so.Mapped[dt.datetime] = so.mapped_column(index=True)
    # The first schedule's due time, kept so the plan can show what moved after a miss.
    original_due_at: so.Mapped[dt.datetime]
    kit_number: so.Mapped[int]
    vial_number: so.Mapped[int]
    opens_vial: so.Mapped[bool]
    in_clinic: so.Mapped[bool] = so.mapped_column(default=False)
    completed_at: so.Mapped[dt.datetime | None]

    course: so.Mapped[Course] = so.relationship(back_populates="applications")
    log: so.Mapped[ApplicationLog | None] = so.relationship(
        back_populates="planned_application", cascade="all, delete-orphan"
    )


class ApplicationLog(Base):
    """What the patient did in one application: step events and the check-in."""

    __tablename__ = "application_log"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    planned_application_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("planned_application.id"), unique=True
    )
    started_at: so.Mapped[dt.datetime | None]
    completed_at: so.Mapped[dt.datetime]
    # [{"key": "stamp", "completed_at": "...", "passes": {...}}, ...]
    steps: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    redness: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    irritation: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    pain: so.Mapped[int | None]
    notes: so.Mapped[str | None] = so.mapped_column(sa.Text)
    flagged: so.Mapped[bool] = so.mapped_column(default=False)
    recorded_by_staff_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("staff_user.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    planned_application: so.Mapped[PlannedApplication] = so.relationship(back_populates="log")
