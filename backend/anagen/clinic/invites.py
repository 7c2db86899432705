"""One-time, expiring invites: the clinic hands one over; the patient turns it into an account."""

from __future__ import annotations

import base64
import datetime as dt
import io
import secrets
from dataclasses import dataclass

import segno
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from anagen.auth.accounts import end_sessions, hash_token
from anagen.auth.passwords import hash_password
from anagen.clock import utcnow
from anagen.errors import Gone, InvalidInput, NotFound
from anagen.extensions import db
from anagen.models import Invite, Patient, StaffUser

INVITE_USED = "This invite has already been used. Sign in, or ask your clinic for a new invite."


@dataclass(frozen=True)
class IssuedInvite:
    """A new invite as the clinic hands it over: its link (holding the token) and the link's QR codes."""

    id: int
    expires_at: dt.datetime
    link: str
    qr_svg: str
    qr_png: str


@dataclass(frozen=True)
class InviteInfo:
    """Who an invite is for, shown to the patient before they redeem it."""

    invite: Invite
    patient: Patient


def issue_invite(patient: Patient, staff: StaffUser | None, ttl: dt.timedelta) -> tuple[Invite, str]:
    """A new invite (any earlier unused one is withdrawn) and its token, shown only once."""
    now = utcnow()
    db.session.execute(
        sa.update(Invite)
        .where(Invite.patient_id == patient.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(24)
    invite = Invite(
        patient_id=patient.id,
        token_hash=hash_token(token),
        expires_at=now + ttl,
        created_by_id=staff.id if staff else None,
    )
    db.session.add(invite)
    db.session.flush()
    return invite, token


def hand_over(patient: Patient, staff: StaffUser | None, base_url: str, ttl: dt.timedelta) -> IssuedInvite:
    """A new invite for the patient, with its link and QR codes (the earlier invite stops working)."""
    invite, token = issue_invite(patient, staff, ttl)
    link = invite_link(base_url, token)
    return IssuedInvite(invite.id, invite.expires_at, link, **qr_codes(link))


def invite_link(base_url: str, token: str) -> str:
    """The link for the patient's phone: the token rides in the fragment, so no server logs it."""
    return f"{base_url.rstrip('/')}/#/invite/{token}"


def qr_codes(link: str) -> dict[str, str]:
    """The link as a QR code, SVG markup and a PNG data URI, for the clinic to show or print."""
    qr = segno.make(link, error="m")
    svg = io.BytesIO()
    qr.save(svg, kind="svg", scale=6, border=2, xmldecl=False, title="Invite QR code")
    png = io.BytesIO()
    qr.save(png, kind="png", scale=8, border=2)
    return {
        "qr_svg": svg.getvalue().decode(),
        "qr_png": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode(),
    }


def find_invite(token: str, now: dt.datetime | None = None) -> Invite:
    """The usable invite for a token; a clear error when it is unknown, used or expired."""
    now = now or utcnow()
    invite = db.session.scalar(sa.select(Invite).where(Invite.token_hash == hash_token(token)))
    if invite is None:
        raise NotFound(
            "We couldn't find this invite. Check the link, or ask your clinic.", code="invite_not_found"
        )
    if invite.used_at is not None:
        raise Gone(INVITE_USED, code="invite_used")
    if invite.revoked_at is not None or invite.expires_at <= now:
        raise Gone("This invite has expired. Please ask your clinic for a new one.", code="invite_expired")
    return invite


def invite_info(token: str) -> InviteInfo:
    """The usable invite for a token and the patient it is for."""
    invite = find_invite(token)
    return InviteInfo(invite, db.session.get(Patient, invite.patient_id))


def redeem_invite(token: str, password: str, photo_consent: bool) -> Patient:
    """Set the patient's password, record consent, and use up the invite."""
    invite = find_invite(token)
    patient = db.session.get(Patient, invite.patient_id)
    if patient is None or not patient.active:
        raise NotFound("This invite is no longer valid. Please ask your clinic.", code="invite_not_found")
    if not isinstance(photo_consent, bool):
        raise InvalidInput(
            "Say whether you agree to share photos.", {"photo_consent": "Must be true or false"}
        )
    password_hash = hash_password(password)
    now = utcnow()
    # Use the invite up only if it is still unused: of two redemptions at once, one wins.
    used = db.session.execute(
        sa.update(Invite)
        .where(
            Invite.id == invite.id,
            Invite.used_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        db.session.expire(invite)
        find_invite(token, now)  # says why: used, or expired meanwhile
        raise Gone(INVITE_USED, code="invite_used")
    set_committed_value(invite, "used_at", now)
    patient.password_hash = password_hash
    patient.photo_consent_at = now if photo_consent else None
    # An invite is also the patient's password reset: sessions on other devices end.
    end_sessions("patient", patient.id)
    return patient
