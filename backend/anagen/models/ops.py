"""What the operator's processes leave for /healthz to read."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.models.base import Base


class DispatcherHeartbeat(Base):
    """The last tick of each running reminder dispatcher (one row per host and process)."""

    __tablename__ = "dispatcher_heartbeat"

    name: so.Mapped[str] = so.mapped_column(sa.String(120), primary_key=True)
    beat_at: so.Mapped[dt.datetime] = so.mapped_column(index=True)
