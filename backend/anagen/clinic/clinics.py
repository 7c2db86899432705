"""Clinics and their staff accounts."""

from __future__ import annotations

import re

import sqlalchemy as sa

from anagen.auth.accounts import end_sessions, normalise_email
from anagen.auth.passwords import check_password_rules, hash_checked
from anagen.course.protocols import insert_ignoring_duplicates
from anagen.errors import Conflict, InvalidInput
from anagen.extensions import db
from anagen.models import Clinic, StaffRole, StaffUser
from anagen.protocol.engine import validate_zone

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")


class EmailRefused(Conflict):
    """An email that can't be used for a new account (audited and limited by the views)."""


class EmailInUse(EmailRefused):
    """The email belongs to another account of the same clinic: the clinic may be told so."""

    code = "email_in_use"


class EmailUnavailable(EmailRefused):
    """Any other unusable email. The answer is the same whatever the reason, so a clinic
    never learns whether an address belongs to a patient or staff member elsewhere."""

    code = "email_unavailable"


EMAIL_UNAVAILABLE = (
    "This email can't be used for a new {kind}. Ask for another address. Someone moving from "
    "another clinic asks Anagen support to move their account."
)


def refuse_email(kind: str, clinic: Clinic, owner_clinic_id: int) -> EmailRefused:
    """The refusal for a new `kind` ("patient" or "staff") account whose email is taken by an
    account of `owner_clinic_id`: specific within the clinic, generic otherwise."""
    if owner_clinic_id == clinic.id:
        own = "patients" if kind == "patient" else "staff"
        return EmailInUse(
            f"One of your {own} already has this email.", {"email": f"Already used by one of your {own}"}
        )
    noun = "patient" if kind == "patient" else "staff account"
    return EmailUnavailable(EMAIL_UNAVAILABLE.format(kind=noun), {"email": "Can't be used"})


def create_clinic(
    *, name: str, slug: str, time_zone: str, admin_email: str, admin_name: str, admin_password: str
) -> tuple[Clinic, StaffUser]:
    """A new clinic with its first admin."""
    if not SLUG_RE.match(slug):
        raise InvalidInput("That short name can't be used.", {"slug": "Use lower-case letters, digits and -"})
    validate_zone(time_zone)
    if db.session.scalar(sa.select(Clinic.id).where(Clinic.slug == slug)):
        raise Conflict("A clinic with that short name exists.", {"slug": "Already taken"})
    clinic = Clinic(name=name.strip(), slug=slug, time_zone=time_zone, protocol_overrides={})
    db.session.add(clinic)
    db.session.flush()
    admin = create_staff(
        clinic, email=admin_email, name=admin_name, role=StaffRole.ADMIN, password=admin_password
    )
    return clinic, admin


def create_staff(clinic: Clinic, *, email: str, name: str, role: StaffRole, password: str) -> StaffUser:
    """A staff account in a clinic; emails are unique across Anagen, compared normalised.

    The email is checked last, after every other field, so a refusal says nothing more.
    """
    email = normalise_email(email)
    name = name.strip()
    check_password_rules(password, user_inputs=[email, email.split("@", 1)[0], name])
    owner = db.session.scalar(sa.select(StaffUser.clinic_id).where(StaffUser.email == email))
    if owner is not None:
        raise refuse_email("staff", clinic, owner)
    user = db.session.scalar(
        insert_ignoring_duplicates(StaffUser)
        .values(
            clinic_id=clinic.id,
            email=email,
            name=name,
            role=StaffRole(role),
            password_hash=hash_checked(password),
        )
        .returning(StaffUser)
    )
    if user is None:  # the same email, added by another request since the check above
        owner = db.session.scalar(sa.select(StaffUser.clinic_id).where(StaffUser.email == email))
        raise refuse_email("staff", clinic, owner)
    return user


def update_staff(user: StaffUser, changes: dict, *, changed_by: StaffUser) -> dict[str, tuple]:
    """Change a staff member's role or active flag; returns {field: (old, new)} for what changed.

    Deactivating ends the member's sessions. An admin can't remove their own admin access.
    """
    demoting = changes.get("role", user.role.value) != StaffRole.ADMIN.value
    if user.id == changed_by.id and (demoting or changes.get("active") is False):
        raise Conflict("You can't remove your own admin access; ask another admin.", code="own_account")
    changed: dict[str, tuple] = {}
    if "role" in changes and changes["role"] != user.role.value:
        changed["role"] = (user.role.value, changes["role"])
        user.role = StaffRole(changes["role"])
    if "active" in changes and changes["active"] != user.active:
        changed["active"] = (user.active, changes["active"])
        user.active = changes["active"]
        if not user.active:
            end_sessions("staff", user.id)
    return changed
