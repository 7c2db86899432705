"""Push subscriptions of a patient's devices, and the app's sender."""

from __future__ import annotations

import base64
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from anagen.errors import InvalidInput
from anagen.extensions import db
from anagen.models import Patient, PushSubscription
from anagen.services.push_sender import WebPushSender
from anagen.services.vapid import VapidKeys, load_or_create, validate_subject


def vapid_keys(app=None) -> VapidKeys:
    """The app's VAPID keys: from VAPID_PRIVATE_KEY, else generated once into the instance folder."""
    app = app or current_app
    keys = app.extensions.get("anagen_vapid")
    if keys is None:
        keys = load_or_create(Path(app.instance_path), app.config.get("VAPID_PRIVATE_KEY") or None)
        app.extensions["anagen_vapid"] = keys
    return keys


def make_sender(app=None, **kwargs) -> WebPushSender:
    app = app or current_app
    subject = validate_subject(app.config["VAPID_SUBJECT"])
    return WebPushSender(
        vapid_keys(app), subject, allow_http=app.config.get("PUSH_ALLOW_HTTP", False), **kwargs
    )


def _key_bytes(value: str, field: str, length: int) -> None:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != length:
        raise InvalidInput(
            "This device's notification keys are not valid.", {field: f"Must be {length} bytes, base64url"}
        )


def save_subscription(
    patient: Patient, endpoint: str, p256dh: str, auth: str, user_agent: str | None
) -> bool:
    """Upsert by endpoint (a device re-subscribing, or moving to this account); True if new."""
    if not endpoint.startswith("https://") and not current_app.config.get("PUSH_ALLOW_HTTP"):
        raise InvalidInput("Notifications need a secure push service.", {"endpoint": "Must be https"})
    _key_bytes(p256dh, "keys.p256dh", 65)
    _key_bytes(auth, "keys.auth", 16)
    sub = db.session.scalar(sa.select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    created = sub is None
    if created:
        sub = PushSubscription(endpoint=endpoint)
        db.session.add(sub)
    sub.patient_id = patient.id
    sub.p256dh, sub.auth = p256dh, auth
    sub.user_agent = (user_agent or "")[:300]
    db.session.flush()
    return created


def remove_subscription(patient: Patient, endpoint: str) -> None:
    db.session.execute(
        sa.delete(PushSubscription).where(
            PushSubscription.patient_id == patient.id, PushSubscription.endpoint == endpoint
        )
    )


def has_subscription(patient: Patient) -> bool:
    return (
        db.session.scalar(
            sa.select(PushSubscription.id).where(PushSubscription.patient_id == patient.id).limit(1)
        )
        is not None
    )
