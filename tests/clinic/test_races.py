"""Check-then-insert races in the clinic: an invite redeemed twice at once, and the same email
added twice at once. Real threads, each with its own database session, on the real database."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading

import sqlalchemy as sa
from sqlalchemy import orm as so
from support.factories import PASSWORD, enrolment, make_clinic, make_enrolled_patient

from anagen.auth.passwords import verify_password
from anagen.clinic import clinics, invites
from anagen.clinic import enrolment as enrolling
from anagen.errors import AnagenError
from anagen.extensions import db
from anagen.models import Patient, StaffRole, StaffUser


def run_side_by_side(app, *calls) -> list:
    """Run each call in its own thread and app context (own session), committing what it did;
    each result is the call's return value or the error it raised."""
    results: list = [None] * len(calls)

    def run(n: int) -> None:
        with app.app_context():
            try:
                results[n] = calls[n]()
                db.session.commit()
            except Exception as error:
                db.session.rollback()
                results[n] = error
            finally:
                db.session.remove()

    db.session.remove()
    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def meet_before_inserting(model, parties: int):
    """A flush hook: sessions about to insert a `model` row wait for each other, so every one of
    them has passed its checks before any inserts (the window a real race needs)."""
    barrier = threading.Barrier(parties)

    def hook(session, _context, _instances):
        if any(isinstance(o, model) for o in session.new):
            # A session that inserts with ON CONFLICT (no flush) never arrives: go on alone.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=3)

    return hook


class listening:
    def __init__(self, hook):
        self.hook = hook

    def __enter__(self):
        sa.event.listen(so.Session, "before_flush", self.hook)

    def __exit__(self, *exc):
        sa.event.remove(so.Session, "before_flush", self.hook)


def refusal(error) -> tuple:
    assert isinstance(error, AnagenError), repr(error)
    return error.status, error.code, error.message, error.fields


def test_an_invite_redeemed_twice_at_once_works_only_once(app, app_ctx, monkeypatch):
    clinic, _ = make_clinic()
    patient, _ = make_enrolled_patient(clinic, password=None)
    _, token = invites.issue_invite(patient, None, dt.timedelta(days=7))
    db.session.commit()
    patient_id = patient.id
    # Both redemptions have found the invite usable and are about to use it up.
    both_checked = threading.Barrier(2)
    hash_password = invites.hash_password

    def hashed_together(password):
        both_checked.wait(timeout=10)
        return hash_password(password)

    monkeypatch.setattr(invites, "hash_password", hashed_together)
    results = run_side_by_side(
        app,
        lambda: invites.redeem_invite(token, "first password", True).id,
        lambda: invites.redeem_invite(token, "second password", True).id,
    )
    succeeded = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if not isinstance(r, int)]
    assert len(succeeded) == 1, results
    assert refusal(refused[0])[:2] == (410, "invite_used")
    stored = db.session.get(Patient, patient_id)
    winner = "first password" if results[0] == patient_id else "second password"
    assert verify_password(stored.password_hash, winner)


def test_the_same_staff_email_added_twice_at_once_is_one_account_and_a_clean_conflict(app, app_ctx):
    clinic, _ = make_clinic()
    clinic_id = clinic.id

    def add():
        here = db.session.get(type(clinic), clinic_id)
        return clinics.create_staff(
            here, email="Sam@Clinic.example", name="Sam", role=StaffRole.CLINICIAN, password=PASSWORD
        ).id

    with listening(meet_before_inserting(StaffUser, 2)):
        results = run_side_by_side(app, add, add)
    ids = [r for r in results if isinstance(r, int)]
    assert len(ids) == 1, results
    sequential = run_side_by_side(app, add)[0]
    loser = next(r for r in results if not isinstance(r, int))
    assert refusal(loser) == refusal(sequential)
    assert refusal(loser)[0] == 409
    same = sa.select(sa.func.count()).select_from(StaffUser).where(StaffUser.email == "sam@clinic.example")
    assert db.session.scalar(same) == 1


def test_the_same_patient_email_enrolled_twice_at_once_is_one_patient_and_a_clean_conflict(app, app_ctx):
    clinic, _ = make_clinic()
    clinic_id = clinic.id
    details = enrolment(email="twice@mail.example")

    def enrol():
        here = db.session.get(type(clinic), clinic_id)
        return enrolling.enrol_patient(here, details)[0].id

    with listening(meet_before_inserting(Patient, 2)):
        results = run_side_by_side(app, enrol, enrol)
    ids = [r for r in results if isinstance(r, int)]
    assert len(ids) == 1, results
    sequential = run_side_by_side(app, enrol)[0]
    loser = next(r for r in results if not isinstance(r, int))
    assert refusal(loser) == refusal(sequential)
    assert refusal(loser)[0] == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 1
