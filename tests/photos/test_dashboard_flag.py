"""The clinic dashboard's "photos awaiting review" flag: raised by a photo nobody has reviewed,
quiet once reviewed, acknowledged until a later photo arrives."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from support import photofiles
from support.factories import make_clinic, make_enrolled_patient

from anagen.clinic import dashboard
from anagen.clinic import flags as flag_defs
from anagen.clock import utcnow
from anagen.extensions import db
from anagen.photos import pipeline, review, uploads
from anagen.photos.storage import photo_storage

FLAG = "photos_awaiting_review"


@pytest.fixture
def clinic(app_ctx):
    clinic, admin = make_clinic()
    return clinic, admin


def send(patient, seed: int, view: str = "crown"):
    data = photofiles.phone_jpeg(seed=seed)
    store, limits = photo_storage(), pipeline.Limits()
    kind = "image/jpeg"
    return uploads.upload(
        patient, checkpoint="ad_hoc", view=view, data=data, declared_type=kind, store=store, limits=limits
    ).photo


def flag_of(clinic, patient):
    row = dashboard.patient_row(clinic.id, patient.id)
    return next((f for f in row.flags if f.key == FLAG), None), {f.key for f in row.acknowledged}


def test_a_photo_nobody_reviewed_raises_the_flag_and_reviewing_quiets_it(clinic):
    clinic, admin = clinic
    patient, _ = make_enrolled_patient(clinic)
    assert flag_of(clinic, patient)[0] is None
    photo = send(patient, 1)
    raised, _ = flag_of(clinic, patient)
    assert raised is not None and abs(raised.since - photo.uploaded_at) < dt.timedelta(seconds=1)
    assert review.awaiting_review_count(clinic.id) == 1
    assert review.awaiting_review_by_patient(clinic.id) == {patient.id: 1}
    review.mark_reviewed(photo, admin)
    db.session.commit()
    assert flag_of(clinic, patient)[0] is None and review.awaiting_review_count(clinic.id) == 0
    assert FLAG in {f["key"] for f in flag_defs.catalogue()}


def test_an_acknowledged_flag_comes_back_with_a_later_photo(clinic):
    clinic, admin = clinic
    patient, _ = make_enrolled_patient(clinic)
    send(patient, 1)
    dashboard.acknowledge(clinic.id, patient.id, FLAG, "Will look at them on Monday", admin)
    db.session.commit()
    raised, acknowledged = flag_of(clinic, patient)
    assert raised is None and FLAG in acknowledged
    with time_machine.travel(utcnow() + dt.timedelta(minutes=5)):
        send(patient, 2, view="parting")
        assert flag_of(clinic, patient)[0] is not None
