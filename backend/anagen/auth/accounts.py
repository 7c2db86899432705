"""Signing in and out: server-side, revocable sessions for staff and patients.

Flask's default session is a signed cookie that stays valid after logout when copied.
Here the cookie holds a random token and the server keeps a record of it (only its
SHA-256), so logout, a password change or a timeout really ends a session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from flask_login import UserMixin

from anagen.auth.passwords import check_password_rules, hash_checked, needs_rehash, verify_password
from anagen.clock import utcnow
from anagen.errors import Unauthenticated
from anagen.extensions import db
from anagen.models import Clinic, Patient, StaffUser, UserSession

# Writing last_seen_at on every request would turn every read into a write.
TOUCH_INTERVAL = dt.timedelta(minutes=1)
REAUTH_WINDOW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class SessionPolicy:
    idle: dt.timedelta
    absolute: dt.timedelta


# eq=False keeps UserMixin's equality: two objects for the same account are equal.
@dataclass(eq=False)
class Account(UserMixin):
    """The signed-in person behind a request, as Flask-Login's `current_user`."""

    kind: str  # "staff" | "patient"
    user: StaffUser | Patient
    session: UserSession

    def get_id(self) -> str:
        """Unique across both tables: a staff member and a patient may share a numeric id."""
        return f"{self.kind}:{self.user.id}"

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name if self.is_staff else self.user.display_name

    @property
    def clinic(self) -> Clinic:
        return self.user.clinic

    @property
    def clinic_id(self) -> int:
        return self.user.clinic_id

    @property
    def role(self) -> str:
        return self.user.role.value if self.is_staff else "patient"

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret_key: str, session_secret: str) -> str:
    """The CSRF token for a session (or for an anonymous visitor's CSRF cookie)."""
    return hmac.new(secret_key.encode(), b"csrf:" + session_secret.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret_key: str, session_secret: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(secret_key, session_secret), presented)


def normalise_email(email: str) -> str:
    """The one spelling of an email that uniqueness and sign-in compare: NFKC, lower case, stripped.

    NFKC folds full-width letters and other compatibility forms and composes accents, so a
    full-width "pat@x.example" and the ASCII one (or a decomposed and a composed accent) are one.
    """
    folded = unicodedata.normalize("NFKC", email).lower()
    # Unicode does not promise that lower-casing keeps a string normalised: normalise again,
    # so normalising twice gives the same address as once.
    return unicodedata.normalize("NFKC", folded).strip()


def find_user(kind: str, email: str) -> StaffUser | Patient | None:
    """The staff or patient account with this email (any spelling of it), active or not."""
    model = StaffUser if kind == "staff" else Patient
    return db.session.scalar(sa.select(model).where(model.email == normalise_email(email)))


def authenticate(kind: str, email: str, password: str) -> StaffUser | Patient | None:
    """The account for these credentials, or None (same time taken either way)."""
    user = find_user(kind, email)
    stored = user.password_hash if user is not None and user.active else None
    if not verify_password(stored, password):
        return None
    if needs_rehash(stored):
        user.password_hash = hash_checked(password)
    return user


def start_session(
    kind: str, user: StaffUser | Patient, user_agent: str | None = None
) -> tuple[UserSession, str]:
    """A new session record and the token to put in the cookie (a new one at every sign-in)."""
    token = secrets.token_urlsafe(32)
    record = UserSession(
        token_hash=hash_token(token), user_type=kind, user_id=user.id, user_agent=(user_agent or "")[:300]
    )
    db.session.add(record)
    db.session.flush()
    return record, token


def load_account(
    token: str, policies: dict[str, SessionPolicy], now: dt.datetime | None = None
) -> Account | None:
    """The account of a live session token; None when unknown, revoked or timed out."""
    now = now or utcnow()
    record = db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == hash_token(token)))
    if record is None or record.revoked_at is not None:
        return None
    policy = policies[record.user_type]
    if now - record.last_seen_at > policy.idle or now - record.created_at > policy.absolute:
        record.revoked_at = now
        db.session.commit()
        return None
    model = StaffUser if record.user_type == "staff" else Patient
    user = db.session.get(model, record.user_id)
    if user is None or not user.active:
        return None
    if now - record.last_seen_at > TOUCH_INTERVAL:
        record.last_seen_at = now
        db.session.commit()
    return Account(kind=record.user_type, user=user, session=record)


def end_session(record: UserSession) -> None:
    record.revoked_at = utcnow()


def end_sessions(kind: str, user_id: int, *, except_id: int | None = None) -> int:
    """Revoke every live session of an account (but one); returns how many ended."""
    query = sa.update(UserSession).where(
        UserSession.user_type == kind, UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if except_id is not None:
        query = query.where(UserSession.id != except_id)
    return db.session.execute(query.values(revoked_at=utcnow())).rowcount


def password_matches(account: Account, password: str) -> bool:
    """True when this is the account's password (re-authentication, password change)."""
    return verify_password(account.user.password_hash, password)


def mark_reauthenticated(account: Account) -> None:
    """The session's password was just confirmed: sensitive changes are allowed for a while."""
    account.session.reauth_at = utcnow()


def require_recent_auth(account: Account, now: dt.datetime | None = None) -> None:
    if (now or utcnow()) - account.session.reauth_at > REAUTH_WINDOW:
        raise Unauthenticated("Please confirm your password to make this change.", code="reauth_required")


def user_inputs(user: StaffUser | Patient) -> list[str]:
    """What a password must not be built from: the account's email (and its parts) and names."""
    names = [user.name] if isinstance(user, StaffUser) else [user.first_name, user.last_name]
    local = (user.email or "").split("@", 1)[0]
    return [user.email or "", local, *names]


def set_password(account: Account, new: str) -> None:
    """Set a new password (after the current one was confirmed); every other session ends."""
    check_password_rules(new, "new_password", user_inputs(account.user))
    account.user.password_hash = hash_checked(new)
    account.session.reauth_at = utcnow()
    end_sessions(account.kind, account.user.id, except_id=account.session.id)
