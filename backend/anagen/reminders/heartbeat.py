"""The dispatcher's heartbeat, which /healthz reads to tell whether reminders are going out."""

from __future__ import annotations

import datetime as dt
import os
import socket

import sqlalchemy as sa

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import DispatcherHeartbeat

# Rows of dispatchers that stopped long ago are dropped, so the table stays one row per process.
FORGET_AFTER = dt.timedelta(days=1)


def process_name() -> str:
    """This dispatcher's name in the heartbeat table: host and process id."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}"


def beat(name: str | None = None, now: dt.datetime | None = None) -> None:
    """Record that this dispatcher ticked now (an upsert: one row per process)."""
    now = now or utcnow()
    name = name or process_name()
    updated = db.session.execute(
        sa.update(DispatcherHeartbeat).where(DispatcherHeartbeat.name == name).values(beat_at=now)
    ).rowcount
    if not updated:
        db.session.add(DispatcherHeartbeat(name=name, beat_at=now))
    db.session.execute(sa.delete(DispatcherHeartbeat).where(DispatcherHeartbeat.beat_at < now - FORGET_AFTER))
    db.session.commit()
