"""The pure course engine: schedule, missed-application rule, statuses, adherence and checkpoints.

Instants are timezone-aware and returned in UTC; the patient's schedule lives in their IANA zone.
Wall-clock rule: an application day's reminder time is read in the patient's zone with
PEP 495 fold=0. A time that does not exist (the clock jumps over it when summer time starts) is
therefore moved forward by the length of the jump, e.g. 01:30 becomes 02:30 in London; a time that
happens twice (when summer time ends) means its first occurrence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, available_timezones

from anagen.protocol.definition import Protocol
from anagen.protocol.kit import in_clinic, kit_usage
from anagen.protocol.validation import FieldsError

STATUSES = ("done_on_time", "done_moved", "done_late", "missed", "due", "upcoming")
# When the next application may be done (next_timing): "start" now; "wait" for the minimum gap
# though its day has come; "move": its day has not come but it may be done today instead;
# "planned": its day has not come and it may not be moved to today.
TIMINGS = ("start", "wait", "move", "planned")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_COUNT_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven")


class ScheduleError(FieldsError):
    """Schedule input (weekdays, time, zone, instants) that the course cannot use."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedSlot:
    number: int  # 1-based
    due_at: datetime  # UTC
    local_date: date  # the due date in the patient's zone
    kit_number: int
    vial_number: int  # within the kit, 1-based
    vial_overall: int  # across the course, 1-based
    opens_vial: bool
    dose_fraction: float
    in_clinic: bool
    checkpoints: tuple[str, ...]  # photo checkpoints due after this application
    original_due_at: datetime  # as first scheduled, so the calendar can show what moved
    completed_at: datetime | None = None


class CheckpointDue(NamedTuple):
    key: str
    after_application: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Adherence:
    on_time: int
    late: int
    missed: int
    due_so_far: int
    upcoming: int
    percent: int
    on_time_percent: int
    moved: int = 0  # done before the day they were due on


class _Grid(NamedTuple):
    weekdays: frozenset[int]
    at: time
    zone: ZoneInfo


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # "localtime" is the server's own zone on some systems, never a patient's.
    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}


def validate_zone(name: Any) -> ZoneInfo:
    """The ZoneInfo for an IANA zone name, or ScheduleError."""
    if not isinstance(name, str) or name not in _zone_names():
        advice = "Choose a time zone from the list, e.g. Europe/London"
        raise ScheduleError(f"Unknown time zone: {name!r}", {"time_zone": advice})
    return ZoneInfo(name)


def validate_reminder_time(value: Any) -> time:
    """A local wall-clock time of day without a zone, or ScheduleError."""
    if not isinstance(value, time) or value.tzinfo is not None:
        raise ScheduleError(
            "The reminder time must be a time of day without a time zone",
            {"reminder_time": "must be a time of day, e.g. 20:00"},
        )
    return value.replace(fold=0)


def validate_instant(value: Any, field: str) -> datetime:
    """A timezone-aware datetime converted to UTC, or ScheduleError naming the field."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        message = f"{field} must be a date and time with a time zone"
        raise ScheduleError(message, {field: "must include a time zone"})
    return value.astimezone(UTC)


def min_days_apart(protocol: Protocol) -> int:
    """The fewest days between two chosen weekdays that keep the minimum gap."""
    # One hour of slack: a daylight-saving change can shorten d wall-clock days by an hour.
    return -(-(protocol.min_gap_hours + 1) // 24)


def _weekday_advice(protocol: Protocol) -> str:
    count, days = protocol.applications_per_week, min_days_apart(protocol)
    names = [DAY_NAMES[i * days] for i in range(count)]
    if count == 1:
        return f"Choose one day, e.g. {names[0]}"
    example = f"{', '.join(names[:-1])} and {names[-1]}"
    return f"Choose {_COUNT_WORDS[count]} days at least {days} days apart, e.g. {example}"


def validate_weekdays(protocol: Protocol, weekdays: Iterable[int]) -> tuple[int, ...]:
    """The chosen reminder weekdays (0=Monday..6=Sunday), sorted, or ScheduleError."""
    try:
        values = list(weekdays)
    except TypeError:
        values = [None]
    if any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in values):
        raise ScheduleError(
            "Weekdays must be numbers from 0 (Monday) to 6 (Sunday)",
            {"weekdays": "Use weekday numbers from 0 (Monday) to 6 (Sunday)"},
        )
    chosen = tuple(sorted(set(values)))
    # Spacing is cyclic: the last chosen day is followed by the first one of the next week.
    spacing = [b - a for a, b in zip(chosen, (*chosen[1:], chosen[0] + 7), strict=True)] if chosen else [0]
    if len(values) != protocol.applications_per_week or len(chosen) != len(values):
        spacing = [0]
    if min(spacing) < min_days_apart(protocol):
        advice = _weekday_advice(protocol)
        raise ScheduleError(advice, {"weekdays": advice})
    return chosen


def _grid(protocol: Protocol, weekdays: Iterable[int], reminder_time: Any, time_zone: Any) -> _Grid:
    return _Grid(
        frozenset(validate_weekdays(protocol, weekdays)),
        validate_reminder_time(reminder_time),
        validate_zone(time_zone),
    )


def local_wall_clock(instant: datetime, zone: str | ZoneInfo) -> datetime:
    """The instant as the patient's local wall-clock time."""
    return instant.astimezone(zone if isinstance(zone, ZoneInfo) else validate_zone(zone))


