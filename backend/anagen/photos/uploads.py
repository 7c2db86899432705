"""Progress photos of a patient's course: the checkpoints and views to take, receiving a photo
(pipeline, storage and row together or not at all), withdrawing one, and which file to serve.

Plain functions with plain arguments: the blueprints (photos/views.py) call them for the patient and
for the clinic's staff alike; the access rules (who may reach which photo) are auth/policy.py's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.course.courses import plan_items, require_course
from anagen.course.protocols import course_protocol
from anagen.errors import Forbidden, InvalidInput, NotFound
from anagen.extensions import db
from anagen.models import Course, Patient, Photo, PhotoComment, PhotoStatus, RegistrationStatus, StaffUser
from anagen.photos import alignment, pipeline
from anagen.photos.guides import DISTANCE, LIGHTING, Guide, guides
from anagen.photos.storage import PhotoStorage, new_key
from anagen.protocol.definition import Protocol
from anagen.protocol.engine import checkpoint_dates

log = logging.getLogger(__name__)

BASELINE = "baseline"
AD_HOC = "ad_hoc"
AD_HOC_LABEL = "Extra photos"
# A photo's taken_at may be this far ahead of the server's clock (a phone's clock runs fast).
CLOCK_SKEW = dt.timedelta(minutes=10)
SIZES = ("thumb", "display", "master", "aligned")
SUFFIX = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@dataclass(frozen=True, slots=True)
class Checkpoint:
    key: str
    label: str
    views: tuple[str, ...]
    ad_hoc: bool = False
    in_clinic: bool = False
    due_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ViewPhotos:
    view: str
    photos: list[Photo]

    @property
    def done(self) -> bool:
        return any(p.status == PhotoStatus.ACTIVE for p in self.photos)


@dataclass(frozen=True, slots=True)
class CheckpointPhotos:
    key: str
    label: str
    ad_hoc: bool
    in_clinic: bool
    due_at: dt.datetime | None
    views: list[ViewPhotos]


@dataclass(frozen=True, slots=True)
class PhotoBook:
    """A patient's photos of their current course, by checkpoint and view."""

    patient: Patient
    course: Course
    consent_given: bool
    views: list[Guide]
    checkpoints: list[CheckpointPhotos]
    tips: dict[str, str] = field(default_factory=lambda: {"lighting": LIGHTING, "distance": DISTANCE})


@dataclass(frozen=True, slots=True)
class Uploaded:
    photo: Photo
    created: bool  # False: the same file was already there (a repeated upload)


def checkpoints(course: Course, protocol: Protocol, now: dt.datetime | None = None) -> list[Checkpoint]:
    """The protocol's photo checkpoints with their due times, then the ad-hoc one (any view)."""
    items = plan_items(course, protocol, now or utcnow())
    by_number = {item.number: item for item in items}
    due = {c.key: c.due_at for c in checkpoint_dates(protocol, items)}
    result = [
        Checkpoint(
            key=c.key,
            label=c.label,
            views=c.views,
            in_clinic=bool(getattr(by_number.get(c.after_application), "in_clinic", False)),
            due_at=due.get(c.key),
        )
        for c in protocol.checkpoints
    ]
    result.append(Checkpoint(AD_HOC, AD_HOC_LABEL, tuple(v.key for v in protocol.views), ad_hoc=True))
    return result


def course_photos(course: Course) -> list[Photo]:
    """Every photo of the course, newest first, with its comments and their authors."""
    query = (
        sa.select(Photo)
        .where(Photo.course_id == course.id)
        .options(
            so.selectinload(Photo.comments).joinedload(PhotoComment.author), so.joinedload(Photo.reviewed_by)
        )
        .order_by(Photo.uploaded_at.desc(), Photo.id.desc())
    )
    return list(db.session.scalars(query))


def photo_book(patient: Patient, now: dt.datetime | None = None) -> PhotoBook:
    course = require_course(patient.id)
    protocol = course_protocol(course)
    photos = course_photos(course)
    grid = []
    for checkpoint in checkpoints(course, protocol, now):
        grid.append(
            CheckpointPhotos(
                key=checkpoint.key,
                label=checkpoint.label,
                ad_hoc=checkpoint.ad_hoc,
                in_clinic=checkpoint.in_clinic,
                due_at=checkpoint.due_at,
                views=[
                    ViewPhotos(view, [p for p in photos if p.checkpoint == checkpoint.key and p.view == view])
                    for view in checkpoint.views
                ],
            )
        )
    return PhotoBook(
        patient=patient,
        course=course,
        consent_given=patient.photo_consent_at is not None,
        views=guides(protocol),
        checkpoints=grid,
    )


