"""Properties of the course engine over many dates, zones, weekdays and completion patterns."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import event, given, settings
from hypothesis import strategies as st

from anagen.protocol import (
    ScheduleError,
    adherence,
    application_status,
    apply_overrides,
    default_protocol,
    earliest_next,
    min_days_apart,
    next_timing,
    reschedule,
    schedule_course,
    summarise,
    validate_weekdays,
)

PROTOCOL = default_protocol()
MAIN_ZONES = ("Europe/London", "America/New_York", "Australia/Sydney")
# Half-hour summer time, changes at midnight, Ramadan changes, a two-hour change, no changes at all.
OTHER_ZONES = (
    "Australia/Lord_Howe",
    "America/Havana",
    "America/Santiago",
    "Africa/Casablanca",
    "Antarctica/Troll",
    "Pacific/Chatham",
    "America/St_Johns",
    "Asia/Kolkata",
    "UTC",
)
WEEKDAY_PAIRS = [
    pair
    for pair in itertools.combinations(range(7), 2)
    if min((pair[1] - pair[0]) % 7, (pair[0] - pair[1]) % 7) >= 3
]

zones = st.one_of(st.sampled_from(MAIN_ZONES), st.sampled_from(OTHER_ZONES))
local_starts = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31, 23, 59))
# Clocks change in the small hours, so reminder times there are drawn more often.
reminder_times = st.one_of(st.times(), st.times(max_value=time(3, 59, 59, 999999)))
protocols = st.builds(
    lambda gap, window: apply_overrides(PROTOCOL, {"min_gap_hours": gap, "on_time_window_hours": window}),
    st.sampled_from([48, 60, 71]),
    st.sampled_from([12, 24, 48]),
)


def grid_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The documented wall-clock rule, written out independently: fold=0 on the local date."""
    return datetime(
        day.year, day.month, day.day, at.hour, at.minute, at.second, at.microsecond, tzinfo=zone
    ).astimezone(UTC)


def exists(day: date, at: time, zone: ZoneInfo) -> bool:
    wall = datetime.combine(day, at.replace(fold=0))
    return grid_instant(day, at, zone).astimezone(zone).replace(tzinfo=None) == wall


def assert_on_grid(due: datetime, weekdays, at: time, zone: ZoneInfo) -> None:
    """The due time is a chosen weekday at the reminder time, or that time moved past a DST gap."""
    local = due.astimezone(zone)
    if local.time() == at.replace(fold=0):
        assert local.weekday() in weekdays
        assert exists(local.date(), at, zone)
        return
    candidates = [local.date() - timedelta(days=1), local.date()]
    matches = [d for d in candidates if d.weekday() in weekdays and grid_instant(d, at, zone) == due]
    assert matches, f"{due} ({local}) is not on the grid"
    event("a reminder time skipped by a clock change")
    assert not exists(matches[0], at, zone)


def assert_first_on_grid_after(due: datetime, earliest: datetime, weekdays, at: time, zone: ZoneInfo) -> None:
    """No chosen weekday between `earliest` and `due` would have done."""
    day = earliest.astimezone(zone).date() - timedelta(days=1)
    while day < due.astimezone(zone).date():
        if day.weekday() in weekdays:
            instant = grid_instant(day, at, zone)
            assert instant < earliest or instant >= due
        day += timedelta(days=1)


