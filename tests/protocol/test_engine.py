"""The course engine on concrete examples: schedule, kit, statuses, adherence and missed applications."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from anagen.errors import AnagenError
from anagen.protocol import (
    STATUSES,
    Adherence,
    KitStatus,
    KitUse,
    ScheduleError,
    adherence,
    application_status,
    apply_overrides,
    checkpoint_dates,
    default_protocol,
    kit_status,
    kit_usage,
    local_wall_clock,
    min_days_apart,
    next_timing,
    reschedule,
    schedule_course,
    validate_weekdays,
    validate_zone,
)

LONDON = ZoneInfo("Europe/London")
PROTOCOL = default_protocol()
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
FIRST = datetime(2026, 1, 8, 14, 0, tzinfo=LONDON)  # a Thursday, in clinic
EVENING = time(20, 0)
H = timedelta(hours=1)


def london_plan():
    return schedule_course(PROTOCOL, FIRST, (MON, THU), EVENING, "Europe/London")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_course_from_a_thursday_in_clinic_on_mondays_and_thursdays():
    plan = london_plan()

    assert [slot.local_date for slot in plan] == [
        date(2026, 1, 8),
        date(2026, 1, 12),
        date(2026, 1, 15),
        date(2026, 1, 19),
        date(2026, 1, 22),
        date(2026, 1, 26),
        date(2026, 1, 29),
        date(2026, 2, 2),
        date(2026, 2, 5),
        date(2026, 2, 9),
        date(2026, 2, 12),
        date(2026, 2, 16),
        date(2026, 2, 19),
        date(2026, 2, 23),
        date(2026, 2, 26),
        date(2026, 3, 2),
        date(2026, 3, 5),
        date(2026, 3, 9),
        date(2026, 3, 12),
        date(2026, 3, 16),
        date(2026, 3, 19),
        date(2026, 3, 23),
        date(2026, 3, 26),
        date(2026, 3, 30),
    ]
    assert [slot.number for slot in plan] == list(range(1, 25))
    assert plan[0].due_at == utc(2026, 1, 8, 14)
    assert plan[1].due_at == utc(2026, 1, 12, 20)
    # Summer time starts on 29 March 2026: 20:00 in London is then 19:00 UTC.
    assert plan[-2].due_at == utc(2026, 3, 26, 20)
    assert plan[-1].due_at == utc(2026, 3, 30, 19)
    assert all(slot.due_at.tzinfo is UTC for slot in plan)
    assert all(local_wall_clock(slot.due_at, "Europe/London").time() == EVENING for slot in plan[1:])
    assert [slot.original_due_at for slot in plan] == [slot.due_at for slot in plan]
    assert all(slot.completed_at is None for slot in plan)


def test_the_first_application_is_the_only_one_in_clinic():
    plan = london_plan()

    assert [slot.in_clinic for slot in plan] == [True] + [False] * 23


def test_vials_and_kits_follow_the_course():
    plan = london_plan()

    assert [slot.vial_number for slot in plan] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6] * 2
    assert [slot.vial_overall for slot in plan] == [n for n in range(1, 13) for _ in range(2)]
    assert [slot.opens_vial for slot in plan] == [True, False] * 12
    assert [slot.kit_number for slot in plan] == [1] * 12 + [2] * 12
    assert plan[12].number == 13 and plan[12].kit_number == 2 and plan[12].vial_number == 1
    assert sum(slot.dose_fraction for slot in plan) == 12


def test_checkpoints_fall_after_applications_1_12_and_24():
    plan = london_plan()

    assert {slot.number: slot.checkpoints for slot in plan if slot.checkpoints} == {
        1: ("baseline",),
        12: ("end_of_kit_1",),
        24: ("end_of_course",),
    }
    assert checkpoint_dates(PROTOCOL, plan) == [
        ("baseline", 1, utc(2026, 1, 8, 14)),
        ("end_of_kit_1", 12, utc(2026, 2, 16, 20)),
        ("end_of_course", 24, utc(2026, 3, 30, 19)),
    ]


def test_a_done_checkpoint_application_dates_the_checkpoint_by_its_completion():
    plan = london_plan()
    done = utc(2026, 1, 8, 14, 40)

    after = reschedule(PROTOCOL, plan, (MON, THU), EVENING, "Europe/London", [done], done)

    assert checkpoint_dates(PROTOCOL, after)[0] == ("baseline", 1, done)
    assert checkpoint_dates(PROTOCOL, after)[0].due_at == done


def test_weekday_order_does_not_matter():
    assert schedule_course(PROTOCOL, FIRST, [THU, MON], EVENING, "Europe/London") == london_plan()


def test_next_application_keeps_the_minimum_gap_after_the_clinic_visit():
    # In clinic on Sunday evening: Monday is too soon, so the first home application is Thursday.
    first = datetime(2026, 1, 11, 18, 0, tzinfo=LONDON)

    plan = schedule_course(PROTOCOL, first, (MON, THU), EVENING, "Europe/London")

    assert plan[1].local_date == date(2026, 1, 15)


def test_a_reminder_time_skipped_by_summer_time_moves_forward_by_the_jump():
    # 01:30 does not exist in London on Sunday 29 March 2026 (clocks go 01:00 -> 02:00).
    first = datetime(2026, 3, 26, 10, 0, tzinfo=LONDON)

    plan = schedule_course(PROTOCOL, first, (THU, SUN), time(1, 30), "Europe/London")

    assert plan[1].due_at == utc(2026, 3, 29, 1, 30)
    assert local_wall_clock(plan[1].due_at, LONDON).time() == time(2, 30)
    assert plan[1].local_date == date(2026, 3, 29)
    assert local_wall_clock(plan[2].due_at, LONDON) == datetime(2026, 4, 2, 1, 30, tzinfo=LONDON)


def test_a_reminder_time_that_happens_twice_means_the_first_one():
    # 01:30 happens twice in London on Sunday 25 October 2026; the first is still summer time.
    first = datetime(2026, 10, 22, 10, 0, tzinfo=LONDON)

    plan = schedule_course(PROTOCOL, first, (THU, SUN), time(1, 30), "Europe/London")

    assert plan[1].due_at == utc(2026, 10, 25, 0, 30)


def test_new_york_evening_reminders_follow_local_time_across_the_change():
    new_york = ZoneInfo("America/New_York")
    first = datetime(2026, 3, 2, 9, 0, tzinfo=new_york)  # Monday; clocks change on 8 March

    plan = schedule_course(PROTOCOL, first, (TUE, FRI), time(19, 30), "America/New_York")

    assert plan[1].due_at == utc(2026, 3, 7, 0, 30)  # Friday 6th at 19:30 EST (Tuesday is too soon)
    assert plan[1].local_date == date(2026, 3, 6)
    assert plan[2].due_at == utc(2026, 3, 10, 23, 30)  # Tuesday 10th 19:30 EDT
    assert plan[2].local_date == date(2026, 3, 10)


@pytest.mark.parametrize(
    ("number", "use"),
    [
        (1, KitUse(1, 1, 1, True, 1, 1, True)),  # the clinic opens vial 1
        (2, KitUse(1, 1, 1, False, 2, 1, True)),  # the first at home uses the half the clinic opened
        (3, KitUse(1, 2, 2, True, 1, 3, False)),
        (4, KitUse(1, 2, 2, False, 2, 3, False)),  # the half the patient opened
        (12, KitUse(1, 6, 6, False, 2, 11, False)),
        (13, KitUse(2, 1, 7, True, 1, 13, False)),
        (24, KitUse(2, 6, 12, False, 2, 23, False)),
    ],
)
def test_kit_usage(number, use):
    assert kit_usage(PROTOCOL, number) == use


@pytest.mark.parametrize("number", [0, 25, -1])
def test_kit_usage_refuses_numbers_outside_the_course(number):
    with pytest.raises(ValueError, match="between 1 and 24"):
        kit_usage(PROTOCOL, number)


@pytest.mark.parametrize(
    ("completed", "status"),
    [
        # in clinic: the patient takes home the half vial the clinic opened, and 5 unopened
        (0, KitStatus(1, 6, False, 12, 2, False, False, False)),
        (1, KitStatus(1, 5, True, 11, 2, False, False, True)),
        (2, KitStatus(1, 5, False, 10, 2, False, False, False)),
        (3, KitStatus(1, 4, True, 9, 2, False, False, False)),  # the patient opened this one
        (10, KitStatus(1, 1, False, 2, 2, False, False, False)),
        (11, KitStatus(1, 0, True, 1, 2, False, True, False)),
        (12, KitStatus(1, 0, False, 0, 2, True, True, False)),
        (13, KitStatus(2, 5, True, 11, 2, False, False, False)),
        (23, KitStatus(2, 0, True, 1, 2, False, True, False)),
        (24, KitStatus(2, 0, False, 0, 2, False, True, False)),
    ],
)
def test_kit_status(completed, status):
    assert kit_status(PROTOCOL, completed) == status


@pytest.mark.parametrize("completed", [-1, 25])
def test_kit_status_refuses_counts_outside_the_course(completed):
    with pytest.raises(ValueError, match="between 0 and 24"):
        kit_status(PROTOCOL, completed)


DUE = utc(2026, 1, 12, 20)


@pytest.mark.parametrize(
    ("completed_at", "now", "status"),
    [
        (None, DUE - H, "upcoming"),
        (None, DUE, "due"),
        (None, DUE + 23 * H, "due"),
        (None, DUE + 24 * H, "missed"),
        (None, DUE + 100 * H, "missed"),
        (DUE - 20 * H, DUE - 19 * H, "done_on_time"),  # earlier on its own day: on time
        (DUE - 21 * H, DUE - 19 * H, "done_moved"),  # the evening before: moved, not on time
        (DUE - 30 * H, DUE - 29 * H, "done_moved"),
        (DUE + 24 * H, DUE + 25 * H, "done_on_time"),
        (DUE + 24 * H + timedelta(seconds=1), DUE + 25 * H, "done_late"),
    ],
)
def test_application_status(completed_at, now, status):
    assert status in STATUSES
    assert application_status(PROTOCOL, DUE, completed_at, now, zone=LONDON) == status


def test_application_status_follows_the_clinic_window():
    narrow = apply_overrides(PROTOCOL, {"on_time_window_hours": 12})

    assert application_status(narrow, DUE, None, DUE + 12 * H, zone=LONDON) == "missed"
    assert application_status(narrow, DUE, DUE + 13 * H, DUE + 14 * H, zone=LONDON) == "done_late"


def test_the_due_day_is_the_patients_local_day():
    # Due at 20:00 UTC, which is 09:00 the next day in Auckland: done at 10:00 UTC is that same
    # day in London (on time), and the day before in Auckland (moved).
    assert application_status(PROTOCOL, DUE, DUE - 10 * H, DUE, zone=LONDON) == "done_on_time"
    assert application_status(PROTOCOL, DUE, DUE - 10 * H, DUE, zone="Pacific/Auckland") == "done_moved"


def test_adherence_counts():
    now = DUE + 7 * 24 * H
    items = [
        (DUE - 14 * 24 * H, DUE - 14 * 24 * H + H),  # on time
        (DUE - 10 * 24 * H, DUE - 10 * 24 * H + 30 * H),  # late
        (DUE - 7 * 24 * H, None),  # missed
        (DUE, DUE),  # on time
        (DUE + 3 * 24 * H, DUE + 3 * 24 * H),  # on time
        (now - H, None),  # due now: not counted yet
        (now + 3 * 24 * H, None),  # upcoming
        (now + 6 * 24 * H, now - H),  # done days early: moved, done but not on time
    ]

    result = adherence(PROTOCOL, items, now, zone=LONDON)

    assert result == Adherence(
        on_time=3, late=1, missed=1, due_so_far=6, upcoming=2, percent=83, on_time_percent=50, moved=1
    )


def test_adherence_is_100_percent_before_anything_is_due():
    result = adherence(PROTOCOL, [(DUE, None), (DUE + 72 * H, None)], DUE - H, zone=LONDON)

    assert result == Adherence(0, 0, 0, 0, 2, 100, 100)
    assert adherence(PROTOCOL, [], DUE, zone=LONDON) == Adherence(0, 0, 0, 0, 0, 100, 100)


def test_adherence_rounds_halves_up():
    items = [(DUE, DUE)] + [(DUE, None)] * 7  # 1 of 8 = 12.5 %

    result = adherence(PROTOCOL, items, DUE + 48 * H, zone=LONDON)

    assert (result.percent, result.on_time_percent) == (13, 13)


def test_next_timing_on_its_day_and_between_days():
    plan = london_plan()  # #2 is due Monday 12 January, 20:00
    done = [plan[0].due_at]  # the clinic's, Thursday 14:00: the gap ends Saturday 14:00
    due = plan[1].due_at

    def timing(now):
        return next_timing(PROTOCOL, 2, due, done, now, "Europe/London")

    assert timing(utc(2026, 1, 9, 10)) == "planned"  # Friday: too soon after the clinic
    assert timing(utc(2026, 1, 10, 14)) == "move"  # Saturday afternoon: it may be done today
    assert timing(utc(2026, 1, 12, 8)) == "start"  # Monday morning: its day
    assert timing(utc(2026, 1, 13, 21)) == "start"  # Tuesday evening: overdue


def test_on_its_day_the_gap_still_has_to_pass():
    plan = london_plan()
    done = [plan[0].due_at, utc(2026, 1, 17, 19, 30)]  # #2 done very late, Saturday 19:30
    due = utc(2026, 1, 19, 20)  # #3 on Monday evening, 48.5 hours later

    assert next_timing(PROTOCOL, 3, due, done, utc(2026, 1, 19, 9), "Europe/London") == "wait"
    assert next_timing(PROTOCOL, 3, due, done, utc(2026, 1, 19, 19, 30), "Europe/London") == "start"


def test_the_clinics_application_is_never_moved_by_the_patient():
    plan = london_plan()

    assert next_timing(PROTOCOL, 1, plan[0].due_at, [], plan[0].due_at - 48 * H, LONDON) == "planned"
    assert next_timing(PROTOCOL, 1, plan[0].due_at, [], plan[0].due_at - H, LONDON) == "start"


def test_a_moved_application_leaves_the_next_ones_where_they_were():
    plan = london_plan()
    done = complete(plan, 2)  # #2 on Monday 12th; #3 is due Thursday 15th
    done.append(utc(2026, 1, 14, 20))  # moved to Wednesday evening, 48 hours after #2

    after = reschedule(PROTOCOL, plan, (MON, THU), EVENING, "Europe/London", done, done[-1])

    assert [slot.due_at for slot in after[3:]] == [slot.due_at for slot in plan[3:]]
    assert application_status(PROTOCOL, plan[2].due_at, done[-1], done[-1], zone=LONDON) == "done_moved"


def complete(plan, count, late_by=timedelta(0)):
    """Completion instants for the first `count` applications, each `late_by` after its due time."""
    return [slot.due_at + late_by for slot in plan[:count]]


def test_nothing_changes_while_the_patient_keeps_up():
    plan = london_plan()
    done = complete(plan, 3, timedelta(minutes=20))

    after = reschedule(PROTOCOL, plan, (MON, THU), EVENING, "Europe/London", done, done[-1])

    assert [slot.due_at for slot in after] == [slot.due_at for slot in plan]
    assert [slot.completed_at for slot in after[:3]] == done
    assert all(slot.completed_at is None for slot in after[3:])


def test_a_missed_application_is_due_as_soon_as_possible_and_the_rest_shift():
    plan = london_plan()
    done = complete(plan, 3)  # #4 is due Monday 19 January at 20:00 and is not done
    now = utc(2026, 1, 21, 10)  # Wednesday morning: the 24-hour window closed on Tuesday evening

    after = reschedule(PROTOCOL, plan, (MON, THU), EVENING, "Europe/London", done, now)

    assert len(after) == 24
    assert [slot.due_at for slot in after[:3]] == [slot.due_at for slot in plan[:3]]
    assert after[3].due_at == now
    assert after[3].original_due_at == plan[3].due_at == utc(2026, 1, 19, 20)
    assert application_status(PROTOCOL, after[3].due_at, None, now, zone=LONDON) == "due"
    # Thursday evening is only 34 hours later, so the next one is the Monday after.
    assert after[4].local_date == date(2026, 1, 26)
    assert after[4].original_due_at == utc(2026, 1, 22, 20)
    assert after[-1].local_date == date(2026, 4, 2)
    assert [slot.kit_number for slot in after] == [slot.kit_number for slot in plan]
    gaps = [b.due_at - a.due_at for a, b in pairwise(after)]
    assert min(gaps) >= timedelta(hours=48)


def test_a_make_up_application_waits_for_the_minimum_gap():
    plan = london_plan()
    done = complete(plan, 2)
    done.append(utc(2026, 1, 20, 9))  # #3 (due Thursday 15th) done very late, on Tuesday 20th
    now = utc(2026, 1, 21, 10)  # #4 (Monday 19th) is missed too

    after = reschedule(PROTOCOL, plan, (MON, THU), EVENING, "Europe/London", done, now)

    assert after[3].due_at == utc(2026, 1, 22, 9)
    assert after[4].due_at == utc(2026, 1, 26, 20)


def test_a_late_completion_pushes_a_too_close_next_one_onto_the_next_reminder_day():
    plan = london_plan()
    done = complete(plan, 2)
    done.append(utc(2026, 1, 18, 12))  # #3 done on Sunday; #4 on Monday evening would be 32 hours later

    after = reschedule(PROTOCOL, plan, (MON, THU), EVENING, "Europe/London", done, done[-1])

    assert after[3].local_date == date(2026, 1, 22)
    assert after[4].local_date == date(2026, 1, 26)
    assert after[3].due_at - done[-1] >= timedelta(hours=48)


def test_a_slot_that_still_keeps_the_gap_is_not_moved():
    plan = london_plan()
    done = complete(plan, 2)
    done.append(utc(2026, 1, 17, 19))  # late, but 49 hours before #4 on Monday evening

    after = reschedule(PROTOCOL, plan, (MON, THU), EVENING, "Europe/London", done, done[-1])

    assert [slot.due_at for slot in after] == [slot.due_at for slot in plan]


def test_rescheduling_again_with_the_new_plan_changes_nothing():
    plan = london_plan()
    done = complete(plan, 3)
    now = utc(2026, 1, 21, 10)
    args = ((MON, THU), EVENING, "Europe/London", done)

    once = reschedule(PROTOCOL, plan, *args, now)

    assert reschedule(PROTOCOL, once, *args, now + 2 * H) == once
    # A day later the make-up is missed as well: it becomes due again, now.
    later = now + 25 * H
    assert reschedule(PROTOCOL, once, *args, later)[3].due_at == later


def test_a_missed_clinic_visit_is_due_now():
    plan = london_plan()
    now = utc(2026, 1, 10, 9)

    after = reschedule(PROTOCOL, plan, (MON, THU), EVENING, "Europe/London", [], now)

    assert after[0].due_at == now
    assert after[0].in_clinic
    assert after[1].due_at == utc(2026, 1, 12, 20)  # 59 hours later


def test_a_finished_course_keeps_every_slot():
    plan = london_plan()
    done = complete(plan, 24, timedelta(hours=1))

    after = reschedule(PROTOCOL, plan, (MON, THU), EVENING, "Europe/London", done, utc(2026, 5, 1))

    assert [slot.due_at for slot in after] == [slot.due_at for slot in plan]
    assert [slot.completed_at for slot in after] == done


def test_reschedule_accepts_plain_records_of_the_plan():
    plan = [SimpleNamespace(number=s.number, due_at=s.due_at) for s in london_plan()]

    after = reschedule(PROTOCOL, plan, (MON, THU), EVENING, "Europe/London", [], utc(2026, 1, 1))

    assert [slot.due_at for slot in after] == [slot.due_at for slot in london_plan()]
    assert [slot.original_due_at for slot in after] == [slot.due_at for slot in plan]


@pytest.mark.parametrize(
    "weekdays", [(MON, THU), (THU, MON), (MON, FRI), (TUE, FRI), (WED, SAT), (WED, SUN), (SUN, THU)]
)
def test_weekdays_at_least_three_days_apart_are_accepted(weekdays):
    assert validate_weekdays(PROTOCOL, weekdays) == tuple(sorted(weekdays))


ADVICE = "Choose two days at least 3 days apart, e.g. Monday and Thursday"


@pytest.mark.parametrize(
    "weekdays",
    [(MON, WED), (SAT, MON), (SUN, MON), (MON, TUE), (MON,), (MON, THU, SAT), (), (MON, MON), (THU, THU)],
)
def test_weekdays_too_close_or_the_wrong_number_are_refused(weekdays):
    with pytest.raises(ScheduleError) as caught:
        validate_weekdays(PROTOCOL, weekdays)

    assert caught.value.fields == {"weekdays": ADVICE}
    assert caught.value.message == ADVICE


@pytest.mark.parametrize("weekdays", [(MON, 7), (-1, THU), (True, 4), ("mon", "thu"), "03", 3, None])
def test_weekdays_must_be_numbers_0_to_6(weekdays):
    with pytest.raises(ScheduleError) as caught:
        validate_weekdays(PROTOCOL, weekdays)

    assert caught.value.fields == {"weekdays": "Use weekday numbers from 0 (Monday) to 6 (Sunday)"}


def test_the_largest_clinic_gap_still_allows_three_days_apart():
    strict = apply_overrides(PROTOCOL, {"min_gap_hours": 71})

    assert min_days_apart(strict) == 3
    assert validate_weekdays(strict, (MON, THU)) == (MON, THU)
    plan = schedule_course(strict, FIRST, (MON, THU), EVENING, "Europe/London")
    assert [slot.local_date for slot in plan] == [slot.local_date for slot in london_plan()]


def test_schedule_course_refuses_mon_and_wed():
    with pytest.raises(ScheduleError) as caught:
        schedule_course(PROTOCOL, FIRST, (MON, WED), EVENING, "Europe/London")

    assert "weekdays" in caught.value.fields


@pytest.mark.parametrize(
    "zone", ["Europe/Londres", "", "localtime", "Factory", "../etc/passwd", None, 0, "europe/london"]
)
def test_an_unknown_zone_is_refused(zone):
    with pytest.raises(ScheduleError) as caught:
        schedule_course(PROTOCOL, FIRST, (MON, THU), EVENING, zone)

    assert set(caught.value.fields) == {"time_zone"}


def test_validate_zone_returns_the_zone():
    assert validate_zone("Australia/Sydney") == ZoneInfo("Australia/Sydney")


def test_a_naive_first_application_is_refused():
    with pytest.raises(ScheduleError) as caught:
        schedule_course(PROTOCOL, datetime(2026, 1, 8, 14), (MON, THU), EVENING, "Europe/London")

    assert caught.value.fields == {"first_application_at": "must include a time zone"}


@pytest.mark.parametrize("reminder", [time(20, tzinfo=LONDON), "20:00", datetime(2026, 1, 1, 20), 20])
def test_the_reminder_time_must_be_a_plain_time_of_day(reminder):
    with pytest.raises(ScheduleError) as caught:
        schedule_course(PROTOCOL, FIRST, (MON, THU), reminder, "Europe/London")

    assert set(caught.value.fields) == {"reminder_time"}


def test_reschedule_refuses_naive_instants_and_incomplete_plans():
    plan = london_plan()
    args = ((MON, THU), EVENING, "Europe/London")

    with pytest.raises(ScheduleError) as caught:
        reschedule(PROTOCOL, plan, *args, [], datetime(2026, 1, 9))
    assert caught.value.fields == {"now": "must include a time zone"}

    with pytest.raises(ScheduleError) as caught:
        reschedule(PROTOCOL, plan, *args, [plan[0].due_at, datetime(2026, 1, 12)], utc(2026, 1, 13))
    assert caught.value.fields == {"completed[1]": "must include a time zone"}

    with pytest.raises(ScheduleError) as caught:
        reschedule(PROTOCOL, plan[:20], *args, [], utc(2026, 1, 1))
    assert set(caught.value.fields) == {"slots"}


def test_schedule_errors_belong_to_the_one_error_family():
    error = ScheduleError("Choose a time zone.", {"time_zone": "is not a known time zone"})
    assert isinstance(error, AnagenError)
    assert (error.status, error.code, error.fields) == (
        422,
        "invalid_input",
        {"time_zone": "is not a known time zone"},
    )
