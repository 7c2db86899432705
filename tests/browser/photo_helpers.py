"""Server-side set-up and checks for the photo browser tests (same database as the live server)."""

from __future__ import annotations

from functools import lru_cache

import cv2
import sqlalchemy as sa
from support.scalp import resample, scalp_image

from anagen.extensions import db


def _jpeg(image) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
    assert ok
    return data.tobytes()


@lru_cache(maxsize=8)
def scalp_jpeg(seed: int = 7, width: int = 900, height: int = 1200) -> bytes:
    """A generated scalp-like photo (portrait, 3:4) as a phone would send it."""
    return _jpeg(scalp_image(width, height, seed=seed, hairs=1800))


@lru_cache(maxsize=4)
def moved_scalp_jpeg(seed: int = 7, width: int = 900, height: int = 1200) -> bytes:
    """`scalp_jpeg(seed)` taken again: shifted, turned, closer and re-lit (registration finds it)."""
    return _jpeg(resample(scalp_image(width, height, seed=seed, hairs=1800))[0])


def patient_photos(patient_id: int) -> list:
    """The patient's photo rows, oldest first."""
    from anagen.models import Photo

    db.session.rollback()  # see the live server's commits
    return list(db.session.scalars(sa.select(Photo).where(Photo.patient_id == patient_id).order_by(Photo.id)))


def clinic_photo(
    patient, staff, checkpoint: str, view: str, seed: int = 11, data: bytes | None = None
) -> int:
    """A photo the clinic took of `view` at `checkpoint` (the baseline, at the visit); its id."""
    return sent_photo(patient, checkpoint, view, data or scalp_jpeg(seed=seed), staff=staff)


def sent_photo(patient, checkpoint: str, view: str, data: bytes, staff=None) -> int:
    """A photo received through the upload service (the patient's own unless `staff`); its id."""
    from anagen.models import Patient
    from anagen.photos import pipeline, uploads
    from anagen.photos.storage import photo_storage

    db.session.rollback()
    uploaded = uploads.upload(
        db.session.get(Patient, patient.id),
        checkpoint=checkpoint,
        view=view,
        data=data,
        declared_type="image/jpeg",
        store=photo_storage(),
        limits=pipeline.Limits(),
        staff=staff,
    )
    return uploaded.photo.id


def register_pending() -> dict:
    """What the dispatcher's alignment job does every few seconds, done now."""
    from anagen.photos import alignment

    db.session.rollback()
    return alignment.register_pending()


def photo(photo_id: int):
    from anagen.models import Photo

    db.session.rollback()
    return db.session.get(Photo, photo_id)


def add_comment(photo_id: int, staff, text: str) -> None:
    """A clinician's comment on a photo, for its patient."""
    from anagen.models import Photo, StaffUser
    from anagen.photos import review

    db.session.rollback()
    review.add_comment(db.session.get(Photo, photo_id), db.session.get(StaffUser, staff.id), text)
    db.session.commit()


def kit_one_done(course) -> None:
    """Applications 2 to 12 recorded, every 3.5 days after the clinic's first, so the end-of-kit-1
    photos are due (course_started(45) puts the first 45 days back)."""
    import datetime as dt

    from anagen.course.courses import record_application
    from anagen.models import Course

    course = db.session.get(Course, course.id)
    for number in range(2, 13):
        done = course.first_application_at + dt.timedelta(days=3.5 * (number - 1))
        record_application(course, number, completed_at=done)
    db.session.commit()


def scalp_heic(seed: int = 8) -> bytes:
    """The generated scalp photo as an iPhone saves it (HEIC)."""
    import io

    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    rgb = cv2.cvtColor(scalp_image(600, 800, seed=seed, hairs=900), cv2.COLOR_BGR2RGB)
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="HEIF", quality=80)
    return out.getvalue()