@settings(max_examples=2000, deadline=None)
@given(
    protocol=protocols,
    start=local_starts,
    weekdays=st.sampled_from(WEEKDAY_PAIRS),
    at=reminder_times,
    zone_name=zones,
)
def test_schedule_course_properties(protocol, start, weekdays, at, zone_name):
    zone = ZoneInfo(zone_name)
    first = start.replace(tzinfo=zone)
    gap = timedelta(hours=protocol.min_gap_hours)

    plan = schedule_course(protocol, first, weekdays, at, zone_name)

    assert len(plan) == protocol.applications_total
    assert [slot.number for slot in plan] == list(range(1, protocol.applications_total + 1))
    # Compared in UTC: an aware time in a DST gap never equals one in another zone (PEP 495).
    assert plan[0].due_at == first.astimezone(UTC) and plan[0].in_clinic
    assert not any(slot.in_clinic for slot in plan[1:])
    for before, slot in itertools.pairwise(plan):
        assert slot.due_at - before.due_at >= gap
        assert_on_grid(slot.due_at, weekdays, at, zone)
        assert_first_on_grid_after(slot.due_at, before.due_at + gap, weekdays, at, zone)
    for slot in plan:
        assert slot.due_at.utcoffset() == timedelta(0)
        assert slot.local_date == slot.due_at.astimezone(zone).date()
        assert slot.original_due_at == slot.due_at
    # Half a vial each: 24 applications use 12 vials, each opened once and used twice.
    vials = [slot.vial_overall for slot in plan]
    assert sum(slot.dose_fraction for slot in plan) == len(set(vials)) == protocol.applications_total // 2
    assert all(vials.count(v) == protocol.doses_per_vial for v in set(vials))
    assert sum(slot.opens_vial for slot in plan) == len(set(vials))
    kits = [slot.kit_number for slot in plan]
    assert kits == [1] * 12 + [2] * 12
    assert [b - a for a, b in itertools.pairwise(kits)].count(1) == 1


@settings(max_examples=300, deadline=None)
@given(
    first=st.integers(0, 6),
    second=st.integers(0, 6),
    gap=st.integers(48, 71),
)
def test_weekdays_are_accepted_exactly_when_far_enough_apart(first, second, gap):
    protocol = apply_overrides(PROTOCOL, {"min_gap_hours": gap})
    apart = min((first - second) % 7, (second - first) % 7)
    try:
        chosen = validate_weekdays(protocol, (first, second))
    except ScheduleError:
        assert first == second or apart < min_days_apart(protocol)
    else:
        assert chosen == tuple(sorted((first, second)))
        assert apart * 24 - 1 >= protocol.min_gap_hours