def set_consent(patient: Patient, consent: bool, now: dt.datetime | None = None) -> None:
    """The patient agrees (again) to share photos with their clinic, or takes the agreement back
    (photos already sent stay with the clinic; no new ones are accepted)."""
    if consent and patient.photo_consent_at is None:
        patient.photo_consent_at = now or utcnow()
    elif not consent:
        patient.photo_consent_at = None


def _validate_slot(protocol: Protocol, course: Course, checkpoint: str, view: str) -> None:
    known = {c.key: c for c in checkpoints(course, protocol)}
    errors = {}
    if checkpoint not in known:
        errors["checkpoint"] = f"must be one of: {', '.join(known)}"
    elif view not in known[checkpoint].views:
        errors["view"] = f"must be one of: {', '.join(known[checkpoint].views)}"
    if errors:
        raise InvalidInput("This photo's checkpoint or view is not one of the course's.", errors)


def _existing(patient_id: int, checkpoint: str, view: str, digest: str) -> Photo | None:
    return db.session.scalar(
        sa.select(Photo).where(
            Photo.patient_id == patient_id,
            Photo.checkpoint == checkpoint,
            Photo.view == view,
            Photo.content_hash == digest,
            Photo.status == PhotoStatus.ACTIVE,
        )
    )


def upload(
    patient: Patient,
    *,
    checkpoint: str,
    view: str,
    data: bytes,
    declared_type: str | None,
    store: PhotoStorage,
    limits: pipeline.Limits,
    taken_at: dt.datetime | None = None,
    staff: StaffUser | None = None,
    consent_in_clinic: bool = False,
    before_commit: Callable[[Photo], None] | None = None,
) -> Uploaded:
    """Receive one photo for a checkpoint and view of the patient's course. COMMITS.

    The same file sent again to the same checkpoint and view is the photo already there (the
    outbox may send twice). The files are written first, each atomically, then the row is committed;
    if anything fails the files written so far are removed and the transaction rolled back, so no
    row is ever without its files and no file is left without its row (`remove_orphans` sweeps up
    after a crash between the two).
    """
    if patient.photo_consent_at is None and not (staff is not None and consent_in_clinic):
        raise Forbidden(
            "The patient has not agreed to share photos yet: confirm that they agreed in clinic."
            if staff is not None
            else "Photos can only be sent once you agree to share them with your clinic.",
            code="photo_consent_required",
        )
    course = require_course(patient.id)
    protocol = course_protocol(course)
    _validate_slot(protocol, course, checkpoint, view)
    now = utcnow()
    if taken_at is not None and taken_at > now + CLOCK_SKEW:
        raise InvalidInput("The photo's time is in the future.", {"taken_at": "must not be in the future"})
    digest = pipeline.content_hash(data)
    existing = _existing(patient.id, checkpoint, view, digest)
    if existing is not None:
        return Uploaded(existing, created=False)

    processed = pipeline.process(data, declared_type, limits)
    if patient.photo_consent_at is None:
        # Staff taking the baseline before the patient has an account: the patient agreed in clinic
        # (committed with the photo, audited by the caller).
        patient.photo_consent_at = now
    written: list[str] = []
    try:
        keys = {}
        for name, rendition in (
            ("master", processed.master),
            ("display", processed.display),
            ("thumb", processed.thumb),
        ):
            key = new_key(patient.id, f"{name}.{SUFFIX[rendition.media_type]}")
            store.write(key, rendition.data, rendition.media_type)
            written.append(key)
            keys[name] = key
        photo = Photo(
            patient_id=patient.id,
            course_id=course.id,
            checkpoint=checkpoint,
            view=view,
            status=PhotoStatus.ACTIVE,
            storage_key=keys["master"],
            display_key=keys["display"],
            thumb_key=keys["thumb"],
            content_hash=digest,
            media_type=processed.master.media_type,
            source_media_type=processed.source_media_type,
            byte_size=processed.byte_size,
            width=processed.master.width,
            height=processed.master.height,
            display_width=processed.display.width,
            display_height=processed.display.height,
            taken_at=taken_at,
            uploaded_at=now,
            uploaded_by_staff_id=staff.id if staff else None,
            # The clinician who took it in clinic has seen it: it does not wait for review.
            reviewed_at=now if staff else None,
            reviewed_by_id=staff.id if staff else None,
            registration_status=RegistrationStatus.NOT_NEEDED
            if checkpoint == BASELINE
            else RegistrationStatus.PENDING,
        )
        db.session.add(photo)
        db.session.flush()
        if checkpoint == BASELINE:
            # Follow-ups of this view are registered again, onto the new baseline.
            alignment.requeue_for_reference(photo)
        if before_commit is not None:
            before_commit(photo)
        db.session.commit()
    except sa.exc.IntegrityError:
        # The same file, sent twice at once: the other request's photo stands.
        db.session.rollback()
        _remove(store, written)
        existing = _existing(patient.id, checkpoint, view, digest)
        if existing is None:
            raise
        return Uploaded(existing, created=False)
    except BaseException:
        db.session.rollback()
        _remove(store, written)
        raise
    return Uploaded(photo, created=True)


