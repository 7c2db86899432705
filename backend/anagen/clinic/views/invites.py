"""A patient turns the clinic's invite into an account (token in the body, never in a URL)."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint
from marshmallow import fields

from anagen.api.schemas import NEW_PASSWORD, Instant, SessionSchema, StrictBoolean, StrictSchema, text
from anagen.auth import audit
from anagen.auth.security import begin
from anagen.clinic import invites
from anagen.extensions import limiter

bp = Blueprint("invites", __name__, url_prefix="/api/invites", description="Redeeming a clinic's invite")


class TokenSchema(StrictSchema):
    token = text(100)


class RedeemSchema(StrictSchema):
    token = text(100)
    password = text(256, metadata=NEW_PASSWORD)
    photo_consent = StrictBoolean(required=True)


class InviteInfoSchema(ma.Schema):
    clinic_name = fields.String(required=True, attribute="patient.clinic.name")
    first_name = fields.String(required=True, attribute="patient.first_name")
    email = fields.String(allow_none=True, attribute="patient.email")
    expires_at = Instant(required=True, attribute="invite.expires_at")


def _ip_key() -> str:
    return f"invite:{request.remote_addr}"


@bp.post("/lookup")
@limiter.limit("30/minute", key_func=_ip_key)
@bp.arguments(TokenSchema)
@bp.response(200, InviteInfoSchema)
@bp.alt_response(404, description="Unknown invite")
@bp.alt_response(410, description="Invite used or expired")
def lookup(data):
    """Who the invite is for, so the patient can check it is theirs."""
    return invites.invite_info(data["token"])


@bp.post("/redeem")
@limiter.limit("10/minute", key_func=_ip_key)
@bp.arguments(RedeemSchema)
@bp.response(200, SessionSchema)
@bp.alt_response(404, description="Unknown invite")
@bp.alt_response(410, description="Invite used or expired")
def redeem(data):
    """Set a password, record the photo-sharing choice, and sign in."""
    patient = invites.redeem_invite(data["token"], data["password"], data["photo_consent"])
    audit.record(
        "invite_redeemed",
        clinic_id=patient.clinic_id,
        actor_type="patient",
        actor_id=patient.id,
        target_type="patient",
        target_id=patient.id,
        ip=request.remote_addr,
    )
    if data["photo_consent"]:
        audit.record(
            "photo_consent_given",
            clinic_id=patient.clinic_id,
            actor_type="patient",
            actor_id=patient.id,
            target_type="patient",
            target_id=patient.id,
        )
    return begin("patient", patient)
