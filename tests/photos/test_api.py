"""Progress photos through the API: the patient's capture and withdrawal, the clinic's review,
comments and outcome measures, who may fetch what, and that a refused or failed upload leaves
nothing behind (no row, no file)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import ApiClient
from PIL import Image, ImageOps
from support import photofiles
from support.factories import make_clinic, make_enrolled_patient, make_staff

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import AuditEvent, Photo, PhotoStatus, RegistrationStatus
from anagen.photos import uploads
from anagen.photos.storage import LocalStorage, photo_storage


@pytest.fixture
def world(app):
    with app.app_context():
        clinic, admin = make_clinic()
        clinician = make_staff(clinic)
        other_clinic, other_admin = make_clinic()
        patient, course = make_enrolled_patient(clinic)
        other_patient, _ = make_enrolled_patient(clinic)
        return {
            "patient": (patient.id, patient.email),
            "other_patient": (other_patient.id, other_patient.email),
            "clinician": clinician.email,
            "other_admin": other_admin.email,
            "course_id": course.id,
        }


def _client(app, email, account="patient") -> ApiClient:
    client = ApiClient(app.test_client())
    client.login(email, account=account)
    return client


@pytest.fixture
def patient(app, world):
    return _client(app, world["patient"][1])


@pytest.fixture
def clinician(app, world):
    return _client(app, world["clinician"], "staff")


def send(
    client,
    data: bytes,
    *,
    checkpoint="end_of_kit_1",
    view="crown",
    mimetype="image/jpeg",
    path="/api/me/photos",
    **extra,
):
    form = {
        "checkpoint": checkpoint,
        "view": view,
        "file": (io.BytesIO(data), "IMG_0001.jpg", mimetype),
        **extra,
    }
    return client.post(path, data=form, content_type="multipart/form-data")


def stored_files(app) -> list[Path]:
    """The files in the app's local photo folder."""
    with app.app_context():
        root = LocalStorage(app.config["PHOTO_DIR"]).root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def photo_rows(app) -> list[Photo]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Photo)))


@pytest.fixture(autouse=True)
def _empty_photo_folder(app):
    yield
    for path in stored_files(app):
        path.unlink()


def test_the_patient_sees_checkpoints_and_views_from_the_protocol(patient):
    book = patient.get("/api/me/photos").get_json()
    assert book["consent_given"] is True
    assert [c["key"] for c in book["checkpoints"]] == ["baseline", "end_of_kit_1", "end_of_course", "ad_hoc"]
    assert [v["key"] for v in book["views"]] == [
        "crown",
        "parting",
        "frontal_hairline",
        "left_temple",
        "right_temple",
    ]
    for view in book["views"]:
        assert view["label"] and view["guidance"] and view["outline_path"].startswith("M") and view["tips"]
    assert book["tips"]["lighting"] and book["tips"]["distance"]
    baseline = book["checkpoints"][0]
    assert baseline["in_clinic"] is True and baseline["due_at"].endswith("Z")
    assert all(v["done"] is False and v["photos"] == [] for v in baseline["views"])
    assert book["checkpoints"][-1]["ad_hoc"] is True and book["checkpoints"][-1]["due_at"] is None


