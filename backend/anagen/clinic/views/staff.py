"""Clinic admins: staff accounts and roles, and the clinic's audit log."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api import RecordId
from anagen.api.schemas import NEW_PASSWORD, Instant, StrictBoolean, StrictSchema, name_text, text
from anagen.auth import accounts, audit, throttle
from anagen.auth.policy import account, get_staff, record_action, requires, staff_of
from anagen.clinic.clinics import EmailRefused, create_staff, normalise_email, update_staff
from anagen.extensions import db
from anagen.models import StaffRole, StaffUser

bp = Blueprint("clinic_staff", __name__, url_prefix="/api/clinic", description="Staff accounts and audit log")

ROLE_VALUES = [r.value for r in StaffRole]


class EmailAddress(fields.Email):
    """An email normalised (NFKC, lower case, stripped) before it is validated: a full-width
    or decomposed spelling is the address it stands for."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(
            normalise_email(value) if isinstance(value, str) else value, attr, data, **kwargs
        )


# Refused emails (at enrolment and staff creation) a staff member and a clinic may meet; every
# new account is refused once they are spent, so guessing who is enrolled elsewhere stays slow.
EMAIL_REFUSALS_PER_STAFF = "10/hour;30/day"
EMAIL_REFUSALS_PER_CLINIC = "20/hour;60/day"


@contextlib.contextmanager
def email_refusals_limited(acct: accounts.Account, view: str) -> Iterator[None]:
    """Around creating an account with an email: refused emails are limited (429 before
    anything is checked, once spent) and audited in the clinic's log."""
    guess = throttle.reserve(
        (EMAIL_REFUSALS_PER_STAFF, f"email-refused:{acct.get_id()}"),
        (EMAIL_REFUSALS_PER_CLINIC, f"email-refused:clinic:{acct.clinic_id}"),
    )
    try:
        yield
    except EmailRefused as refusal:
        db.session.rollback()
        record_action(acct, "email_refused", reason=refusal.code, view=view)
        db.session.commit()
        raise
    except BaseException:
        guess.release()
        raise
    guess.release()


class StaffSchema(ma.Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": ROLE_VALUES})
    active = fields.Boolean(required=True)


class NewStaffSchema(StrictSchema):
    email = EmailAddress(required=True, validate=validate.Length(max=254))
    name = name_text(200)
    role = fields.String(required=True, validate=validate.OneOf(ROLE_VALUES))
    password = text(256, metadata=NEW_PASSWORD)


class StaffChangeSchema(StrictSchema):
    role = fields.String(validate=validate.OneOf(ROLE_VALUES))
    active = StrictBoolean()


class AuditEventSchema(ma.Schema):
    id = fields.Integer(required=True)
    event = fields.String(required=True)
    actor_type = fields.String(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    target_type = fields.String(allow_none=True)
    target_id = fields.Integer(allow_none=True)
    detail = fields.Dict()
    created_at = Instant(required=True)


# An id from 1 to 2**31 - 1 (the largest the database keys hold), spelt out so the document's
# pattern and the check agree: schema-valid input is never refused.
_ID_UP_TO_2_31 = (
    r"[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
    r"|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7]"
)
RECORD_REF = re.compile(rf"^([a-z][a-z0-9_]{{0,29}})(?::({_ID_UP_TO_2_31}))?$")


class RecordRef(fields.String):
    """A record as "type" or "type:id" ("patient", "staff:12"), loaded as (type, id or None).
    The pattern is checked here (a validator would see the loaded tuple) and stated in the document."""

    def __init__(self, description: str):
        super().__init__(
            load_default=None, metadata={"description": description, "pattern": RECORD_REF.pattern}
        )

    def _deserialize(self, value, attr, data, **kwargs):
        match = RECORD_REF.match(super()._deserialize(value, attr, data, **kwargs))
        if not match:
            raise ma.ValidationError('Write a record type, or type:id (e.g. "patient:12").')
        return match[1], int(match[2]) if match[2] else None


class AuditQuerySchema(StrictSchema):
    before_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=RecordId.MAX))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))
    # Event names are snake_case keys ("message_sent").
    event = fields.String(
        load_default=None, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,59}$", error="Not an event name.")
    )
    actor = RecordRef('Who acted: "staff", "patient", "staff:12"')
    target = RecordRef('What it is about: "patient", "patient:12", "staff:3"')


@bp.get("/staff")
@requires("admin")
@bp.response(200, StaffSchema(many=True))
def list_staff():
    """The clinic's staff accounts."""
    return db.session.scalars(staff_of(account()).order_by(StaffUser.name)).all()


@bp.post("/staff")
@requires("admin")
@bp.arguments(NewStaffSchema)
@bp.response(201, StaffSchema)
@bp.alt_response(
    409, description="The email can't be used (the same answer for every account outside the clinic)"
)
@bp.alt_response(429, description="Too many refused emails; see Retry-After")
def add_staff(data):
    """Add a staff account (asks for the admin's password again first)."""
    acct = account()
    accounts.require_recent_auth(acct)
    with email_refusals_limited(acct, "add_staff"):
        user = create_staff(
            acct.user.clinic,
            email=data["email"],
            name=data["name"],
            role=StaffRole(data["role"]),
            password=data["password"],
        )
    record_action(acct, "staff_created", "staff", user.id, role=user.role.value)
    db.session.commit()
    return user


@bp.patch("/staff/<int:staff_id>")
@requires("admin")
# Every field is optional and an empty change changes nothing: the body may be left out.
@bp.arguments(StaffChangeSchema, required=False)
@bp.response(200, StaffSchema)
@bp.alt_response(409, description="An admin can't remove their own admin access")
def change_staff(data, staff_id):
    """Change a staff member's role or deactivate them (their sessions end)."""
    acct = account()
    accounts.require_recent_auth(acct)
    user = get_staff(acct, staff_id)
    changed = update_staff(user, data, changed_by=acct.user)
    if "role" in changed:
        old_role, new_role = changed["role"]
        record_action(acct, "role_changed", "staff", user.id, old_role=old_role, new_role=new_role)
    if "active" in changed:
        record_action(acct, "staff_active_changed", "staff", user.id, active=user.active)
    db.session.commit()
    return user


@bp.get("/audit-events")
@requires("admin")
@bp.arguments(AuditQuerySchema, location="query")
@bp.response(200, AuditEventSchema(many=True))
def list_audit_events(query):
    """The clinic's audit log, newest first; filtered by event, by who acted or by the record
    it is about (a type, or a type and id)."""
    return audit.clinic_events(
        account().clinic_id,
        limit=query["limit"],
        before_id=query["before_id"],
        event=query["event"],
        actor=query["actor"],
        target=query["target"],
    )


class AuditKindsSchema(ma.Schema):
    events = fields.List(fields.String(), required=True)


@bp.get("/audit-events/kinds")
@requires("admin")
@bp.response(200, AuditKindsSchema)
def list_audit_event_kinds():
    """The kinds of event in the clinic's audit log (for the log's filter)."""
    return {"events": audit.clinic_event_names(account().clinic_id)}
