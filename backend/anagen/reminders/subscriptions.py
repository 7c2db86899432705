"""Push subscriptions of a patient's devices, and the app's sender."""

from __future__ import annotations

import base64
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from anagen.errors import InvalidInput
from anagen.extensions import db
from anagen.models import Patient, PushSubscription
from anagen.webpush.sender import WebPushSender
from anagen.webpush.vapid import VapidKeys, load_or_create, validate_subject
from anagen.webpush.workers import ProcessSender


def vapid_keys(app=None) -> VapidKeys:
    """The app's VAPID keys: from VAPID_PRIVATE_KEY, else generated once into the instance folder."""
    app = app or current_app
    keys = app.extensions.get("anagen_vapid")
    if keys is None:
        keys = load_or_create(Path(app.instance_path), app.config.get("VAPID_PRIVATE_KEY") or None)
        app.extensions["anagen_vapid"] = keys
    return keys


def make_sender(app=None, *, processes: int | None = None, **kwargs) -> WebPushSender | ProcessSender:
    """The app's sender. With `processes` (default: the `PUSH_SENDER_PROCESSES` config, else
    0) above 0, encryption and HTTP run in that many worker processes (`ProcessSender`),
    so that they do not share one core and one GIL with the dispatcher's database work."""
    app = app or current_app
    subject = validate_subject(app.config["VAPID_SUBJECT"])
    kwargs.setdefault("allow_http", app.config.get("PUSH_ALLOW_HTTP", False))
    if processes is None:
        processes = int(app.config.get("PUSH_SENDER_PROCESSES") or 0)
    if processes > 0 and "ssl_context" not in kwargs and "header_cache" not in kwargs:
        return ProcessSender(vapid_keys(app), subject, processes, **kwargs)
    return WebPushSender(vapid_keys(app), subject, **kwargs)


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
    # Read everything before adding the new row: touching an expired `patient` autoflushes,
    # and a half-built subscription (no patient_id) must never be flushed.
    values = {
        "patient_id": patient.id,
        "p256dh": p256dh,
        "auth": auth,
        "user_agent": (user_agent or "")[:300],
    }
    sub = db.session.scalar(sa.select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    created = sub is None
    if created:
        db.session.add(PushSubscription(endpoint=endpoint, **values))
    else:
        for name, value in values.items():
            setattr(sub, name, value)
    db.session.flush()
    return created


def remove_subscription(patient: Patient, endpoint: str) -> None:
    db.session.execute(
        sa.delete(PushSubscription).where(
            PushSubscription.patient_id == patient.id, PushSubscription.endpoint == endpoint
        )
    )
