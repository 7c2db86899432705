"""The audit log. Events name who did what to which record: never secrets or health values."""

from __future__ import annotations

import sqlalchemy as sa

from anagen.extensions import db
from anagen.models import AuditEvent

# Only these detail keys are stored, so a caller cannot leak a password, token or
# health value into the log by passing the wrong dict.
ALLOWED_DETAIL_KEYS = frozenset(
    {"account", "reason", "role", "old_role", "new_role", "method", "path", "view", "expires_at", "active"}
    # The clinic workspace: which flag (its key) and event were acknowledged, which kit changed,
    # which export was downloaded, a course's new status. Never a note or a reason's text.
    | {"flag", "since", "kit", "export", "status"}
    # Photos: whose photo, which image size was viewed or downloaded, which measure changed.
    | {"patient", "size", "checkpoint", "area"}
)


def record(
    event: str,
    *,
    clinic_id: int | None = None,
    actor_type: str | None = None,
    actor_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    ip: str | None = None,
    **detail: str | int | bool | None,
) -> AuditEvent:
    """Add one audit event to the current transaction."""
    unknown = set(detail) - ALLOWED_DETAIL_KEYS
    if unknown:
        raise ValueError(f"audit detail keys not allowed: {sorted(unknown)}")
    entry = AuditEvent(
        event=event,
        clinic_id=clinic_id,
        actor_type=actor_type,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        ip=ip,
        detail={k: v for k, v in detail.items() if v is not None},
    )
    db.session.add(entry)
    return entry


def clinic_events(
    clinic_id: int,
    *,
    limit: int = 100,
    before_id: int | None = None,
    event: str | None = None,
    actor: tuple[str, int | None] | None = None,
    target: tuple[str, int | None] | None = None,
) -> list[AuditEvent]:
    """A clinic's events, newest first, paged by id; optionally only one event, or the events
    of one actor or about one record ((type, id); id None: any of that type)."""
    query = sa.select(AuditEvent).where(AuditEvent.clinic_id == clinic_id)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    if event:
        query = query.where(AuditEvent.event == event)
    for (kind, record_id), type_column, id_column in (
        (actor or (None, None), AuditEvent.actor_type, AuditEvent.actor_id),
        (target or (None, None), AuditEvent.target_type, AuditEvent.target_id),
    ):
        if kind:
            query = query.where(type_column == kind)
        if record_id is not None:
            query = query.where(id_column == record_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))


def clinic_event_names(clinic_id: int) -> list[str]:
    """The kinds of event in a clinic's log, for filtering it."""
    query = sa.select(AuditEvent.event).where(AuditEvent.clinic_id == clinic_id).distinct()
    return sorted(db.session.scalars(query))
