"""Liveness and readiness: /healthz checks the database and the reminder dispatcher's heartbeat."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from anagen.clock import iso, utcnow
from anagen.extensions import db
from anagen.models import DispatcherHeartbeat

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """503 when the database does not answer; 200 otherwise, "degraded" when no dispatcher has
    ticked lately (reminders are not going out, though the app itself works)."""
    try:
        last_beat = db.session.execute(sa.select(sa.func.max(DispatcherHeartbeat.beat_at))).scalar()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    if last_beat is not None and last_beat.tzinfo is None:
        last_beat = last_beat.replace(tzinfo=dt.UTC)  # max() bypasses the column type on SQLite
    stale_after = dt.timedelta(seconds=current_app.config["DISPATCHER_STALE_SECONDS"])
    fresh = last_beat is not None and utcnow() - last_beat <= stale_after
    return jsonify(
        status="ok" if fresh else "degraded",
        database="ok",
        dispatcher="ok" if fresh else "stale",
        dispatcher_last_seen=iso(last_beat),
    )
