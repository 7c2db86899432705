"""Clinics and their staff accounts."""

from __future__ import annotations

import re

import sqlalchemy as sa

from anagen.auth.accounts import end_sessions
from anagen.auth.passwords import hash_password
from anagen.errors import Conflict, InvalidInput
from anagen.extensions import db
from anagen.models import Clinic, StaffRole, StaffUser
from anagen.protocol.engine import validate_zone

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")


def normalise_email(email: str) -> str:
    return email.strip().lower()


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
    """A staff account in a clinic; emails are unique across Anagen."""
    email = normalise_email(email)
    if db.session.scalar(sa.select(StaffUser.id).where(StaffUser.email == email)):
        raise Conflict("An account with that email exists.", {"email": "Already in use"})
    user = StaffUser(
        clinic_id=clinic.id,
        email=email,
        name=name.strip(),
        role=StaffRole(role),
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
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
