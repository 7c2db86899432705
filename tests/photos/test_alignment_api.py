"""The clinician's two-landmark alignment through the API (photos/views_alignment.py): exact,
stored with its aligned image and audited; refused (and nothing changed) for landmarks that cannot
align, a photo without a baseline, another clinic's staff and the patient."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from conftest import ApiClient
from support import photo_rows, scalp
from support.factories import make_clinic, make_staff

from anagen.extensions import db
from anagen.models import AuditEvent, Photo
from anagen.models.photo import RegistrationStatus
from anagen.photos import registration
from anagen.photos.storage import photo_storage

WIDTH, HEIGHT = photo_rows.WIDTH, photo_rows.HEIGHT
add_photo = photo_rows.add_photo


def test_the_clinician_aligns_a_low_confidence_photo_by_two_landmarks(api, clinic, patient, scalp_images):
    baseline_image, follow_up_image, truth = scalp_images
    baseline = add_photo(patient, "baseline", "crown", baseline_image)
    follow_up = add_photo(
        patient,
        "end_of_kit_1",
        "crown",
        follow_up_image,
        registration_status=RegistrationStatus.LOW_CONFIDENCE,
    )
    clinician = make_staff(clinic, "clinician")
    db.session.commit()
    api.login(clinician.email, account="staff")
    photo_points = [[200.0, 150.0], [700.0, 520.0]]
    reference_points = registration.transform_points(truth.tolist(), photo_points).tolist()

    response = api.post(
        f"/api/clinic/photos/{follow_up.id}/alignment",
        {
            "landmarks": [
                {"photo": p, "reference": r} for p, r in zip(photo_points, reference_points, strict=True)
            ]
        },
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "manual"
    assert body["reference_id"] == baseline.id
    assert body["inlier_ratio"] is None
    assert body["css_transform"].startswith("matrix3d(")
    assert body["aligned_image"] == f"/api/clinic/photos/{follow_up.id}/image?size=aligned"
    assert scalp.grid_error(np.array(body["transform"]), truth, WIDTH, HEIGHT) < 0.01
    db.session.expire_all()
    stored = db.session.get(Photo, follow_up.id)
    assert stored.registered_by_id == clinician.id
    first_aligned = stored.aligned_key
    assert photo_storage().exists(first_aligned)
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == "photo_aligned")).one()
    assert (event.actor_id, event.target_type, event.target_id) == (clinician.id, "photo", follow_up.id)
    assert api.get(f"/api/clinic/photos/{follow_up.id}/alignment").get_json() == body

    # Aligning again replaces the aligned image: the earlier file is gone.
    again = api.post(
        f"/api/clinic/photos/{follow_up.id}/alignment",
        {
            "landmarks": [
                {"photo": p, "reference": r} for p, r in zip(photo_points, reference_points, strict=True)
            ]
        },
    )
    assert again.status_code == 200
    assert not photo_storage().exists(first_aligned)
    db.session.expire_all()
    assert photo_storage().exists(db.session.get(Photo, follow_up.id).aligned_key)


@pytest.mark.parametrize(
    ("landmarks", "status", "code"),
    [
        (
            [{"photo": [10, 10], "reference": [10, 10]}, {"photo": [12, 11], "reference": [300, 300]}],
            422,
            "invalid_input",
        ),
        (
            [{"photo": [10, 10], "reference": [10, 10]}, {"photo": [5000, 11], "reference": [300, 300]}],
            422,
            "invalid_input",
        ),
        ([{"photo": [10, 10], "reference": [10, 10]}], 422, "invalid_input"),
        (
            [{"photo": [10, 10, 3], "reference": [10, 10]}, {"photo": [300, 300], "reference": [300, 300]}],
            422,
            "invalid_input",
        ),
    ],
)
def test_landmarks_that_cannot_align_are_refused_and_change_nothing(
    api, clinic, patient, scalp_images, landmarks, status, code
):
    baseline_image, follow_up_image, _truth = scalp_images
    add_photo(patient, "baseline", "crown", baseline_image)
    follow_up = add_photo(patient, "end_of_kit_1", "crown", follow_up_image)
    clinician = make_staff(clinic, "clinician")
    db.session.commit()
    api.login(clinician.email, account="staff")

    response = api.post(f"/api/clinic/photos/{follow_up.id}/alignment", {"landmarks": landmarks})

    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    db.session.expire_all()
    assert db.session.get(Photo, follow_up.id).registration_status == RegistrationStatus.PENDING


def test_a_photo_without_a_baseline_cannot_be_aligned(api, clinic, patient, scalp_images):
    _baseline, follow_up_image, _truth = scalp_images
    follow_up = add_photo(patient, "end_of_kit_1", "crown", follow_up_image)
    clinician = make_staff(clinic, "clinician")
    db.session.commit()
    api.login(clinician.email, account="staff")
    landmarks = [
        {"photo": [100, 100], "reference": [100, 100]},
        {"photo": [400, 300], "reference": [400, 300]},
    ]

    response = api.post(f"/api/clinic/photos/{follow_up.id}/alignment", {"landmarks": landmarks})

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "no_reference"


def test_another_clinics_staff_and_the_patient_cannot_align(app, clinic, patient, scalp_images):
    baseline_image, follow_up_image, _truth = scalp_images
    add_photo(patient, "baseline", "crown", baseline_image)
    follow_up = add_photo(patient, "end_of_kit_1", "crown", follow_up_image)
    _other, other_admin = make_clinic("Elsewhere")
    db.session.commit()
    landmarks = [
        {"photo": [100, 100], "reference": [100, 100]},
        {"photo": [400, 300], "reference": [400, 300]},
    ]

    outsider, own_patient = ApiClient(app.test_client()), ApiClient(app.test_client())
    outsider.login(other_admin.email, account="staff")
    own_patient.login(patient.email)
    for caller, status in ((outsider, 404), (own_patient, 403)):
        url = f"/api/clinic/photos/{follow_up.id}/alignment"
        assert caller.post(url, {"landmarks": landmarks}).status_code == status
        assert caller.get(url).status_code == status
    db.session.expire_all()
    assert db.session.get(Photo, follow_up.id).registration_status == RegistrationStatus.PENDING
