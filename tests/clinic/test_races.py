"""Check-then-insert races in the clinic: an invite redeemed twice at once. Real threads, each
with its own database session, on the real database."""

from __future__ import annotations

import datetime as dt
import threading

from support.factories import make_clinic, make_enrolled_patient

from anagen.auth.passwords import verify_password
from anagen.clinic import invites
from anagen.errors import AnagenError
from anagen.extensions import db
from anagen.models import Patient


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
