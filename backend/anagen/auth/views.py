"""Sign in, sign out, the current session, password change and re-authentication."""

from __future__ import annotations

from flask import request
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import NEW_PASSWORD, SessionSchema, StrictSchema, text
from anagen.auth import accounts, audit, throttle
from anagen.auth.policy import account, record_action
from anagen.auth.security import begin, current_session, signed_out
from anagen.errors import InvalidInput, Unauthenticated
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


# Wrong passwords allowed, counted as failures (a right password gives its unit back), so a
# guesser elsewhere never locks the owner out of a device with no failures of its own:
# per account and address, per address (whatever the account), and per account from every
# address (the ceiling against guessing from many addresses; it is the only limit a
# distributed guesser can make the owner meet).
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = "5/minute;30/hour"
LOGIN_FAILURES_PER_ADDRESS = "20/minute;100/hour"
LOGIN_FAILURES_PER_ACCOUNT = "50/hour"
# Wrong current passwords at re-authentication and password change, per account: a stolen
# session must not become an unlimited password oracle.
PASSWORD_CHECK_FAILURES_PER_ACCOUNT = "5/minute;20/hour"  # noqa: S105 (a limit, not a password)

WRONG_CREDENTIALS = "That email and password don't match an account. Check them and try again."


def _check_password(acct: accounts.Account, password: str) -> bool:
    """The account's password, checked within its limit; a wrong one is audited in the clinic's log."""
    guess = throttle.reserve((PASSWORD_CHECK_FAILURES_PER_ACCOUNT, f"password:{acct.get_id()}"))
    if accounts.password_matches(acct, password):
        guess.release()
        return True
    db.session.rollback()
    record_action(acct, "password_check_failed", path=request.path)
    db.session.commit()
    return False


@bp.get("/session")
@bp.response(200, SessionSchema)
def get_session():
    """The current session (signed in or not) and the CSRF token for the next change."""
    return current_session()


@bp.post("/login")
@bp.arguments(LoginSchema)
@bp.response(200, SessionSchema)
@bp.alt_response(401, description="Unknown account or wrong password (the same answer for both)")
@bp.alt_response(
    429,
    description="Too many wrong passwords: 5 a minute (30 an hour) for one account from one address, "
    "20 a minute (100 an hour) from one address, 50 an hour for one account; see Retry-After",
)
def login(data):
    """Sign in with email and password. Starts a new session."""
    kind, address = data["account"], request.remote_addr
    email = accounts.normalise_email(data["email"])
    guess = throttle.reserve(
        (LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, f"login:{kind}:{email}:{address}"),
        (LOGIN_FAILURES_PER_ADDRESS, f"login-address:{address}"),
        (LOGIN_FAILURES_PER_ACCOUNT, f"login:{kind}:{email}"),
    )
    user = accounts.authenticate(kind, email, data["password"])
    if user is None:
        # A known account's clinic sees the failure in its own audit log.
        target = accounts.find_user(kind, email)
        audit.record(
            "sign_in_failed",
            clinic_id=target.clinic_id if target else None,
            actor_type=kind,
            target_type=kind if target else None,
            target_id=target.id if target else None,
            ip=address,
            account=kind,
        )
        db.session.commit()
        raise Unauthenticated(WRONG_CREDENTIALS, code="invalid_credentials")
    guess.release()
    return begin(kind, user)


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
@bp.alt_response(429, description="Too many wrong current passwords for this account; see Retry-After")
@login_required
def change_password(data):
    """Change the password; every other session of the account ends."""
    acct = account()
    if not _check_password(acct, data["current_password"]):
        raise InvalidInput("Your current password is not right.", {"current_password": "Not right"})
    accounts.set_password(acct, data["new_password"])
    record_action(acct, "password_changed")
    db.session.commit()
    return current_session()


@bp.post("/reauth")
@limiter.limit("10/minute", key_func=lambda: f"reauth:{request.remote_addr}")
@bp.arguments(ReauthSchema)
@bp.response(204)
@bp.alt_response(429, description="Too many wrong passwords for this account; see Retry-After")
@login_required
def reauth(data):
    """Confirm the password before a sensitive change (valid for 10 minutes)."""
    acct = account()
    if not _check_password(acct, data["password"]):
        raise Unauthenticated(
            "That password is not right.", {"password": "Not right"}, code="invalid_credentials"
        )
    accounts.mark_reauthenticated(acct)
    db.session.commit()
