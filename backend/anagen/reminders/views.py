"""Web-push: the VAPID public key, a device's subscription, test notifications and snooze."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import Instant, StrictSchema, text
from anagen.auth.policy import account, get_reminder, requires
from anagen.extensions import db, limiter
from anagen.reminders import occurrences as reminders
from anagen.reminders import subscriptions as push

bp = Blueprint("push", __name__, url_prefix="/api", description="Push notifications")


class PublicKeySchema(ma.Schema):
    public_key = fields.String(required=True)


class KeysSchema(StrictSchema):
    p256dh = text(120)
    auth = text(40)


class SubscriptionSchema(StrictSchema):
    endpoint = fields.Url(
        required=True, schemes={"https", "http"}, require_tld=False, validate=validate.Length(max=1024)
    )
    keys = fields.Nested(KeysSchema, required=True)
    expirationTime = fields.Float(allow_none=True, load_default=None)


class EndpointSchema(StrictSchema):
    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class SubscribedSchema(ma.Schema):
    created = fields.Boolean(required=True)
    # "failed": the push service keeps refusing this subscription (no reminders reach it);
    # the device should subscribe again.
    state = fields.String(required=True, validate=validate.OneOf(["active", "failed"]))


class StatusSchema(ma.Schema):
    # "unknown": the server holds no subscription with this endpoint for the signed-in
    # patient (never sent, removed, or dropped after the push service answered 404/410).
    state = fields.String(required=True, validate=validate.OneOf(["active", "failed", "unknown"]))
    failure = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The push service's last refusal, when failed."},
    )


class QueuedSchema(ma.Schema):
    id = fields.Integer(required=True)
    due_at = Instant(required=True)


@bp.get("/push/public-key")
@bp.response(200, PublicKeySchema)
def public_key():
    """The VAPID public key (applicationServerKey) for PushManager.subscribe()."""
    return push.vapid_keys()


@bp.put("/me/push-subscriptions")
@requires("patient")
@bp.arguments(SubscriptionSchema)
@bp.response(200, SubscribedSchema)
def put_subscription(data):
    """Save this device's subscription (called on every app start); its state says whether
    reminders reach it ("failed": the push service keeps refusing it)."""
    saved = push.save_subscription(
        account().user,
        data["endpoint"],
        data["keys"]["p256dh"],
        data["keys"]["auth"],
        request.headers.get("User-Agent"),
    )
    db.session.commit()
    return saved


@bp.delete("/me/push-subscriptions")
@requires("patient")
@bp.arguments(EndpointSchema)
@bp.response(204)
def delete_subscription(data):
    """Forget this device's subscription (on sign-out or when notifications are turned off)."""
    push.remove_subscription(account().user, data["endpoint"])
    db.session.commit()


@bp.post("/me/push-subscriptions/status")
@requires("patient")
@bp.arguments(EndpointSchema)
@bp.response(200, StatusSchema)
def subscription_status(data):
    """The server's record of this device's subscription, unchanged (POST: the endpoint stays
    out of URLs and logs)."""
    return push.subscription_status(account().user, data["endpoint"])


@bp.post("/me/push-subscriptions/test")
@requires("patient")
@limiter.limit("5/minute", key_func=lambda: f"push-test:{current_user.get_id()}")
@bp.response(202, QueuedSchema)
def send_test():
    """Queue a test notification for every device of the patient."""
    occurrence = reminders.queue_test(account().user)
    db.session.commit()
    return occurrence


@bp.post("/me/reminders/<int:occurrence_id>/snooze")
@requires("patient")
@bp.response(201, QueuedSchema)
def snooze(occurrence_id):
    """Remind again in an hour."""
    occurrence = reminders.snooze(get_reminder(account(), occurrence_id))
    db.session.commit()
    return occurrence
