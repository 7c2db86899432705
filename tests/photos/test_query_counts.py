"""The clinic's photo lists send a number of statements that does not grow with the photos."""

from __future__ import annotations

from support.factories import make_clinic, make_enrolled_patient
from support.photo_rows import uploaded
from support.queries import count_queries

from anagen.extensions import db
from anagen.models import Patient
from anagen.photos import review, uploads, views


def test_the_awaiting_review_list_and_the_grid_take_the_same_statements_for_one_photo_or_many(app_ctx):
    clinic, _admin = make_clinic()
    first, _ = make_enrolled_patient(clinic)
    uploaded(first, 1, "crown")

    clinic_id, patient_id = clinic.id, first.id

    def awaiting():
        db.session.expunge_all()  # nothing already loaded: every lazy load would be a statement
        views.AwaitingSchema(many=True).dump(review.awaiting_review(clinic_id))

    def grid():
        db.session.expunge_all()
        book = uploads.photo_book(db.session.get(Patient, patient_id))
        views.StaffPhotoBookSchema().dump(
            {
                "views": book.views,
                "tips": book.tips,
                "checkpoints": book.checkpoints,
                "outcomes": {"areas": []},
            }
        )

    one = count_queries(awaiting), count_queries(grid)
    for seed, view in enumerate(("parting", "frontal_hairline", "left_temple"), start=2):
        uploaded(db.session.get(Patient, patient_id), seed, view)
        other, _ = make_enrolled_patient(db.session.merge(clinic))
        uploaded(other, seed + 10, view)
    assert (count_queries(awaiting), count_queries(grid)) == one
