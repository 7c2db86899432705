"""Times as a person reads them: in their own zone, en-GB style ("Thu 4 Dec, 20:00")."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def human(instant: dt.datetime, zone: str) -> str:
    """An instant in the person's zone, e.g. "Thu 4 Dec, 20:00"."""
    local = instant.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"