def test_an_upload_is_stored_stripped_and_served_privately(app, patient):
    data = photofiles.phone_jpeg(800, 600, orientation=6)
    answer = send(patient, data)
    assert answer.status_code == 201, answer.get_json()
    photo = answer.get_json()
    assert photo["status"] == "active" and photo["uploaded_by"] == "patient"
    assert (photo["width"], photo["height"]) == (600, 800)
    assert len(stored_files(app)) == 3
    for size in ("display", "thumb", "master"):
        image = patient.get(photo["images"][size])
        assert image.status_code == 200
        assert image.headers["Cache-Control"] == "private, no-store"
        assert image.headers["X-Content-Type-Options"] == "nosniff"
        assert image.mimetype == "image/jpeg"
        assert b"Phonemaker" not in image.data and b"http://ns.adobe.com" not in image.data
        decoded = Image.open(io.BytesIO(image.data))
        # The master keeps the camera's pixels with the orientation as its one tag; the others are turned.
        assert ImageOps.exif_transpose(decoded).size[0] < ImageOps.exif_transpose(decoded).size[1], (
            "not upright"
        )
        assert dict(decoded.getexif()) == ({0x0112: 6} if size == "master" else {})
        assert not decoded.getexif().get_ifd(0x8825), "GPS survived"
    assert patient.get(photo["images"]["thumb"]).headers["Content-Disposition"].startswith("inline")
    book = patient.get("/api/me/photos").get_json()
    crown = next(v for v in book["checkpoints"][1]["views"] if v["view"] == "crown")
    assert crown["done"] is True and crown["photos"][0]["id"] == photo["id"]
    # A follow-up waits for registration onto the baseline; nothing is stored under a public path.
    assert photo_rows(app)[0].registration_status == RegistrationStatus.PENDING
    assert all("frontend" not in str(p) for p in stored_files(app))


