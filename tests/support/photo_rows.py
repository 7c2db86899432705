"""Photo rows as the upload leaves them, for the alignment tests: a real display JPEG in the app's
photo storage and the row pointing at it (registration pending; not needed for a baseline)."""

from __future__ import annotations

import functools

import numpy as np
import sqlalchemy as sa

from anagen.extensions import db
from anagen.models import Course, Photo
from anagen.models.photo import RegistrationStatus
from anagen.photos import alignment, pipeline, registration, uploads
from anagen.photos.storage import new_key, photo_storage
from support import photofiles, scalp

WIDTH, HEIGHT = 960, 720


@functools.cache
def scalp_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(baseline, follow-up, truth): a generated scalp at display size, and a shifted, turned,
    zoomed and re-lit copy of it with the transform that takes the copy back onto it."""
    baseline = scalp.scalp_image(WIDTH, HEIGHT, seed=21, hairs=1500)
    follow_up, truth = scalp.resample(
        baseline, dx=30, dy=-18, degrees=7, scale=1.06, contrast=0.85, gamma=1.25
    )
    return baseline, follow_up, truth


def add_photo(patient, checkpoint: str, view: str, image: np.ndarray, **fields) -> Photo:
    """A photo as the upload leaves it: its display JPEG in the storage, registration pending
    (not needed for a baseline)."""
    store = photo_storage()
    data = registration.encode_jpeg(image)
    key = new_key(patient.id, "display.jpg")
    store.write(key, data, "image/jpeg")
    height, width = image.shape[:2]
    fields.setdefault(
        "registration_status",
        RegistrationStatus.NOT_NEEDED if checkpoint == alignment.BASELINE else RegistrationStatus.PENDING,
    )
    photo = Photo(
        patient_id=patient.id,
        course_id=db.session.scalar(sa.select(Course.id).where(Course.patient_id == patient.id)),
        checkpoint=checkpoint,
        view=view,
        storage_key=new_key(patient.id, "master.jpg"),
        display_key=key,
        content_hash=f"{key:0>64}"[-64:],
        media_type="image/jpeg",
        width=width,
        height=height,
        display_width=width,
        display_height=height,
        **fields,
    )
    db.session.add(photo)
    db.session.commit()
    return photo


def uploaded(patient, seed: int, view: str = "crown", checkpoint: str = "ad_hoc") -> Photo:
    """A phone JPEG (photofiles.phone_jpeg(seed)) received through the patient's upload service."""
    return uploads.upload(
        patient,
        checkpoint=checkpoint,
        view=view,
        data=photofiles.phone_jpeg(seed=seed),
        declared_type="image/jpeg",
        store=photo_storage(),
        limits=pipeline.Limits(),
    ).photo
