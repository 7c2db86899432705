"""Clinic admins: the clinic's name, time zone and protocol parameters."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import StrictSchema, name_text, text
from anagen.auth import accounts
from anagen.auth.policy import account, record_action, requires
from anagen.clinic import settings as clinic_settings
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


class ClinicSettingsChangeSchema(StrictSchema):
    name = name_text(200, required=False)
    time_zone = text(64, required=False)
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
