"""The clinic's side of the photos: marking them reviewed, commenting to the patient, and the
photos still awaiting review."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clinic import flags as clinic_flags
from anagen.clock import utcnow
from anagen.errors import Conflict, InvalidInput
from anagen.extensions import db
from anagen.models import Course, Patient, Photo, PhotoComment, PhotoStatus, StaffUser
from anagen.reminders import occurrences as reminders

MAX_COMMENT = 2000


def mark_reviewed(photo: Photo, staff: StaffUser, now: dt.datetime | None = None) -> Photo:
    """The clinician has looked at the photo (the first review stands: idempotent)."""
    if photo.status == PhotoStatus.WITHDRAWN:
        raise Conflict("This photo was withdrawn by the patient.", code="photo_withdrawn")
    if photo.reviewed_at is None:
        photo.reviewed_at = now or utcnow()
        photo.reviewed_by_id = staff.id
        photo.reviewed_by = staff
    return photo


def add_comment(photo: Photo, staff: StaffUser, text: str, now: dt.datetime | None = None) -> PhotoComment:
    """A comment to the patient about their photo; the photo counts as reviewed. The patient gets a
    notice that opens their photos (never the text)."""
    text = text.strip()
    if not text:
        raise InvalidInput("Write a comment first.", {"text": "Must not be empty"})
    if len(text) > MAX_COMMENT:
        raise InvalidInput("This comment is too long.", {"text": f"At most {MAX_COMMENT} characters"})
    mark_reviewed(photo, staff, now)
    comment = PhotoComment(
        photo=photo, author_staff_id=staff.id, author=staff, text=text, created_at=now or utcnow()
    )
    db.session.add(comment)
    db.session.flush()
    reminders.queue_photo_comment_notice(db.session.get(Patient, photo.patient_id))
    return comment


def awaiting_review_query(clinic_id: int) -> sa.Select:
    return (
        sa.select(Photo)
        .join(Patient, Patient.id == Photo.patient_id)
        .where(
            Patient.clinic_id == clinic_id, Photo.status == PhotoStatus.ACTIVE, Photo.reviewed_at.is_(None)
        )
    )


def awaiting_review(clinic_id: int, limit: int = 200) -> list[Photo]:
    """The clinic's photos nobody has reviewed yet, oldest first, with their patients."""
    query = (
        awaiting_review_query(clinic_id)
        .options(
            so.contains_eager(Photo.patient),
            so.selectinload(Photo.comments).joinedload(PhotoComment.author),
            so.selectinload(Photo.course).joinedload(Course.protocol_version),
        )
        .order_by(Photo.uploaded_at, Photo.id)
        .limit(limit)
    )
    return list(db.session.scalars(query).unique())


def awaiting_review_count(clinic_id: int) -> int:
    """How many of the clinic's photos await review (the dashboard's flag)."""
    query = awaiting_review_query(clinic_id).with_only_columns(sa.func.count(Photo.id))
    return db.session.scalar(query) or 0


def awaiting_review_by_patient(clinic_id: int) -> dict[int, int]:
    """Photos awaiting review per patient of the clinic (patients with none are left out)."""
    query = awaiting_review_query(clinic_id).with_only_columns(Photo.patient_id, sa.func.count(Photo.id))
    return dict(db.session.execute(query.group_by(Photo.patient_id)).tuples().all())


def _awaiting_review_since(ctx: clinic_flags.FlagContext):
    """The newest photo of the patient nobody has reviewed yet (NULL when there is none): a later
    upload raises an acknowledged flag again."""
    return (
        sa.select(sa.func.max(clinic_flags.epoch(Photo.uploaded_at)))
        .where(
            Photo.patient_id == ctx.patient_id,
            Photo.status == PhotoStatus.ACTIVE,
            Photo.reviewed_at.is_(None),
        )
        .scalar_subquery()
    )


clinic_flags.register(
    clinic_flags.Flag(
        "photos_awaiting_review",
        "Photos awaiting review",
        "The patient sent photos that nobody at the clinic has reviewed yet.",
        _awaiting_review_since,
    )
)
