"""Sign in, sign out, the current session, password change and re-authentication."""

from __future__ import annotations

from flask import request
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import NEW_PASSWORD, SessionSchema, StrictSchema, text
from anagen.auth import accounts, audit
from anagen.auth.policy import account, record_action
from anagen.auth.security import begin, current_session, signed_out
from anagen.errors import Unauthenticated
from anagen.extensions import db, limiter

bp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Signing in and out")


class LoginSchema(StrictSchema):
    email = text(254)
    password = text(256)
    account = fields.String(load_default="patient", validate=validate.OneOf(["patient", "staff"]))


class PasswordChangeSchema(StrictSchema):
    current_password = text(256)
    new_password = text(256, metadata=NEW_PASSWORD)


class ReauthSchema(StrictSchema):
    password = text(256)


def _login_account_key() -> str:
    """Rate-limit key for one account: the email tried, whatever address it comes from."""
    data = request.get_json(silent=True) or {}
    email = data.get("email") if isinstance(data, dict) else None
    return f"login:{str(email or '').strip().lower()[:254]}"


@bp.get("/session")
@bp.response(200, SessionSchema)
def get_session():
    """The current session (signed in or not) and the CSRF token for the next change."""
    return current_session()


@bp.post("/login")
@limiter.limit("20/minute;100/hour", key_func=lambda: f"login-ip:{request.remote_addr}")
@limiter.limit("5/minute;30/hour", key_func=_login_account_key)
@bp.arguments(LoginSchema)
@bp.response(200, SessionSchema)
@bp.alt_response(401, description="Unknown account or wrong password (the same answer for both)")
@bp.alt_response(429, description="Too many attempts; see Retry-After")
def login(data):
    """Sign in with email and password. Starts a new session."""
    user = accounts.authenticate(data["account"], data["email"], data["password"])
    if user is None:
        audit.record(
            "sign_in_failed", actor_type=data["account"], ip=request.remote_addr, account=data["account"]
        )
        db.session.commit()
        raise Unauthenticated(
            "That email and password don't match an account. Check them and try again.",
            code="invalid_credentials",
        )
    return begin(data["account"], user)


@bp.post("/logout")
@bp.response(204)
def logout():
    """End this session on the server (a copied cookie stops working too)."""
    if current_user.is_authenticated:
        accounts.end_session(current_user.session)
        record_action(current_user, "sign_out")
        db.session.commit()
    signed_out()


@bp.post("/password")
@bp.arguments(PasswordChangeSchema)
@bp.response(200, SessionSchema)
@login_required
def change_password(data):
    """Change the password; every other session of the account ends."""
    acct = account()
    accounts.change_password(acct, data["current_password"], data["new_password"])
    record_action(acct, "password_changed")
    db.session.commit()
    return current_session()


@bp.post("/reauth")
@limiter.limit("10/minute", key_func=lambda: f"reauth:{request.remote_addr}")
@bp.arguments(ReauthSchema)
@bp.response(204)
@login_required
def reauth(data):
    """Confirm the password before a sensitive change (valid for 10 minutes)."""
    acct = account()
    accounts.confirm_password(acct, data["password"])
    db.session.commit()