def _wall_clock_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _next_on_grid(earliest: datetime, grid: _Grid) -> datetime:
    """The first chosen weekday at the reminder time that is not before `earliest`."""
    day = earliest.astimezone(grid.zone).date()
    for _ in range(15):
        if day.weekday() in grid.weekdays:
            candidate = _wall_clock_instant(day, grid.at, grid.zone)
            if candidate >= earliest:
                return candidate
        day += timedelta(days=1)
    raise AssertionError("a chosen weekday recurs every seven days")


def _slot(
    protocol: Protocol,
    number: int,
    due_at: datetime,
    original_due_at: datetime,
    zone: ZoneInfo,
    completed_at: datetime | None = None,
) -> PlannedSlot:
    use = kit_usage(protocol, number)
    return PlannedSlot(
        number=number,
        due_at=due_at,
        local_date=due_at.astimezone(zone).date(),
        kit_number=use.kit_number,
        vial_number=use.vial_number,
        vial_overall=use.vial_overall,
        opens_vial=use.opens_vial,
        dose_fraction=protocol.dose_fraction,
        in_clinic=in_clinic(number),
        checkpoints=tuple(c.key for c in protocol.checkpoints if c.after_application == number),
        original_due_at=original_due_at,
        completed_at=completed_at,
    )


def schedule_course(
    protocol: Protocol,
    first_application_at: datetime,
    weekdays: Iterable[int],
    reminder_time: time,
    time_zone: str,
) -> list[PlannedSlot]:
    """The whole course: #1 in clinic, then each on the next chosen weekday that keeps the minimum gap."""
    grid = _grid(protocol, weekdays, reminder_time, time_zone)
    gap = timedelta(hours=protocol.min_gap_hours)
    dues = [validate_instant(first_application_at, "first_application_at")]
    while len(dues) < protocol.applications_total:
        dues.append(_next_on_grid(dues[-1] + gap, grid))
    return [_slot(protocol, n, due, due, grid.zone) for n, due in enumerate(dues, 1)]


def application_status(
    protocol: Protocol,
    due_at: datetime,
    completed_at: datetime | None,
    now: datetime,
    *,
    zone: str | ZoneInfo,
) -> str:
    """One of STATUSES. Done on its local due day (even before the due time) or within the on-time
    window is on time; done on an earlier day it was moved (done_moved), not on time."""
    window_ends = due_at + timedelta(hours=protocol.on_time_window_hours)
    if completed_at is not None:
        if is_moved(due_at, completed_at, zone):
            return "done_moved"
        return "done_on_time" if completed_at <= window_ends else "done_late"
    if now >= window_ends:
        return "missed"
    return "due" if now >= due_at else "upcoming"


def is_moved(due_at: datetime, completed_at: datetime, zone: str | ZoneInfo) -> bool:
    """Done on a local date before the one it was due on."""
    return local_wall_clock(completed_at, zone).date() < local_wall_clock(due_at, zone).date()


def earliest_next(protocol: Protocol, completed: Sequence[datetime]) -> datetime | None:
    """The earliest the next application may be done: the minimum gap after the last one done."""
    return completed[-1] + timedelta(hours=protocol.min_gap_hours) if completed else None


def next_timing(
    protocol: Protocol,
    number: int,
    due_at: datetime,
    completed: Sequence[datetime],
    now: datetime,
    zone: str | ZoneInfo,
) -> str:
    """When application `number`, next to do, may be done: one of TIMINGS.

    The rule from the protocol: applications fall on the chosen weekdays, at least the minimum gap
    apart. On its local due day (or once it is due or missed) it is done as soon as the gap since
    the last one has passed ("start", else "wait"). Before that day it may be moved to today
    ("move") only if the gap since the last one has passed and it is not the clinic's; then the
    ones after it are re-planned by `reschedule`. Otherwise it stays where it is ("planned").
    `due_at` is the due time in force: for a missed one, the time it was missed at.
    """
    earliest = earliest_next(protocol, completed)
    gap_kept = earliest is None or now >= earliest
    if local_wall_clock(now, zone).date() >= local_wall_clock(due_at, zone).date():
        return "start" if gap_kept else "wait"
    return "move" if gap_kept and not in_clinic(number) else "planned"


