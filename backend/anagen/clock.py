"""The current instant, and times as people read them (their own zone, en-GB: "Thu 4 Dec, 20:00")
and as the API gives them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def human(instant: dt.datetime, zone: str) -> str:
    """An instant in the person's zone, e.g. "Thu 4 Dec, 20:00"."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def iso(value: dt.datetime | None) -> str | None:
    """An instant as the API gives it: ISO 8601 in UTC with a Z, to the second."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def utcnow() -> dt.datetime:
    """The current instant, aware, in UTC."""
    return dt.datetime.now(dt.UTC)
