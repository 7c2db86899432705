"""Liveness and readiness: /healthz checks that the database answers."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify

from anagen.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the app can reach its database, 503 otherwise."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
