"""Aligning follow-up photos onto the baseline of the same view: the background job that registers
them once after upload, and the clinician's two-landmark alignment.

The job runs in the dispatcher process (reminders/loop.py), never on the request path: an upload
leaves its photo `pending`; `register_pending` claims pending photos one at a time and registers
each onto its reference (photos/registration.py), stores the aligned display image and the
quality, and marks it `registered` (confident), `low_confidence` (the clinician aligns it by two
landmarks), `not_needed` (no baseline of that view) or `failed`.

Claims follow reminders/claims.py: one UPDATE takes a pending photo whose lease is free or ran
out (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several dispatchers take different photos; on
SQLite the single UPDATE is atomic, writes being serialised) and sets `registration_lease_until`,
which is also the claim's fencing token: the result is recorded only while the photo is still
pending under that token and active, so a worker whose lease ran out, a photo aligned by hand in
the meantime or one withdrawn meanwhile is never overwritten. A worker that dies leaves a lease
that runs out; the photo is claimed again, at most `MAX_ATTEMPTS` times in all.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

import sqlalchemy as sa

from anagen.clock import utcnow
from anagen.errors import Conflict, InvalidInput
from anagen.extensions import db
from anagen.models import Photo
from anagen.models.photo import PhotoStatus, RegistrationStatus
from anagen.photos import registration
from anagen.photos.storage import new_key, photo_storage

log = logging.getLogger(__name__)

BASELINE = "baseline"
# A claim holds this long: far longer than one registration takes (under a second at display
# size), so only a dead worker's claim runs out.
LEASE = dt.timedelta(minutes=5)
# Claims of one photo before it is marked failed (a photo that crashes the worker every time).
MAX_ATTEMPTS = 3
# Candidates one claim looks at before leaving the rest to the next run (SQLite, where workers
# may race for the same candidate).
CLAIM_TRIES = 5
ALIGNED_SUFFIX = "aligned.jpg"

_PHOTO = Photo.__table__


@dataclass(frozen=True, slots=True)
class Claim:
    photo_id: int
    token: dt.datetime  # the lease: the fencing token of every write for this claim
    attempts: int


# -- which photo is the reference ------------------------------------------------------------


def reference_for(photo: Photo) -> Photo | None:
    """The photo a follow-up is registered onto: the latest active baseline photo of the same
    patient and view (a retaken baseline replaces the first), of the same course when the photo
    belongs to one. None for a baseline photo itself, or when there is no baseline of that view."""
    if photo.checkpoint == BASELINE:
        return None
    query = sa.select(Photo).where(
        Photo.patient_id == photo.patient_id,
        Photo.view == photo.view,
        Photo.checkpoint == BASELINE,
        Photo.status == PhotoStatus.ACTIVE,
        Photo.id != photo.id,
    )
    if photo.course_id is not None:
        query = query.where(Photo.course_id == photo.course_id)
    return db.session.scalars(query.order_by(Photo.uploaded_at.desc(), Photo.id.desc()).limit(1)).first()


def requeue_for_reference(baseline: Photo) -> int:
    """A baseline photo was added or withdrawn: its view's follow-ups are registered again (onto
    the new latest baseline, or found to have none). Aligned by hand stays aligned by hand unless
    its own reference was withdrawn. No commit; the number re-queued."""
    conditions = [
        Photo.patient_id == baseline.patient_id,
        Photo.view == baseline.view,
        Photo.checkpoint != BASELINE,
        Photo.status == PhotoStatus.ACTIVE,
    ]
    if baseline.course_id is not None:
        conditions.append(Photo.course_id == baseline.course_id)
    manual_kept = sa.and_(
        Photo.registration_status == RegistrationStatus.MANUAL,
        Photo.registration_reference_id != baseline.id,
    )
    result = db.session.execute(
        sa.update(Photo)
        .where(*conditions, sa.not_(manual_kept))
        .values(
            registration_status=RegistrationStatus.PENDING,
            registration_lease_until=None,
            registration_attempts=0,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# -- the background job ----------------------------------------------------------------------


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def claim(now: dt.datetime | None = None, lease: dt.timedelta = LEASE) -> Claim | None:
    """Claim one pending photo (the oldest upload first) and commit; None when there is none.

    Two statements: the SELECT picks (and on PostgreSQL locks, skipping rows other workers hold)
    a candidate, the UPDATE takes it only if it is still free. Not one UPDATE ... WHERE id IN
    (SELECT ... LIMIT 1 FOR UPDATE SKIP LOCKED): PostgreSQL may rescan such a subquery once per
    row it joins, and so claim more rows than the LIMIT. On SQLite two workers may pick the same
    candidate; the UPDATE's re-check lets only the first take it, and the other picks again."""
    now = now or utcnow()
    token = now + lease
    free = sa.and_(
        _PHOTO.c.registration_status == RegistrationStatus.PENDING.value,
        _PHOTO.c.status == PhotoStatus.ACTIVE.value,
        sa.or_(_PHOTO.c.registration_lease_until.is_(None), _PHOTO.c.registration_lease_until < now),
    )
    candidate = (
        sa.select(_PHOTO.c.id)
        .where(free)
        .order_by(_PHOTO.c.uploaded_at, _PHOTO.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    for _ in range(CLAIM_TRIES):
        photo_id = db.session.scalar(candidate)
        if photo_id is None:
            db.session.commit()
            return None
        row = db.session.execute(
            sa.update(_PHOTO)
            .where(_PHOTO.c.id == photo_id, free)
            .values(registration_lease_until=token, registration_attempts=_PHOTO.c.registration_attempts + 1)
            .returning(_PHOTO.c.registration_attempts)
        ).first()
        db.session.commit()
        if row is not None:
            return Claim(photo_id=photo_id, token=token, attempts=row.registration_attempts)
    return None  # others kept taking the candidates first: the next run goes on


def _record(claimed: Claim, **values) -> bool:
    """Write the outcome if the claim still holds (fenced); commit. False when it no longer does."""
    result = db.session.execute(
        sa.update(_PHOTO)
        .where(
            _PHOTO.c.id == claimed.photo_id,
            _PHOTO.c.registration_status == RegistrationStatus.PENDING.value,
            _PHOTO.c.registration_lease_until == claimed.token,
            _PHOTO.c.status == PhotoStatus.ACTIVE.value,
        )
        .values(registration_lease_until=None, **values)
    )
    db.session.commit()
    return result.rowcount == 1


def register_photo(claimed: Claim, now: dt.datetime | None = None) -> RegistrationStatus | None:
    """Register one claimed photo onto its reference and record the outcome; the status recorded,
    or None when the claim was lost meanwhile (nothing written)."""
    photo = db.session.get(Photo, claimed.photo_id)
    if photo is None:
        return None
    previous_aligned = photo.aligned_key
    reference = reference_for(photo)
    common = {"registered_by_id": None, "registration_landmarks": None}
    if reference is None:
        recorded = _record(
            claimed,
            registration_status=RegistrationStatus.NOT_NEEDED.value,
            registration_reference_id=None,
            registration_transform=None,
            registration_inlier_ratio=None,
            registration_inliers=None,
            aligned_key=None,
            registered_at=None,
            **common,
        )
        return _finished(recorded, RegistrationStatus.NOT_NEEDED, previous_aligned)
    if claimed.attempts > MAX_ATTEMPTS or not photo.display_key or not reference.display_key:
        # Tried (and died) too often, or there is no display image to work on.
        recorded = _record(
            claimed,
            registration_status=RegistrationStatus.FAILED.value,
            registration_reference_id=reference.id,
            registration_transform=None,
            aligned_key=None,
            registered_at=None,
            **common,
        )
        return _finished(recorded, RegistrationStatus.FAILED, previous_aligned)

    photo_id, patient_id, reference_id = photo.id, photo.patient_id, reference.id
    keys = (photo.display_key, reference.display_key)
    # The work below takes a while: no transaction stays open during it (on SQLite a reader
    # would hold back every writer's commit).
    db.session.commit()
    store = photo_storage()
    moving, target = (registration.decode(store.read(key)) for key in keys)
    result = registration.register(moving, target)
    quality = {
        "registration_reference_id": reference_id,
        "registration_inlier_ratio": result.inlier_ratio,
        "registration_inliers": result.inliers,
        "registered_at": now or utcnow(),
        **common,
    }
    if not result.confident:
        log.info("photo %d: registration not confident (%s)", photo_id, result.reason)
        recorded = _record(
            claimed,
            registration_status=RegistrationStatus.LOW_CONFIDENCE.value,
            registration_transform=None,
            aligned_key=None,
            **quality,
        )
        return _finished(recorded, RegistrationStatus.LOW_CONFIDENCE, previous_aligned)

    key = _store_aligned(store, patient_id, moving, target, result.matrix)
    recorded = _record(
        claimed,
        registration_status=RegistrationStatus.REGISTERED.value,
        registration_transform=result.matrix,
        aligned_key=key,
        **quality,
    )
    if not recorded:
        store.delete(key)
    return _finished(recorded, RegistrationStatus.REGISTERED, previous_aligned)


def _finished(recorded: bool, status: RegistrationStatus, previous_aligned: str | None):
    if not recorded:
        return None
    if previous_aligned:
        # The aligned image of an earlier registration (onto a baseline since replaced).
        photo_storage().delete(previous_aligned)
    return status


def _store_aligned(store, patient_id: int, moving, target, matrix) -> str:
    """The follow-up warped into the reference's display frame, written under a new key."""
    height, width = target.shape[:2]
    aligned = registration.warp(moving, matrix, (width, height))
    key = new_key(patient_id, ALIGNED_SUFFIX)
    store.write(key, registration.encode_jpeg(aligned), "image/jpeg")
    return key


def register_pending(
    *, limit: int = 20, stop: threading.Event | None = None, now: dt.datetime | None = None
) -> dict[str, int]:
    """Claim and register pending photos, one at a time, until none is left, `limit` are done or
    `stop` is set; the count per outcome. An error in one photo is logged and leaves its claim to
    run out (it is tried again later, up to MAX_ATTEMPTS claims)."""
    counts: dict[str, int] = {}
    for _ in range(limit):
        if stop is not None and stop.is_set():
            break
        claimed = claim(now)
        if claimed is None:
            break
        try:
            status = register_photo(claimed, now)
        except Exception:
            log.exception("photo %d: registration failed (attempt %d)", claimed.photo_id, claimed.attempts)
            db.session.rollback()
            if claimed.attempts >= MAX_ATTEMPTS:
                _record(claimed, registration_status=RegistrationStatus.FAILED.value)
            status = RegistrationStatus.FAILED
        name = status.value if status else "lost"
        counts[name] = counts.get(name, 0) + 1
    return counts


# -- the clinician's two landmarks -----------------------------------------------------------


def align_by_landmarks(
    photo: Photo, landmarks: list[dict], staff_id: int, now: dt.datetime | None = None
) -> str | None:
    """Align `photo` onto its reference from two landmark pairs the clinician set
    ([{"photo": [x, y], "reference": [x, y]}, x2] in display-image pixels): the exact similarity
    through them, the aligned image stored, status `manual`. The caller commits, then passes the
    returned key (the aligned image this replaced, if any) to `forget_aligned`."""
    if photo.status != PhotoStatus.ACTIVE or not photo.display_key:
        raise Conflict("This photo was withdrawn.", code="photo_withdrawn")
    reference = reference_for(photo)
    if reference is None or not reference.display_key:
        raise Conflict(
            "There is no baseline photo of this view to align this photo with.", code="no_reference"
        )
    photo_points = [pair["photo"] for pair in landmarks]
    reference_points = [pair["reference"] for pair in landmarks]
    _check_inside(photo_points, photo.display_width, photo.display_height, "photo")
    _check_inside(reference_points, reference.display_width, reference.display_height, "reference")
    try:
        matrix = registration.similarity_from_landmarks(photo_points, reference_points)
    except registration.LandmarkError as error:
        raise InvalidInput(str(error).capitalize() + ".", fields={"landmarks": str(error)}) from error

    store = photo_storage()
    moving = registration.decode(store.read(photo.display_key))
    target = registration.decode(store.read(reference.display_key))
    previous_aligned = photo.aligned_key
    photo.aligned_key = _store_aligned(store, photo.patient_id, moving, target, matrix)
    photo.registration_status = RegistrationStatus.MANUAL
    photo.registration_reference_id = reference.id
    photo.registration_transform = matrix
    photo.registration_inlier_ratio = None
    photo.registration_inliers = None
    photo.registration_landmarks = [
        {"photo": [float(x), float(y)], "reference": [float(u), float(v)]}
        for (x, y), (u, v) in zip(photo_points, reference_points, strict=True)
    ]
    photo.registered_at = now or utcnow()
    photo.registered_by_id = staff_id
    photo.registration_lease_until = None  # a job's claim in flight no longer holds (its fence)
    return previous_aligned


def forget_aligned(key: str | None) -> None:
    """Delete an aligned image that a committed change replaced (missing is fine)."""
    if key:
        photo_storage().delete(key)


def _check_inside(points, width: int | None, height: int | None, which: str) -> None:
    if len(points) != 2:
        raise InvalidInput("Set exactly two landmarks.", fields={"landmarks": "exactly two pairs"})
    for x, y in points:
        if width is not None and height is not None and not (0 <= x <= width and 0 <= y <= height):
            raise InvalidInput(
                f"A landmark lies outside the {which} photo.",
                fields={"landmarks": f"outside the {which} image ({width} x {height})"},
            )
