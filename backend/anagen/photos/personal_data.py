"""The patient's photos and outcome measures in their own data export (exports/personal.py): what
each photo is, when and by whom it was taken, whether it was reviewed or withdrawn, the clinic's
comments, and the addresses of the images (the patient's own authorised endpoints). Times go
as datetimes: the export writes every one as an ISO 8601 instant."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.exports import personal
from anagen.extensions import db
from anagen.models import OutcomeMeasure, Patient, Photo, PhotoComment, PhotoStatus
from anagen.photos.uploads import labels


def _photo(photo: Photo) -> dict:
    checkpoint, view = labels(photo)
    active = photo.status == PhotoStatus.ACTIVE
    base = f"/api/me/photos/{photo.id}/image?size="
    return {
        "id": photo.id,
        "checkpoint": checkpoint,
        "view": view,
        "status": photo.status.value,
        "taken_at": photo.taken_at,
        "uploaded_at": photo.uploaded_at,
        "taken_by": "clinic" if photo.uploaded_by_staff_id else "you",
        "width": photo.width,
        "height": photo.height,
        "reviewed_at": photo.reviewed_at,
        "withdrawn_at": photo.withdrawn_at,
        "images": {size: base + size for size in ("display", "master")} if active else None,
        "comments": [
            {"text": c.text, "author": c.author.name, "created_at": c.created_at} for c in photo.comments
        ],
    }


def photos_section(patient: Patient, now: dt.datetime) -> list[dict]:
    rows = db.session.scalars(
        sa.select(Photo)
        .where(Photo.patient_id == patient.id)
        .options(
            so.selectinload(Photo.comments).joinedload(PhotoComment.author),
            so.selectinload(Photo.course),
        )
        .order_by(Photo.uploaded_at, Photo.id)
    )
    return [_photo(p) for p in rows]


def outcomes_section(patient: Patient, now: dt.datetime) -> list[dict]:
    rows = db.session.scalars(
        sa.select(OutcomeMeasure)
        .where(OutcomeMeasure.patient_id == patient.id)
        .order_by(OutcomeMeasure.measured_at, OutcomeMeasure.id)
    )
    return [
        {
            "checkpoint": r.checkpoint,
            "target_area": r.target_area,
            "measured_at": r.measured_at,
            "hair_count_per_cm2": r.hair_count_per_cm2,
            "cumulative_thickness_mm_per_cm2": r.cumulative_thickness_mm_per_cm2,
        }
        for r in rows
    ]


personal.register("photos", photos_section)
personal.register("outcome_measures", outcomes_section)
