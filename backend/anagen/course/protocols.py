"""Stored protocol versions and the effective protocol of a course."""

from __future__ import annotations

import json
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from anagen.extensions import db
from anagen.models import Course, ProtocolVersion
from anagen.protocol import Protocol, apply_overrides, default_protocol, load_protocol, protocol_to_dict


def insert_ignoring_duplicates(model):
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike: a row that would break a
    unique constraint is skipped, not an error (and `.returning(...)` then gives no row)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing()


def ensure_builtin_protocols() -> ProtocolVersion:
    """Store the shipped reference protocol once (idempotent, also under a race); return its row."""
    proto = default_protocol()
    where = (
        ProtocolVersion.clinic_id.is_(None),
        ProtocolVersion.key == proto.key,
        ProtocolVersion.version == proto.version,
    )
    row = db.session.scalar(sa.select(ProtocolVersion).where(*where))
    if row is None:
        # uq_protocol_version_builtin makes a racing second insert a no-op.
        db.session.execute(
            insert_ignoring_duplicates(ProtocolVersion).values(
                clinic_id=None,
                key=proto.key,
                version=proto.version,
                name=proto.name,
                definition=protocol_to_dict(proto),
            )
        )
        row = db.session.scalar(sa.select(ProtocolVersion).where(*where))
    return row


def available_protocols(clinic_id: int) -> list[ProtocolVersion]:
    """Protocols a clinic can enrol patients on: the shipped ones and its own."""
    return list(
        db.session.scalars(
            sa.select(ProtocolVersion)
            .where(sa.or_(ProtocolVersion.clinic_id.is_(None), ProtocolVersion.clinic_id == clinic_id))
            .order_by(ProtocolVersion.key, ProtocolVersion.version)
        )
    )


@lru_cache(maxsize=256)
def _effective(version_id: int, definition_json: str, overrides_json: str) -> Protocol:
    # Keyed on the JSON text too, so an edited row can never serve a stale parse.
    proto = load_protocol(json.loads(definition_json))
    overrides = json.loads(overrides_json)
    return apply_overrides(proto, overrides) if overrides else proto


def effective_protocol(version: ProtocolVersion, *override_layers: dict | None) -> Protocol:
    """The protocol with clinic (then course) overrides applied, validated against its bounds."""
    merged: dict = {}
    for layer in override_layers:
        merged.update(layer or {})
    return _effective(
        version.id,
        json.dumps(version.definition, sort_keys=True),
        json.dumps(merged, sort_keys=True),
    )


def course_protocol(course: Course) -> Protocol:
    """The protocol in force for a course (its overrides were fixed at enrolment)."""
    return effective_protocol(course.protocol_version, course.protocol_overrides)
