"""The background job that registers follow-up photos onto their baseline, and the clinician's
two-landmark alignment (photos/alignment.py, photos/views_alignment.py).

Photos are real JPEG display images of a generated scalp (tests/support/scalp.py) in the app's
photo storage; the job runs as the dispatcher runs it (`register_pending`), also from parallel
threads on their own database connections to show that no photo is registered twice."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from support import photo_rows, scalp

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import Photo
from anagen.models.photo import PhotoStatus, RegistrationStatus
from anagen.photos import alignment, registration
from anagen.photos.storage import photo_storage

WIDTH, HEIGHT = photo_rows.WIDTH, photo_rows.HEIGHT
add_photo = photo_rows.add_photo


def test_a_follow_up_is_registered_onto_the_baseline_and_its_aligned_image_stored(patient, scalp_images):
    baseline_image, follow_up_image, truth = scalp_images
    baseline = add_photo(patient, "baseline", "crown", baseline_image)
    follow_up = add_photo(patient, "end_of_kit_1", "crown", follow_up_image)

    counts = alignment.register_pending()

    assert counts == {"registered": 1}
    db.session.refresh(follow_up)
    assert follow_up.registration_status == RegistrationStatus.REGISTERED
    assert follow_up.registration_reference_id == baseline.id
    assert follow_up.registration_inlier_ratio >= registration.MIN_INLIER_RATIO
    assert follow_up.registration_inliers >= registration.MIN_INLIERS
    assert follow_up.registered_at is not None
    assert follow_up.registration_lease_until is None
    assert scalp.grid_error(np.array(follow_up.registration_transform), truth, WIDTH, HEIGHT) < 2.0
    # The aligned image: a JPEG in the baseline's frame, showing the baseline's hair where it is.
    aligned = registration.decode(photo_storage().read(follow_up.aligned_key))
    assert aligned.shape == baseline_image.shape
    centre = (slice(HEIGHT // 4, 3 * HEIGHT // 4), slice(WIDTH // 4, 3 * WIDTH // 4))
    grey = [image[centre].mean(axis=2).ravel() for image in (aligned, baseline_image)]
    assert np.corrcoef(*grey)[0, 1] > 0.8
    # The baseline itself is untouched, and a second run finds nothing to do.
    db.session.refresh(baseline)
    assert baseline.registration_status == RegistrationStatus.NOT_NEEDED
    assert alignment.register_pending() == {}


def test_a_photo_of_something_else_is_low_confidence_without_an_aligned_image(patient, scalp_images):
    baseline_image, _follow_up, _truth = scalp_images
    add_photo(patient, "baseline", "crown", baseline_image)
    elsewhere = add_photo(
        patient, "end_of_kit_1", "crown", scalp.scalp_image(WIDTH, HEIGHT, seed=5, hairs=1500)
    )

    assert alignment.register_pending() == {"low_confidence": 1}

    db.session.refresh(elsewhere)
    assert elsewhere.registration_status == RegistrationStatus.LOW_CONFIDENCE
    assert elsewhere.registration_transform is None
    assert elsewhere.aligned_key is None
    assert elsewhere.registration_inlier_ratio < registration.MIN_INLIER_RATIO


def test_without_a_baseline_of_the_view_no_registration_is_needed(patient, scalp_images):
    baseline_image, follow_up_image, _truth = scalp_images
    add_photo(patient, "baseline", "parting", baseline_image)  # another view
    follow_up = add_photo(patient, "end_of_kit_1", "crown", follow_up_image)

    assert alignment.register_pending() == {"not_needed": 1}
    db.session.refresh(follow_up)
    assert follow_up.registration_status == RegistrationStatus.NOT_NEEDED
    assert follow_up.registration_reference_id is None


def test_a_new_baseline_requeues_the_views_follow_ups(patient, scalp_images):
    baseline_image, follow_up_image, _truth = scalp_images
    follow_up = add_photo(patient, "end_of_kit_1", "crown", follow_up_image)
    other_view = add_photo(patient, "end_of_kit_1", "parting", follow_up_image)
    assert alignment.register_pending() == {"not_needed": 2}

    baseline = add_photo(patient, "baseline", "crown", baseline_image)
    assert alignment.requeue_for_reference(baseline) == 1
    db.session.commit()

    assert alignment.register_pending() == {"registered": 1}
    db.session.refresh(follow_up)
    db.session.refresh(other_view)
    assert follow_up.registration_reference_id == baseline.id
    assert other_view.registration_status == RegistrationStatus.NOT_NEEDED


def test_a_photo_that_keeps_failing_is_marked_failed(patient, scalp_images, monkeypatch):
    baseline_image, follow_up_image, _truth = scalp_images
    add_photo(patient, "baseline", "crown", baseline_image)
    follow_up = add_photo(patient, "end_of_kit_1", "crown", follow_up_image)

    def broken(moving, reference):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(registration, "register", broken)
    start = utcnow()
    for attempt in range(alignment.MAX_ATTEMPTS):
        # Each failed attempt leaves its lease to run out; the next claim comes after it.
        now = start + attempt * (alignment.LEASE + alignment.LEASE)
        assert alignment.register_pending(now=now) == {"failed": 1}
        db.session.refresh(follow_up)
        expected = (
            RegistrationStatus.FAILED if attempt == alignment.MAX_ATTEMPTS - 1 else RegistrationStatus.PENDING
        )
        assert follow_up.registration_status == expected
    assert follow_up.registration_attempts == alignment.MAX_ATTEMPTS
    assert alignment.register_pending(now=start + 10 * alignment.LEASE) == {}


def test_a_withdrawn_photo_is_not_registered(patient, scalp_images):
    baseline_image, follow_up_image, _truth = scalp_images
    add_photo(patient, "baseline", "crown", baseline_image)
    add_photo(patient, "end_of_kit_1", "crown", follow_up_image, status=PhotoStatus.WITHDRAWN)

    assert alignment.register_pending() == {}


def test_a_claim_lost_meanwhile_records_nothing_and_leaves_no_file(patient, scalp_images):
    """A worker whose lease ran out (and whose photo another worker claimed) writes nothing."""
    baseline_image, follow_up_image, _truth = scalp_images
    add_photo(patient, "baseline", "crown", baseline_image)
    follow_up = add_photo(patient, "end_of_kit_1", "crown", follow_up_image)
    now = utcnow()
    first = alignment.claim(now)
    second = alignment.claim(now + alignment.LEASE + alignment.LEASE)  # the first's lease ran out
    assert first.photo_id == second.photo_id == follow_up.id

    assert alignment.register_photo(first) is None
    db.session.refresh(follow_up)
    assert follow_up.registration_status == RegistrationStatus.PENDING
    assert follow_up.aligned_key is None
    assert alignment.register_photo(second) == RegistrationStatus.REGISTERED


def test_parallel_workers_register_each_photo_once(app, patient, scalp_images, monkeypatch):
    """Four workers, released together on their own connections, share six pending photos: every
    photo is registered, none twice (PostgreSQL: SKIP LOCKED; SQLite: serialised writers)."""
    baseline_image, follow_up_image, _truth = scalp_images
    add_photo(patient, "baseline", "crown", baseline_image)
    small = follow_up_image[::2, ::2].copy()  # registration's result is not the point here
    ids = {add_photo(patient, f"ad_hoc_{i}", "crown", small).id for i in range(6)}
    seen: list[int] = []
    lock = threading.Lock()
    original = alignment.register_photo

    def counting(claimed, now=None):
        with lock:
            seen.append(claimed.photo_id)
        return original(claimed, now)

    monkeypatch.setattr(alignment, "register_photo", counting)
    db.session.remove()
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work():
        with app.app_context():
            try:
                barrier.wait(10)
                alignment.register_pending()
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert not errors, errors
    assert sorted(seen) == sorted(ids)
    statuses = db.session.scalars(sa.select(Photo.registration_status).where(Photo.id.in_(ids))).all()
    assert RegistrationStatus.PENDING not in statuses
    attempts = db.session.scalars(sa.select(Photo.registration_attempts).where(Photo.id.in_(ids))).all()
    assert attempts == [1] * len(ids)


def test_the_dispatchers_job_registers_what_is_pending_and_stops_when_told(app, patient, scalp_images):
    from anagen.reminders import loop

    baseline_image, follow_up_image, _truth = scalp_images
    add_photo(patient, "baseline", "crown", baseline_image)
    follow_up_id = add_photo(patient, "end_of_kit_1", "crown", follow_up_image).id
    stop = threading.Event()
    stop.set()

    assert loop.align_photos(app, {"stop": stop}) is None  # stopping: claims nothing
    assert loop.align_photos(app, {"stop": threading.Event()}) == {"registered": 1}
    db.session.expire_all()
    assert db.session.get(Photo, follow_up_id).registration_status == RegistrationStatus.REGISTERED


def test_uploaded_photos_are_registered_end_to_end(patient, scalp_images):
    """Through the upload service (pipeline, display size, storage) and the job: the follow-up's
    display image comes back onto the baseline's within two pixels."""
    from anagen.photos import pipeline, uploads

    size = (2000, 1500)  # uploaded larger than the display size: both are scaled to it
    baseline_image = scalp.scalp_image(*size, seed=31, hairs=4000)
    follow_up_image, truth = scalp.resample(baseline_image, dx=60, dy=40, degrees=-9, scale=0.94, gamma=0.8)
    store = photo_storage()

    def send(checkpoint, image):
        data = registration.encode_jpeg(image, quality=92)
        return uploads.upload(
            patient,
            checkpoint=checkpoint,
            view="crown",
            data=data,
            declared_type="image/jpeg",
            store=store,
            limits=pipeline.Limits(),
        ).photo

    follow_up = send("end_of_kit_1", follow_up_image)
    baseline = send("baseline", baseline_image)  # after the follow-up: it re-queues it
    assert follow_up.registration_status == RegistrationStatus.PENDING

    assert alignment.register_pending() == {"registered": 1}

    db.session.refresh(follow_up)
    assert follow_up.registration_reference_id == baseline.id
    scale = np.diag([follow_up.display_width / size[0], follow_up.display_width / size[0], 1.0])
    display_truth = scale @ truth @ np.linalg.inv(scale)
    error = scalp.grid_error(
        np.array(follow_up.registration_transform),
        display_truth,
        follow_up.display_width,
        follow_up.display_height,
    )
    assert error < 2.0
    aligned = registration.decode(store.read(follow_up.aligned_key))
    assert aligned.shape[:2] == (baseline.display_height, baseline.display_width)


def test_the_dispatcher_process_registers_a_pending_photo(
    app, database_url, instance_dir, patient, scalp_images
):
    """`flask dispatcher --once`, a process of its own on the same database and photo storage."""
    baseline_image, follow_up_image, _truth = scalp_images
    add_photo(patient, "baseline", "crown", baseline_image)
    follow_up_id = add_photo(patient, "end_of_kit_1", "crown", follow_up_image).id
    backend = Path(__file__).resolve().parents[2] / "backend"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ANAGEN_INSTANCE_PATH": str(instance_dir),
        "PHOTO_DIR": app.config["PHOTO_DIR"],
        "PUSH_SENDER_PROCESSES": "0",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(backend), os.environ.get("PYTHONPATH")])),
    }

    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "anagen", "dispatcher", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "photos registered: registered=1" in done.stdout + done.stderr
    db.session.expire_all()
    photo = db.session.get(Photo, follow_up_id)
    assert photo.registration_status == RegistrationStatus.REGISTERED
    assert photo_storage().exists(photo.aligned_key)
