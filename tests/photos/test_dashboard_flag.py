"""The clinic dashboard's "photos awaiting review" flag: raised by a photo nobody has reviewed,
quiet once reviewed, acknowledged until a later photo arrives."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from support.factories import make_clinic, make_enrolled_patient
from support.photo_rows import uploaded

from anagen.clinic import dashboard
from anagen.clinic import flags as flag_defs
from anagen.clock import utcnow
from anagen.extensions import db
from anagen.photos import review

FLAG = "photos_awaiting_review"


@pytest.fixture
def clinic(app_ctx):
    clinic, admin = make_clinic()
    return clinic, admin


def flag_of(clinic, patient):
    row = dashboard.patient_row(clinic.id, patient.id)
    return next((f for f in row.flags if f.key == FLAG), None), {f.key for f in row.acknowledged}


def test_a_photo_nobody_reviewed_raises_the_flag_and_reviewing_quiets_it(clinic):
    clinic, admin = clinic
    patient, _ = make_enrolled_patient(clinic)
    assert flag_of(clinic, patient)[0] is None
    photo = uploaded(patient, 1)
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
    uploaded(patient, 1)
    dashboard.acknowledge(clinic.id, patient.id, FLAG, "Will look at them on Monday", admin)
    db.session.commit()
    raised, acknowledged = flag_of(clinic, patient)
    assert raised is None and FLAG in acknowledged
    with time_machine.travel(utcnow() + dt.timedelta(minutes=5)):
        uploaded(patient, 2, view="parting")
        assert flag_of(clinic, patient)[0] is not None
