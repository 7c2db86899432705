"""Push subscriptions of a patient's devices, and the app's sender."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from anagen.clock import utcnow
from anagen.errors import InvalidInput
from anagen.extensions import db
from anagen.models import Patient, PushSubscription
from anagen.webpush.endpoints import endpoint_problem
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


@dataclass(frozen=True)
class Saved:
    """A saved subscription: whether it is new, and its state ("active", or "failed" once
    the push service kept refusing it; see models/push.py)."""

    created: bool
    state: str


def save_subscription(
    patient: Patient, endpoint: str, p256dh: str, auth: str, user_agent: str | None
) -> Saved:
    """Upsert by endpoint (a device re-subscribing, or moving to this account): one
    INSERT ... ON CONFLICT DO UPDATE, so two saves at once never collide. New keys or a new
    owner clear a failed state; the same subscription saved again keeps it."""
    problem = endpoint_problem(endpoint, bool(current_app.config.get("PUSH_ALLOW_HTTP")))
    if problem is not None:
        raise InvalidInput("Notifications need a secure push service.", {"endpoint": problem})
    _key_bytes(p256dh, "keys.p256dh", 65)
    _key_bytes(auth, "keys.auth", 16)
    now = utcnow()
    table = PushSubscription.__table__
    dialect = db.session.get_bind().dialect.name
    insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(table).values(
        patient_id=patient.id,
        endpoint=endpoint,
        p256dh=p256dh,
        auth=auth,
        user_agent=(user_agent or "")[:300],
        created_at=now,
        refusals=0,
    )
    new = insert.excluded
    same = sa.and_(
        table.c.p256dh == new.p256dh, table.c.auth == new.auth, table.c.patient_id == new.patient_id
    )
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.endpoint],
        set_={
            "patient_id": new.patient_id,
            "p256dh": new.p256dh,
            "auth": new.auth,
            "user_agent": new.user_agent,
            "refusals": sa.case((same, table.c.refusals), else_=0),
            "failed_at": sa.case((same, table.c.failed_at), else_=None),
            "failure": sa.case((same, table.c.failure), else_=None),
        },
    ).returning(table.c.created_at, table.c.failed_at)
    row = db.session.execute(statement).one()
    # Our own created_at came back: this statement inserted the row.
    return Saved(created=row.created_at == now, state="failed" if row.failed_at else "active")


@dataclass(frozen=True)
class Status:
    """The server's record of one device's subscription: "active", "failed" (with the push
    service's last reason) or "unknown" (not held for this patient)."""

    state: str
    failure: str | None = None


def subscription_status(patient: Patient, endpoint: str) -> Status:
    """What the server holds for this endpoint of this patient, read only; another
    patient's endpoint is "unknown", exactly as one the server never saw."""
    row = db.session.scalars(
        sa.select(PushSubscription).where(
            PushSubscription.patient_id == patient.id, PushSubscription.endpoint == endpoint
        )
    ).one_or_none()
    if row is None:
        return Status("unknown")
    return Status(row.state, row.failure if row.state == "failed" else None)


def remove_subscription(patient: Patient, endpoint: str) -> None:
    db.session.execute(
        sa.delete(PushSubscription).where(
            PushSubscription.patient_id == patient.id, PushSubscription.endpoint == endpoint
        )
    )
