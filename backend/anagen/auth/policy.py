"""Access rules, in one place. Views ask this module for the account and for records;
records outside the account's reach answer 404 as if they did not exist.

Every refusal is audited. A refusal ends the request's unit of work: what the request had
pending is rolled back (it answers an error anyway) and the audit row is committed alone,
so auditing never commits half-done work."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import request
from flask_login import current_user, login_required

from anagen.auth import audit
from anagen.auth.accounts import Account
from anagen.auth.security import SIGN_IN
from anagen.errors import Forbidden, NotFound, Unauthenticated
from anagen.extensions import db
from anagen.models import Patient, Photo, ReminderOccurrence, StaffUser

ROLES = {
    "patient": {"patient"},
    "staff": {"admin", "clinician"},
    "admin": {"admin"},
}


def account() -> Account:
    """The signed-in account (views behind `requires` or `login_required`), or 401."""
    if not current_user.is_authenticated:
        raise Unauthenticated(SIGN_IN)
    return current_user._get_current_object()


def record_action(
    acct: Account, event: str, target_type: str | None = None, target_id: int | None = None, **detail
) -> None:
    """Audit something this account did in this request (who, from where, to which record)."""
    audit.record(
        event,
        clinic_id=acct.clinic_id,
        actor_type=acct.kind,
        actor_id=acct.id,
        target_type=target_type,
        target_id=target_id,
        ip=request.remote_addr,
        **detail,
    )


def _refuse(acct: Account, reason: str, target_type: str | None = None, target_id: int | None = None) -> None:
    """Audit a refused access in a transaction of its own, after dropping the request's pending work."""
    db.session.rollback()
    record_action(
        acct,
        "access_refused",
        target_type,
        target_id,
        reason=reason,
        method=request.method,
        path=request.url_rule.rule if request.url_rule else None,
    )
    db.session.commit()


def requires(who: str):
    """View decorator: `login_required` (401 when signed out), then 403 (audited) for the wrong role."""
    allowed = ROLES[who]

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            acct = current_user._get_current_object()
            if acct.role not in allowed:
                _refuse(acct, f"requires {who}")
                raise Forbidden("This is not available to your account.")
            return view(*args, **kwargs)

        return login_required(wrapper)

    return decorator


def patients_of(acct: Account) -> sa.Select:
    """Patients this account may see: a patient only themselves, staff only their clinic's."""
    query = sa.select(Patient)
    if acct.is_staff:
        return query.where(Patient.clinic_id == acct.clinic_id)
    return query.where(Patient.id == acct.id)


def get_patient(acct: Account, patient_id: int) -> Patient:
    patient = db.session.scalar(patients_of(acct).where(Patient.id == patient_id))
    if patient is None:
        _refuse(acct, "patient outside scope", "patient", patient_id)
        raise NotFound("No such patient.")
    return patient


def staff_of(acct: Account) -> sa.Select:
    return sa.select(StaffUser).where(StaffUser.clinic_id == acct.clinic_id)


def get_staff(acct: Account, staff_id: int) -> StaffUser:
    user = db.session.scalar(staff_of(acct).where(StaffUser.id == staff_id))
    if user is None:
        _refuse(acct, "staff outside scope", "staff", staff_id)
        raise NotFound("No such staff account.")
    return user


def get_reminder(acct: Account, occurrence_id: int) -> ReminderOccurrence:
    """One of the signed-in patient's own reminders; anyone else's answers 404 (and is audited)."""
    occurrence = None
    if not acct.is_staff:
        occurrence = db.session.scalar(
            sa.select(ReminderOccurrence).where(
                ReminderOccurrence.id == occurrence_id, ReminderOccurrence.patient_id == acct.id
            )
        )
    if occurrence is None:
        _refuse(acct, "reminder outside scope", "reminder", occurrence_id)
        raise NotFound("No such reminder.")
    return occurrence


def get_photo(acct: Account, photo_id: int) -> Photo:
    """A photo the account may see: a patient their own, staff their clinic's patients'; any other
    answers 404 as if it did not exist (and is audited)."""
    query = sa.select(Photo).where(Photo.id == photo_id)
    if acct.is_staff:
        query = query.join(Patient, Patient.id == Photo.patient_id).where(Patient.clinic_id == acct.clinic_id)
    else:
        query = query.where(Photo.patient_id == acct.id)
    photo = db.session.scalar(query)
    if photo is None:
        _refuse(acct, "photo outside scope", "photo", photo_id)
        raise NotFound("No such photo.")
    return photo