def test_the_same_file_sent_twice_to_the_same_view_is_one_photo(app, patient):
    data = photofiles.phone_jpeg()
    first, again = send(patient, data), send(patient, data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len(photo_rows(app)) == 1 and len(stored_files(app)) == 3
    # Another view is another photo.
    assert send(patient, data, view="parting").status_code == 201


def test_heic_in_jpeg_out(app, patient):
    answer = send(patient, photofiles.heic(), mimetype="image/heic", view="parting")
    assert answer.status_code == 201, answer.get_json()
    for size in ("master", "display"):
        assert patient.get(answer.get_json()["images"][size]).mimetype == "image/jpeg"


@pytest.mark.parametrize(
    "name", ["svg", "html", "zero-byte", "truncated-jpeg", "jpeg-then-html", "png-bomb", "png-declared-jpeg"]
)
def test_a_bad_file_is_refused_and_leaves_nothing_behind(app, patient, name):
    data, declared, status, code = photofiles.refused_corpus()[name]
    answer = send(patient, data, mimetype=declared or "application/octet-stream")
    assert answer.status_code == status
    assert answer.get_json()["error"]["code"] == code
    assert photo_rows(app) == [] and stored_files(app) == []


def test_a_file_over_the_size_limit_is_a_413_and_leaves_nothing(app, patient, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 2000)
    answer = send(patient, photofiles.phone_jpeg(800, 600))
    assert answer.status_code == 413 and answer.get_json()["error"]["code"] == "too_large"
    assert photo_rows(app) == [] and stored_files(app) == []


def test_an_unknown_checkpoint_or_view_is_a_422(patient):
    answer = send(patient, photofiles.phone_jpeg(), checkpoint="someday")
    assert answer.status_code == 422 and "checkpoint" in answer.get_json()["error"]["fields"]
    answer = send(patient, photofiles.phone_jpeg(), view="elbow")
    assert answer.status_code == 422 and "view" in answer.get_json()["error"]["fields"]


def test_uploads_are_rate_limited_per_patient(app, world, patient, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_UPLOAD_RATE_LIMIT", "2 per hour")
    assert send(patient, photofiles.phone_jpeg(seed=1)).status_code == 201
    assert send(patient, photofiles.phone_jpeg(seed=2)).status_code == 201
    assert send(patient, photofiles.phone_jpeg(seed=3)).status_code == 429
    # Another patient has their own allowance.
    other = _client(app, world["other_patient"][1])
    assert send(other, photofiles.phone_jpeg(seed=4)).status_code == 201


def test_without_photo_consent_nothing_is_accepted_until_the_patient_agrees(app, patient):
    assert patient.post("/api/me/photos/consent", {"consent": False}).get_json() == {"consent_given": False}
    answer = send(patient, photofiles.phone_jpeg())
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "photo_consent_required"
    assert photo_rows(app) == [] and stored_files(app) == []
    assert patient.post("/api/me/photos/consent", {"consent": True}).get_json() == {"consent_given": True}
    assert send(patient, photofiles.phone_jpeg()).status_code == 201


def test_a_failure_midway_leaves_no_row_and_no_file(app, world, monkeypatch):
    """A storage write failing after the first file, and a failure after the row was flushed: in
    both cases the files already written are removed and the transaction is rolled back."""
    from anagen.models import Patient
    from anagen.photos import alignment, pipeline

    with app.app_context():
        patient = db.session.get(Patient, world["patient"][0])
        store = photo_storage()
        upload_args = dict(
            data=photofiles.phone_jpeg(), declared_type="image/jpeg", store=store, limits=pipeline.Limits()
        )
        real_write = store.write
        calls = []

        def failing_write(key, data, media_type):
            calls.append(key)
            if len(calls) == 2:
                raise OSError("disk full")
            real_write(key, data, media_type)

        monkeypatch.setattr(store, "write", failing_write)
        with pytest.raises(OSError):
            uploads.upload(patient, checkpoint="end_of_kit_1", view="crown", **upload_args)
        monkeypatch.setattr(store, "write", real_write)

        def crash(photo):
            assert db.session.get(Photo, photo.id) is not None  # the row was there, uncommitted
            raise RuntimeError("the process dies before the commit")

        monkeypatch.setattr(alignment, "requeue_for_reference", crash)
        with pytest.raises(RuntimeError):
            uploads.upload(patient, checkpoint="baseline", view="crown", **upload_args)
    assert photo_rows(app) == [] and stored_files(app) == []


def test_the_same_file_sent_twice_at_once_is_one_photo(app, world, patient, monkeypatch):
    """Two requests with the same file, both past the duplicate check before either commits: the
    database's unique index refuses the second row, whose files are removed; it answers the first."""
    from anagen.models import Patient
    from anagen.photos import pipeline

    data = photofiles.phone_jpeg()
    first = send(patient, data).get_json()
    real_existing = uploads._existing
    checks = []

    def not_yet_committed(*args):
        checks.append(args)
        return None if len(checks) == 1 else real_existing(*args)

    monkeypatch.setattr(uploads, "_existing", not_yet_committed)
    with app.app_context():
        racer = db.session.get(Patient, world["patient"][0])
        result = uploads.upload(
            racer, checkpoint="end_of_kit_1", view="crown", data=data, declared_type="image/jpeg",
            store=photo_storage(), limits=pipeline.Limits(),
        )  # fmt: skip
        assert (result.created, result.photo.id) == (False, first["id"])
    assert len(photo_rows(app)) == 1 and len(stored_files(app)) == 3


def test_the_orphan_sweep_removes_files_without_a_row(app, patient):
    from anagen.photos.storage import new_key

    photo = send(patient, photofiles.phone_jpeg()).get_json()
    with app.app_context():
        store = photo_storage()
        orphan = new_key(1, "master.jpg")
        store.write(orphan, b"left by a crash", "image/jpeg")
        assert uploads.remove_orphans(store, older_than=dt.timedelta(seconds=-5)) == 1
        assert not store.exists(orphan)
    assert patient.get(photo["images"]["master"]).status_code == 200


def test_withdrawing_deletes_the_images_and_the_clinic_sees_it_was_withdrawn(app, world, patient, clinician):
    data = photofiles.phone_jpeg()
    photo = send(patient, data).get_json()
    answer = patient.post(f"/api/me/photos/{photo['id']}/withdraw")
    assert answer.status_code == 200
    withdrawn = answer.get_json()
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawn_at"] and withdrawn["images"] is None
    assert stored_files(app) == []
    assert patient.get(f"/api/me/photos/{photo['id']}/image?size=display").status_code == 404
    assert patient.post(f"/api/me/photos/{photo['id']}/withdraw").status_code == 200  # idempotent
    grid = clinician.get(f"/api/clinic/patients/{world['patient'][0]}/photos").get_json()
    crown = next(v for v in grid["checkpoints"][1]["views"] if v["view"] == "crown")
    assert crown["done"] is False and crown["photos"][0]["status"] == "withdrawn"
    assert clinician.get(f"/api/clinic/photos/{photo['id']}/image?size=master").status_code == 404
    # Withdrawn by mistake: the same file may be sent again.
    assert send(patient, data).status_code == 201


def test_only_the_patient_and_their_clinic_reach_a_photo_and_staff_views_are_audited(
    app, world, patient, clinician
):
    photo = send(patient, photofiles.phone_jpeg()).get_json()
    other_patient = _client(app, world["other_patient"][1])
    other_clinic = _client(app, world["other_admin"], "staff")
    for client, base in ((other_patient, "/api/me/photos"), (other_clinic, "/api/clinic/photos")):
        assert client.get(f"{base}/{photo['id']}").status_code == 404
        assert client.get(f"{base}/{photo['id']}/image?size=master").status_code == 404
    assert app.test_client().get(f"/api/me/photos/{photo['id']}/image").status_code == 401
    assert patient.get(f"/api/clinic/photos/{photo['id']}/image").status_code == 403

    viewed = clinician.get(f"/api/clinic/photos/{photo['id']}/image?size=display")
    assert viewed.status_code == 200 and viewed.headers["Cache-Control"] == "private, no-store"
    downloaded = clinician.get(f"/api/clinic/photos/{photo['id']}/image?size=master&download=true")
    assert downloaded.headers["Content-Disposition"].startswith("attachment")
    with app.app_context():
        events = db.session.execute(
            sa.select(AuditEvent.event, AuditEvent.target_id, AuditEvent.detail).where(
                AuditEvent.event.in_(("photo_viewed", "photo_downloaded"))
            ).order_by(AuditEvent.id)
        ).all()  # fmt: skip
    assert [(e.event, e.target_id, e.detail["size"]) for e in events] == [
        ("photo_viewed", photo["id"], "display"),
        ("photo_downloaded", photo["id"], "master"),
    ]


def test_the_clinic_reviews_and_comments_and_the_patient_sees_the_comment(app, world, patient, clinician):
    first = send(patient, photofiles.phone_jpeg(seed=1)).get_json()
    second = send(patient, photofiles.phone_jpeg(seed=2), view="parting").get_json()
    waiting = clinician.get("/api/clinic/photos/awaiting-review").get_json()
    assert [w["photo"]["id"] for w in waiting] == [first["id"], second["id"]]
    assert (waiting[1]["photo"]["checkpoint_label"], waiting[1]["photo"]["view_label"]) == (
        "End of kit 1",
        "Parting line",
    )
    assert waiting[0]["patient"]["id"] == world["patient"][0]

    reviewed = clinician.post(f"/api/clinic/photos/{first['id']}/review").get_json()
    assert reviewed["reviewed_at"] and reviewed["reviewed_by"]["name"]
    comment = clinician.post(
        f"/api/clinic/photos/{second['id']}/comments", {"text": "Good light, same angle next time."}
    )
    assert comment.status_code == 201
    assert clinician.get("/api/clinic/photos/awaiting-review").get_json() == []

    mine = patient.get(f"/api/me/photos/{second['id']}").get_json()
    assert [c["text"] for c in mine["comments"]] == ["Good light, same angle next time."]
    assert mine["comments"][0]["author"]["name"] and mine["reviewed_at"]
    assert clinician.post(f"/api/clinic/photos/{second['id']}/comments", {"text": "   "}).status_code == 422


def test_staff_take_the_baseline_in_clinic(app, world, clinician):
    answer = send(
        clinician,
        photofiles.phone_jpeg(),
        checkpoint="baseline",
        path=f"/api/clinic/patients/{world['patient'][0]}/photos",
    )
    assert answer.status_code == 201, answer.get_json()
    photo = answer.get_json()
    assert photo["uploaded_by"] == "clinic" and photo["registration"]["status"] == "not_needed"
    assert (photo["checkpoint_label"], photo["view_label"]) == (
        "Before you start (in clinic)",
        "Crown from above",
    )
    # Taken by the clinician: seen already, not waiting for review.
    assert photo["reviewed_at"] and photo["reviewed_by"]["name"]
    assert clinician.get("/api/clinic/photos/awaiting-review").get_json() == []
    assert photo["images"]["display"].startswith("/api/clinic/photos/")
    with app.app_context():
        row = db.session.get(Photo, photo["id"])
        assert row.status == PhotoStatus.ACTIVE and row.uploaded_by_staff_id is not None


def test_outcome_measures_with_change_from_baseline(app, world, clinician, patient):
    pid = world["patient"][0]
    base = f"/api/clinic/patients/{pid}/outcomes"
    measured_at = (utcnow() - dt.timedelta(days=1)).isoformat()
    first = clinician.request("PUT", f"{base}/baseline/crown", json={
        "measured_at": measured_at, "hair_count_per_cm2": 150.0, "cumulative_thickness_mm_per_cm2": 5.0,
    })  # fmt: skip
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["hair_count_change_pct"] is None
    later = clinician.request("PUT", f"{base}/end_of_course/crown", json={
        "measured_at": measured_at, "hair_count_per_cm2": 171.0, "cumulative_thickness_mm_per_cm2": 5.8,
    }).get_json()  # fmt: skip
    assert (later["hair_count_change_pct"], later["thickness_change_pct"]) == (14.0, 16.0)
    areas = clinician.get(base).get_json()["areas"]
    assert [a["target_area"] for a in areas] == ["crown", "parting_line"]
    assert [m["checkpoint"] for m in areas[0]["measures"]] == ["baseline", "end_of_course"]
    grid = clinician.get(f"/api/clinic/patients/{pid}/photos").get_json()
    assert grid["outcomes"]["areas"][0]["measures"][1]["hair_count_change_pct"] == 14.0

    bad = clinician.request(
        "PUT", f"{base}/someday/elbow", json={"measured_at": measured_at, "hair_count_per_cm2": -3.0}
    )
    assert bad.status_code == 422
    assert {"checkpoint", "target_area", "hair_count_per_cm2"} <= set(bad.get_json()["error"]["fields"])
    assert clinician.request("DELETE", f"{base}/end_of_course/crown").status_code == 204
    assert clinician.request("DELETE", f"{base}/end_of_course/crown").status_code == 404
    assert patient.get(base).status_code == 403


def test_the_dispatchers_daily_sweep_removes_only_old_files_without_a_row(app, patient):
    import os
    import time

    from anagen.photos.storage import new_key
    from anagen.reminders import loop

    photo = send(patient, photofiles.phone_jpeg()).get_json()
    with app.app_context():
        store = photo_storage()
        old, fresh = new_key(1, "master.jpg"), new_key(1, "display.jpg")
        for key in (old, fresh):
            store.write(key, b"left by a crash", "image/jpeg")
        two_hours_ago = time.time() - 7200
        os.utime(store.root / old, (two_hours_ago, two_hours_ago))
        for path in stored_files(app):  # the photo's own files are old too: still needed
            if path.name != (store.root / fresh).name:
                os.utime(path, (two_hours_ago, two_hours_ago))
    assert loop.sweep_photo_files(app) == 1
    with app.app_context():
        assert not photo_storage().exists(old) and photo_storage().exists(fresh)  # an upload in flight
    assert patient.get(photo["images"]["master"]).status_code == 200


def test_staff_take_the_baseline_before_the_patient_has_agreed_in_the_app_only_by_confirming(
    app, world, clinician
):
    from anagen.models import Patient

    with app.app_context():
        db.session.get(Patient, world["patient"][0]).photo_consent_at = None
        db.session.commit()
    path = f"/api/clinic/patients/{world['patient'][0]}/photos"
    refused = send(clinician, photofiles.phone_jpeg(), checkpoint="baseline", path=path)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "photo_consent_required"
    assert "agreed in clinic" in refused.get_json()["error"]["message"]
    taken = send(
        clinician, photofiles.phone_jpeg(), checkpoint="baseline", path=path, consent_in_clinic="true"
    )
    assert taken.status_code == 201
    with app.app_context():
        assert db.session.get(Patient, world["patient"][0]).photo_consent_at is not None
        events = db.session.scalars(sa.select(AuditEvent.event).order_by(AuditEvent.id)).all()
    assert events[-2:] == ["photo_consent_recorded_in_clinic", "photo_uploaded"]


def test_a_comment_sends_the_patient_a_health_free_notice_that_opens_their_photos(
    app, world, patient, clinician
):
    from anagen.models import ReminderOccurrence
    from anagen.reminders import dispatcher

    photo = send(patient, photofiles.phone_jpeg()).get_json()
    text = "Thinning at the crown looks a little better."
    assert clinician.post(f"/api/clinic/photos/{photo['id']}/comments", {"text": text}).status_code == 201
    with app.app_context():
        notice = db.session.scalar(
            sa.select(ReminderOccurrence).where(ReminderOccurrence.patient_id == world["patient"][0])
        )
        shown = dispatcher.payload(notice)
    assert notice.kind == "photo_comment"
    assert shown["url"] == "/#/photos" and shown["body"] == "Your clinic commented on one of your photos."
    assert "crown" not in json.dumps(shown).lower()


def test_the_patients_own_data_export_lists_their_photos_comments_and_measures(
    app, world, patient, clinician
):
    photo = send(patient, photofiles.phone_jpeg()).get_json()
    clinician.post(f"/api/clinic/photos/{photo['id']}/comments", {"text": "Same light next time, please."})
    withdrawn = send(patient, photofiles.phone_jpeg(seed=5), view="parting").get_json()
    patient.post(f"/api/me/photos/{withdrawn['id']}/withdraw")
    clinician.request(
        "PUT",
        f"/api/clinic/patients/{world['patient'][0]}/outcomes/baseline/crown",
        json={"measured_at": (utcnow() - dt.timedelta(days=1)).isoformat(), "hair_count_per_cm2": 150.0},
    )
    data = patient.get("/api/me/export.json").get_json()
    kept, gone = data["photos"]
    assert (kept["checkpoint"], kept["view"], kept["taken_by"]) == ("End of kit 1", "Crown from above", "you")
    assert kept["comments"][0]["text"] == "Same light next time, please."
    assert patient.get(kept["images"]["master"]).status_code == 200
    assert gone["status"] == "withdrawn" and gone["images"] is None
    assert data["outcome_measures"][0]["hair_count_per_cm2"] == 150.0


def test_with_the_s3_backend_a_photo_goes_to_the_bucket_encrypted_and_comes_back(
    app, patient, s3, monkeypatch
):
    monkeypatch.setitem(app.extensions, "anagen_photo_storage", s3)
    photo = send(patient, photofiles.phone_jpeg()).get_json()
    keys = sorted(o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket)["Contents"])
    assert len(keys) == 3 and all(k.startswith(f"p/{photo_rows(app)[0].patient_id}/") for k in keys)
    for key in keys:
        assert s3.client.head_object(Bucket=s3.bucket, Key=key)["ServerSideEncryption"] == "AES256"
    master = patient.get(photo["images"]["master"])
    assert master.status_code == 200 and master.data.startswith(b"\xff\xd8")
    assert stored_files(app) == []  # nothing in the local folder
    patient.post(f"/api/me/photos/{photo['id']}/withdraw")
    assert "Contents" not in s3.client.list_objects_v2(Bucket=s3.bucket)


def test_the_patient_gets_the_photo_as_sent_not_the_clinics_aligned_rendition(app, world, patient):
    photo = send(patient, photofiles.phone_jpeg()).get_json()
    assert patient.get(f"/api/me/photos/{photo['id']}/image?size=master").status_code == 200
    refused = patient.get(f"/api/me/photos/{photo['id']}/image?size=aligned")
    assert refused.status_code == 422
    assert set(refused.get_json()["error"]["fields"]) == {"size"}
    document = app.test_client().get("/api/openapi.json").get_json()
    (size,) = [
        p
        for p in document["paths"]["/api/me/photos/{photo_id}/image"]["get"]["parameters"]
        if p["name"] == "size"
    ]
    assert "aligned" not in size["schema"]["enum"]
