"""Dates built from the current (pinned) time, never written into a test, so the suite holds on
any day: the next clock change, the next leap day, the next given weekday."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo


def dst_change(zone: str, after: dt.datetime, *, forward: bool) -> dt.date:
    """The local date of the next daylight-saving change in `zone` after `after`."""
    tz = ZoneInfo(zone)
    day = after.astimezone(tz).date()
    offset = dt.datetime.combine(day, dt.time(12), tz).utcoffset()
    for _ in range(400):
        day += dt.timedelta(days=1)
        new = dt.datetime.combine(day, dt.time(12), tz).utcoffset()
        if new != offset:
            if (new > offset) == forward:
                return day
            offset = new
    raise ValueError(f"{zone} has no {'spring' if forward else 'autumn'} clock change")


def next_leap_day(after: dt.date) -> dt.date:
    """The first 29 February after `after`."""
    year = after.year
    while not (calendar.isleap(year) and dt.date(year, 2, 29) > after):
        year += 1
    return dt.date(year, 2, 29)


def on_or_before(day: dt.date, weekday: int) -> dt.date:
    """The latest date on or before `day` that falls on `weekday` (0 = Monday)."""
    return day - dt.timedelta(days=(day.weekday() - weekday) % 7)


def local(day: dt.date, at: dt.time, zone: str) -> dt.datetime:
    """A local wall-clock time as an aware UTC instant."""
    return dt.datetime.combine(day, at, ZoneInfo(zone)).astimezone(dt.UTC)
