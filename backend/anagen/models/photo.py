"""Progress photos by checkpoint and view, the clinic's comments on them, their registration onto the
baseline, and the clinician's outcome measures (trichoscopy) per target area."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.models.base import Base, str_enum

if TYPE_CHECKING:
    from anagen.models.clinic import StaffUser
    from anagen.models.course import Course
    from anagen.models.patient import Patient


class PhotoStatus(enum.StrEnum):
    ACTIVE = "active"
    # Sent by mistake: the patient took it back. The row and its files stay (the clinic sees that a
    # photo was withdrawn, not what it showed: the files are no longer served).
    WITHDRAWN = "withdrawn"


class RegistrationStatus(enum.StrEnum):
    """Where a photo stands in being registered onto the baseline photo of the same view."""

    NOT_NEEDED = "not_needed"  # a baseline photo, or no baseline of this view to register onto
    PENDING = "pending"  # waiting for the background job
    REGISTERED = "registered"  # automatic, confident (inlier ratio above the threshold)
    LOW_CONFIDENCE = "low_confidence"  # automatic but not confident: the clinician should align it
    MANUAL = "manual"  # aligned by the clinician from two landmark pairs
    FAILED = "failed"  # no transform found


class Photo(Base):
    __tablename__ = "photo"
    __table_args__ = (
        # The same file sent twice to the same view is one photo (the upload is idempotent): at most
        # one active row per content hash, view and checkpoint. A withdrawn one may be sent again.
        sa.Index(
            "uq_photo_active_content",
            "patient_id",
            "checkpoint",
            "view",
            "content_hash",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
        sa.Index("ix_photo_awaiting_review", "status", "reviewed_at"),
        sa.Index("ix_photo_registration_pending", "registration_status", "registration_lease_until"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patient.id"), index=True)
    course_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("course.id"))
    # A checkpoint key of the course's protocol, or "ad_hoc".
    checkpoint: so.Mapped[str] = so.mapped_column(sa.String(40))
    view: so.Mapped[str] = so.mapped_column(sa.String(40))
    status: so.Mapped[PhotoStatus] = so.mapped_column(
        str_enum(PhotoStatus, 20), default=PhotoStatus.ACTIVE, server_default=PhotoStatus.ACTIVE.value
    )
    # Keys in the photo storage (server-generated, never a public path): the full-resolution
    # master, the display size and the thumbnail (both JPEG).
    storage_key: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    display_key: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    thumb_key: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    # SHA-256 (hex) of the file as uploaded: the idempotency key for a repeated upload.
    content_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    # The master's type (image/jpeg, image/png or image/webp; HEIC arrives as a JPEG master).
    media_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    # The uploaded file's type as its magic bytes said (image/heic, image/jpeg, ...).
    source_media_type: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    byte_size: so.Mapped[int | None]
    # Upright dimensions of the master and of the display image.
    width: so.Mapped[int]
    height: so.Mapped[int]
    display_width: so.Mapped[int | None]
    display_height: so.Mapped[int | None]
    taken_at: so.Mapped[dt.datetime | None]
    uploaded_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    # Taken in clinic by a staff member (the baseline); None when the patient sent it.
    uploaded_by_staff_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("staff_user.id"))
    reviewed_at: so.Mapped[dt.datetime | None]
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("staff_user.id"))
    withdrawn_at: so.Mapped[dt.datetime | None]

    # Registration onto the reference (the baseline photo of the same view), done off the request
    # path (photos/registration.py). The transform is a 3x3 homography, row-major, mapping this
    # photo's display-image pixel coordinates onto the reference's display-image pixel coordinates.
    registration_status: so.Mapped[RegistrationStatus] = so.mapped_column(
        str_enum(RegistrationStatus, 20),
        default=RegistrationStatus.PENDING,
        server_default=RegistrationStatus.PENDING.value,
    )
    registration_reference_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("photo.id"))
    registration_transform: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    # Share of matched features consistent with the transform (0..1), and their count; None for a
    # manual alignment.
    registration_inlier_ratio: so.Mapped[float | None]
    registration_inliers: so.Mapped[int | None]
    # Two landmark pairs set by the clinician: [{"photo": [x, y], "reference": [x, y]}, ...] in
    # display-image pixels.
    registration_landmarks: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    registered_at: so.Mapped[dt.datetime | None]
    registered_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("staff_user.id"))
    # The aligned display image: this photo warped into the reference's display frame (JPEG).
    aligned_key: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    # The registration job's claim (a fencing token, as in reminders/claims.py) and its attempts: a
    # photo that keeps failing the job is marked failed instead of being retried for ever.
    registration_lease_until: so.Mapped[dt.datetime | None]
    registration_attempts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    comments: so.Mapped[list[PhotoComment]] = so.relationship(
        back_populates="photo", order_by=lambda: (PhotoComment.created_at, PhotoComment.id)
    )
    reviewed_by: so.Mapped[StaffUser | None] = so.relationship(foreign_keys=[reviewed_by_id])
    patient: so.Mapped[Patient] = so.relationship()
    course: so.Mapped[Course | None] = so.relationship()

    @property
    def withdrawn(self) -> bool:
        return self.status == PhotoStatus.WITHDRAWN


class PhotoComment(Base):
    """A clinician's comment on a photo, shown to the patient beside it."""

    __tablename__ = "photo_comment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    photo_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("photo.id"), index=True)
    author_staff_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("staff_user.id"))
    text: so.Mapped[str] = so.mapped_column(sa.Text)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    photo: so.Mapped[Photo] = so.relationship(back_populates="comments")
    author: so.Mapped[StaffUser] = so.relationship()


class OutcomeMeasure(Base):
    """A clinician-entered trichoscopy measurement of one target area at one checkpoint: hair count
    per cm² and cumulative hair thickness (mm/cm², the sum of the hair diameters per cm² as
    trichoscopy tools report it). Change is measured against the same area's baseline."""

    __tablename__ = "outcome_measure"
    __table_args__ = (sa.UniqueConstraint("course_id", "checkpoint", "target_area"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    patient_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("patient.id"), index=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id"))
    checkpoint: so.Mapped[str] = so.mapped_column(sa.String(40))
    # One of the patient's target areas (course/today.py SCALP_AREAS).
    target_area: so.Mapped[str] = so.mapped_column(sa.String(40))
    measured_at: so.Mapped[dt.datetime]
    hair_count_per_cm2: so.Mapped[float | None] = so.mapped_column(sa.Float)
    cumulative_thickness_mm_per_cm2: so.Mapped[float | None] = so.mapped_column(sa.Float)
    recorded_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("staff_user.id"))
    recorded_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow, onupdate=utcnow)