def _remove(store: PhotoStorage, keys: list[str | None]) -> None:
    for key in keys:
        if key:
            try:
                store.delete(key)
            except Exception:  # the orphan sweep removes it later
                log.warning("photo file %s could not be removed; the orphan sweep will", key, exc_info=True)


def withdraw(photo: Photo, store: PhotoStorage, now: dt.datetime | None = None) -> Photo:
    """The patient takes back a photo sent by mistake. COMMITS. The row stays (the clinic sees that
    a photo was withdrawn, and when); its files are deleted, so nobody can see it any more."""
    if photo.status == PhotoStatus.WITHDRAWN:
        return photo
    photo.status = PhotoStatus.WITHDRAWN
    photo.withdrawn_at = now or utcnow()
    if photo.checkpoint == BASELINE:
        db.session.flush()
        alignment.requeue_for_reference(photo)
    db.session.commit()
    _remove(store, [photo.storage_key, photo.display_key, photo.thumb_key, photo.aligned_key])
    return photo


def file_key(photo: Photo, size: str) -> str:
    """The storage key of one of a photo's files; NotFound for a withdrawn photo or a missing size."""
    if size not in SIZES:
        raise InvalidInput("Unknown image size.", {"size": f"must be one of: {', '.join(SIZES)}"})
    if photo.status == PhotoStatus.WITHDRAWN:
        raise NotFound("This photo was withdrawn.", code="photo_withdrawn")
    key = {
        "thumb": photo.thumb_key,
        "display": photo.display_key,
        "master": photo.storage_key,
        "aligned": photo.aligned_key,
    }[size]
    if key is None:
        raise NotFound("This photo has no aligned image yet.", code="not_aligned")
    return key


def labels(photo: Photo) -> tuple[str, str]:
    """The photo's checkpoint and view as its course's protocol names them."""
    course = photo.course
    if course is None:
        return photo.checkpoint, photo.view
    protocol = course_protocol(course)
    checkpoint = AD_HOC_LABEL if photo.checkpoint == AD_HOC else photo.checkpoint
    checkpoint = next((c.label for c in protocol.checkpoints if c.key == photo.checkpoint), checkpoint)
    view = next((v.label for v in protocol.views if v.key == photo.view), photo.view)
    return checkpoint, view


def media_type_of(photo: Photo, size: str) -> str:
    return photo.media_type if size == "master" else "image/jpeg"


def referenced_keys() -> set[str]:
    """Every file key an active photo still needs."""
    rows = db.session.execute(
        sa.select(Photo.storage_key, Photo.display_key, Photo.thumb_key, Photo.aligned_key).where(
            Photo.status == PhotoStatus.ACTIVE
        )
    )
    return {key for row in rows for key in row if key}


def remove_orphans(store: PhotoStorage, older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Delete files no active photo needs (left by a crash between writing and committing, or by a
    withdrawal whose delete failed), once they are old enough not to belong to an upload in flight."""
    cutoff = utcnow() - older_than
    needed = referenced_keys()
    removed = 0
    for key in list(store.keys(cutoff)):
        if key not in needed:
            with contextlib.suppress(Exception):
                store.delete(key)
                removed += 1
    return removed