def reschedule(
    protocol: Protocol,
    slots: Sequence[Any],
    weekdays: Iterable[int],
    reminder_time: time,
    time_zone: str,
    completed: Sequence[datetime],
    now: datetime,
) -> list[PlannedSlot]:
    """The plan after applications 1..k were done at `completed`, applying the missed-application rule.

    Done applications keep their slots. If the next one is missed (its window has closed), it is due
    as soon as possible, `max(now, last done + minimum gap)`, and every later one goes on the next
    chosen weekday that keeps the gap. Otherwise the plan stays, except that a slot too close to the
    one before (or to the last completion) moves forward onto the grid. `slots` may be the first
    schedule or any plan returned here; each keeps its `original_due_at`.
    """
    grid = _grid(protocol, weekdays, reminder_time, time_zone)
    now = validate_instant(now, "now")
    done = [validate_instant(at, f"completed[{i}]") for i, at in enumerate(completed)]
    total = protocol.applications_total
    if len(slots) != total or len(done) > total:
        raise ScheduleError(
            f"A course has {total} applications", {"slots": f"must hold all {total} applications, in order"}
        )
    planned = [validate_instant(slot.due_at, f"slots[{i}].due_at") for i, slot in enumerate(slots)]
    original = [getattr(slot, "original_due_at", None) or slot.due_at for slot in slots]
    gap = timedelta(hours=protocol.min_gap_hours)
    k = len(done)
    dues = planned[:k]
    # The gap is kept from the later of the last due time and the last completion.
    earliest = max(done[-1], dues[-1]) + gap if k else None
    if k < total and application_status(protocol, planned[k], None, now, zone=grid.zone) == "missed":
        dues.append(max(now, earliest) if earliest else now)
        while len(dues) < total:
            dues.append(_next_on_grid(dues[-1] + gap, grid))
    else:
        for due in planned[k:]:
            if earliest is not None and due < earliest:
                due = _next_on_grid(earliest, grid)
            dues.append(due)
            earliest = due + gap
    return [
        _slot(protocol, n, due, original[n - 1], grid.zone, done[n - 1] if n <= k else None)
        for n, due in enumerate(dues, 1)
    ]


def _percent(part: int, whole: int) -> int:
    # Rounded half up, so 12.5 shows as 13 (round() would give 12).
    return 100 if whole == 0 else (200 * part + whole) // (2 * whole)


def adherence(
    protocol: Protocol,
    items: Iterable[tuple[datetime, datetime | None]],
    now: datetime,
    *,
    zone: str | ZoneInfo,
) -> Adherence:
    """Adherence so far over (due_at, completed_at) pairs, due days read in `zone`.

    due_so_far counts applications that are done (on time, late, or moved to an earlier day) or
    whose on-time window has closed (missed); upcoming counts the rest, including one that is due
    now. percent is done / due_so_far and on_time_percent is done on time / due_so_far (a moved
    one is done but not on time), rounded half up; both are 100 while nothing is due yet.
    """
    return summarise(application_status(protocol, due, done, now, zone=zone) for due, done in items)


def summarise(statuses: Iterable[str]) -> Adherence:
    """Adherence from the applications' STATUSES, counted as `adherence` does."""
    counts = Counter(statuses)
    on_time, late, missed = counts["done_on_time"], counts["done_late"], counts["missed"]
    moved = counts["done_moved"]
    due_so_far = on_time + late + moved + missed
    return Adherence(
        on_time=on_time,
        late=late,
        missed=missed,
        due_so_far=due_so_far,
        upcoming=counts["due"] + counts["upcoming"],
        percent=_percent(on_time + late + moved, due_so_far),
        on_time_percent=_percent(on_time, due_so_far),
        moved=moved,
    )


def checkpoint_dates(protocol: Protocol, slots: Sequence[Any]) -> list[CheckpointDue]:
    """When each photo checkpoint falls due: the completion of its application, else its due time."""
    by_number = {slot.number: slot for slot in slots}
    result = []
    for checkpoint in protocol.checkpoints:
        slot = by_number[checkpoint.after_application]
        due_at = getattr(slot, "completed_at", None) or slot.due_at
        result.append(CheckpointDue(checkpoint.key, checkpoint.after_application, due_at))
    return result
