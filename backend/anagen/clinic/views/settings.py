"""Clinic admins: the clinic's name, time zone and protocol parameters."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import HHMM, StrictSchema, name_text, text
from anagen.auth import accounts
from anagen.auth.policy import account, record_action, requires
from anagen.clinic import settings as clinic_settings
from anagen.clinic.enrolment import INDICATIONS
from anagen.course.today import SCALP_AREAS
from anagen.extensions import db

bp = Blueprint("clinic_settings", __name__, url_prefix="/api/clinic", description="Clinic settings")


class ParameterSchema(ma.Schema):
    key = fields.String(required=True)
    value = fields.Raw(required=True)
    default = fields.Raw(required=True)
    min = fields.Raw(required=True)
    max = fields.Raw(required=True)


class ClinicProtocolSchema(ma.Schema):
    name = fields.String(required=True)
    parameters = fields.List(fields.Nested(ParameterSchema), required=True)


class ClinicSettingsSchema(ma.Schema):
    name = fields.String(required=True)
    time_zone = fields.String(required=True)
    protocol = fields.Nested(ClinicProtocolSchema, required=True)
    phone = fields.String(allow_none=True)
    locations = fields.List(fields.String(), required=True)
    default_reminder_time = fields.Time(required=True, format="%H:%M", metadata=HHMM)


class ClinicSettingsChangeSchema(StrictSchema):
    name = name_text(200, required=False)
    time_zone = text(64, required=False)
    phone = fields.String(
        allow_none=True,
        validate=validate.Regexp(r"^[0-9+()\-. ]{3,40}$", error="Digits, spaces and + ( ) - . only"),
    )
    locations = fields.List(name_text(100), validate=validate.Length(max=clinic_settings.MAX_LOCATIONS))
    default_reminder_time = fields.Time(format="%H:%M", metadata=HHMM)
    protocol_overrides = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=40)),
        values=fields.Integer(strict=True, allow_none=True),
        validate=validate.Length(max=20),
        metadata={"description": "The full set of overrides; a parameter left out or null uses the default"},
    )


@bp.get("/settings")
@requires("admin")
@bp.response(200, ClinicSettingsSchema)
def get_settings():
    """The clinic's settings and the protocol parameters it may adjust, with their safe bounds."""
    return clinic_settings.clinic_settings(account().user.clinic)


@bp.patch("/settings")
@requires("admin")
@bp.arguments(ClinicSettingsChangeSchema, required=False)
@bp.response(200, ClinicSettingsSchema)
def patch_settings(data):
    """Change clinic settings; new protocol parameters apply to patients enrolled from now on."""
    acct = account()
    accounts.require_recent_auth(acct)
    clinic = acct.user.clinic
    clinic_settings.update_settings(clinic, data)
    record_action(acct, "clinic_settings_changed", "clinic", clinic.id)
    db.session.commit()
    return clinic_settings.clinic_settings(clinic)


class OptionSchema(ma.Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)


class ProtocolChoiceSchema(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    weeks = fields.Integer(required=True)
    applications_per_week = fields.Integer(required=True)
    applications_total = fields.Integer(required=True)
    min_gap_hours = fields.Integer(required=True)
    parameters = fields.List(fields.Nested(ParameterSchema), required=True)


class ClinicCardSchema(ma.Schema):
    name = fields.String(required=True)
    phone = fields.String(allow_none=True)
    time_zone = fields.String(required=True)
    locations = fields.List(fields.String(), required=True)
    default_reminder_time = fields.Time(required=True, format="%H:%M", metadata=HHMM)


class EnrolmentOptionsSchema(ma.Schema):
    clinic = fields.Nested(ClinicCardSchema, required=True)
    indications = fields.List(fields.Nested(OptionSchema), required=True)
    scalp_areas = fields.List(fields.Nested(OptionSchema), required=True)
    protocols = fields.List(fields.Nested(ProtocolChoiceSchema), required=True)


@bp.get("/enrolment-options")
@requires("staff")
@bp.response(200, EnrolmentOptionsSchema)
def get_enrolment_options():
    """What enrolling a patient offers: the clinic's card (phone for the invite sheet, default
    reminder time), indications, scalp areas and protocols with the parameters one course may change."""
    options = clinic_settings.enrolment_options(account().user.clinic, INDICATIONS, SCALP_AREAS)
    db.session.commit()  # the shipped protocol, if this was its first use: its id is handed out
    return options