# What the patient does with each application: how many hours from its due time it is done, or
# how many hours pass with it left undone.
done_after = st.tuples(st.just("done"), st.integers(-30, 90))
actions = st.lists(
    st.one_of(done_after, done_after, done_after, st.tuples(st.just("skip"), st.integers(1, 400))),
    min_size=10,
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(
    protocol=protocols,
    start=local_starts,
    weekdays=st.sampled_from(WEEKDAY_PAIRS),
    at=reminder_times,
    zone_name=st.sampled_from(MAIN_ZONES),
    script=st.one_of(actions, st.lists(done_after, min_size=24, max_size=24)),
)
def test_reschedule_keeps_the_count_and_the_gap_and_never_moves_done_ones(
    protocol, start, weekdays, at, zone_name, script
):
    zone = ZoneInfo(zone_name)
    gap = timedelta(hours=protocol.min_gap_hours)
    original = schedule_course(protocol, start.replace(tzinfo=zone), weekdays, at, zone_name)
    plan, completed = original, []
    now = original[0].due_at - timedelta(hours=1)
    for action, hours in script:
        if len(completed) == protocol.applications_total:
            break
        upcoming = plan[len(completed)]
        if action == "done":
            now = max(now, upcoming.due_at + timedelta(hours=hours))
            completed.append(now)
        else:
            now += timedelta(hours=hours)
        before = plan
        plan = reschedule(protocol, before, weekdays, at, zone_name, completed, now)

        k = len(completed)
        assert len(plan) == protocol.applications_total
        assert [slot.number for slot in plan] == list(range(1, protocol.applications_total + 1))
        assert [slot.due_at for slot in plan[:k]] == [slot.due_at for slot in before[:k]]
        assert [slot.completed_at for slot in plan] == completed + [None] * (len(plan) - k)
        assert [slot.original_due_at for slot in plan] == [slot.due_at for slot in original]
        assert [slot.kit_number for slot in plan] == [slot.kit_number for slot in original]
        for a, b in itertools.pairwise(plan):
            assert b.due_at - a.due_at >= gap
        if 0 < k < len(plan):
            assert plan[k].due_at - completed[-1] >= gap
        if k == len(plan):
            event("the whole course done")
        if k < len(plan) and application_status(protocol, before[k].due_at, None, now, zone=zone) == "missed":
            event("a missed application made up as soon as possible")
            floor = max(completed[-1], plan[k - 1].due_at) + gap if k else now
            assert plan[k].due_at == max(now, floor)
            for a, b in itertools.pairwise(plan[k:]):
                assert_on_grid(b.due_at, weekdays, at, zone)
                assert_first_on_grid_after(b.due_at, a.due_at + gap, weekdays, at, zone)


# A patient who opens the app every so many hours and does the next application whenever the
# timing allows it (and they feel like it): by its day, or moved to today.
visits = st.lists(st.tuples(st.integers(1, 80), st.booleans()), min_size=20, max_size=120)


@settings(max_examples=300, deadline=None)
@given(
    protocol=protocols,
    start=local_starts,
    weekdays=st.sampled_from(WEEKDAY_PAIRS),
    at=reminder_times,
    zone_name=zones,
    script=visits,
)
def test_the_timing_rule_keeps_the_gap_and_counts_moves(protocol, start, weekdays, at, zone_name, script):
    zone = ZoneInfo(zone_name)
    gap = timedelta(hours=protocol.min_gap_hours)
    original = schedule_course(protocol, start.replace(tzinfo=zone), weekdays, at, zone_name)
    # The rows as course/courses.py keeps them: the due time in force of each.
    rows = [SimpleNamespace(number=s.number, due_at=s.due_at, original_due_at=s.due_at) for s in original]
    now = rows[0].due_at
    completed = [now]  # the clinic's, on time
    timings = []
    for hours, wants in script:
        k = len(completed)
        if k == protocol.applications_total:
            break
        now += timedelta(hours=hours)
        due = rows[k].due_at
        timing = next_timing(protocol, k + 1, due, completed, now, zone_name)
        day_come = now.astimezone(zone).date() >= due.astimezone(zone).date()
        gap_kept = now >= earliest_next(protocol, completed)
        if day_come:
            assert timing == ("start" if gap_kept else "wait")
        else:
            assert timing == ("move" if gap_kept else "planned")
        if not wants or timing not in ("start", "move"):
            continue
        timings.append(timing)
        completed.append(now)
        status = application_status(protocol, due, now, now, zone=zone)
        assert (status == "done_moved") == (timing == "move")
        assert now - completed[-2] >= gap
        plan = reschedule(protocol, rows, weekdays, at, zone_name, completed, now)
        for a, b in itertools.pairwise(plan[k:]):
            assert b.due_at - a.due_at >= gap
        if k + 1 < len(plan):
            assert plan[k + 1].due_at - now >= gap
            event(f"application done by timing {timing}")
        for row, slot in zip(rows, plan, strict=True):
            missed = application_status(protocol, row.due_at, None, now, zone=zone) == "missed"
            if slot.completed_at is None and not missed:
                row.due_at = slot.due_at
    statuses = [
        application_status(protocol, row.due_at, done, now, zone=zone)
        for row, done in itertools.zip_longest(rows, completed)
    ]
    result = adherence(
        protocol, [(r.due_at, d) for r, d in itertools.zip_longest(rows, completed)], now, zone=zone
    )
    assert result == summarise(statuses)
    assert result.moved == timings.count("move")
    assert result.on_time + result.late + result.moved + result.missed == result.due_so_far
    assert result.on_time + result.late + result.moved == len(completed)
