"""Materialising reminders: local wall-clock times across DST, quiet hours, cancellation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from support.clock import dst_change, local, on_or_before
from support.factories import make_enrolled_patient
from support.reminders import add_occurrence, fresh, open_application

from anagen.course.courses import record_application
from anagen.extensions import db
from anagen.models import Patient, ReminderOccurrence
from anagen.reminders import occurrences as reminders

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


def occurrences(patient_id: int, kind: str | None = None) -> list[ReminderOccurrence]:
    query = sa.select(ReminderOccurrence).where(ReminderOccurrence.patient_id == patient_id)
    if kind:
        query = query.where(ReminderOccurrence.kind == kind)
    return list(db.session.scalars(query.order_by(ReminderOccurrence.due_at)))


# -- daylight saving ---------------------------------------------------------------------


def course_before_clock_change(forward: bool) -> tuple[dt.datetime, dt.date]:
    """A course starting on a Thursday, 10:00 London, two and a half weeks before the next clock
    change (spring or autumn) after today, and that change's date."""
    change_day = dst_change("Europe/London", dt.datetime.now(UTC) + dt.timedelta(days=30), forward=forward)
    start = local(on_or_before(change_day - dt.timedelta(days=17), 3), dt.time(10, 0), "Europe/London")
    return start, change_day


@pytest.fixture
def start():
    """The first application of a course whose 120-day window spans the next spring clock change;
    the clock is pinned to it."""
    first, _ = course_before_clock_change(forward=True)
    with time_machine.travel(first, tick=False):
        yield first


@pytest.mark.parametrize("forward", [True, False], ids=["spring-forward", "fall-back"])
def test_due_reminders_stay_at_local_wall_clock_across_dst(clinic, forward):
    first_application_at, change_day = course_before_clock_change(forward)
    with time_machine.travel(first_application_at - dt.timedelta(days=1), tick=False):
        _check_wall_clock_across_dst(clinic, first_application_at, change_day)


def _check_wall_clock_across_dst(clinic, first_application_at, change_day):
    patient, course = make_enrolled_patient(
        clinic,
        first_application_at=first_application_at,
        reminder_weekdays=[3, 6],  # Thursday and Sunday: one application falls on the change day
        reminder_time=dt.time(20, 0),
        time_zone="Europe/London",
    )
    now = first_application_at - dt.timedelta(days=1)
    created = reminders.materialise_course(course, now=now, window=dt.timedelta(days=120))
    db.session.commit()

    open_rows = [r for r in course.applications if not r.in_clinic]
    assert created == 3 * len(open_rows) == 3 * 23
    due = occurrences(patient.id, "due")
    assert len(due) == 23
    utc_hours = set()
    for occ in due:
        local = occ.due_at.astimezone(LONDON)
        assert (local.hour, local.minute) == (20, 0), occ.due_at
        summer = local.utcoffset() == dt.timedelta(hours=1)
        assert occ.due_at.hour == (19 if summer else 20), occ.due_at
        utc_hours.add(occ.due_at.hour)
    assert utc_hours == {19, 20}  # both sides of the change are covered
    assert change_day in {o.due_at.astimezone(LONDON).date() for o in due}
    # The follow-up comes 4 h after (midnight local); the missed notice at 09:00 local.
    for occ in occurrences(patient.id, "follow_up"):
        assert occ.due_at.astimezone(LONDON).time() == dt.time(0, 0)
    for occ in occurrences(patient.id, "missed"):
        assert occ.due_at.astimezone(LONDON).time() == dt.time(9, 0)
    # Materialising again changes nothing (one row per application and kind).
    assert reminders.materialise_course(course, now=now, window=dt.timedelta(days=120)) == 0


def test_window_limits_what_is_materialised(clinic, start):
    patient, course = make_enrolled_patient(clinic, first_application_at=start)
    reminders.materialise_course(course, now=start, window=dt.timedelta(days=14))
    db.session.commit()
    due = occurrences(patient.id, "due")
    assert due and all(o.due_at <= start + dt.timedelta(days=14) for o in due)
    assert len(due) < 23


# -- quiet hours ---------------------------------------------------------------------------


def quiet(start: dt.time | None, end: dt.time | None, zone: str = "Europe/London") -> Patient:
    return Patient(time_zone=zone, quiet_hours_start=start, quiet_hours_end=end)


def london(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON).astimezone(UTC)


NIGHT = quiet(dt.time(22, 0), dt.time(7, 0))
LUNCH = quiet(dt.time(12, 0), dt.time(14, 0))


@pytest.mark.parametrize(
    ("patient", "at", "expected"),
    [
        # Wrapping 22:00-07:00: late evening and early morning both go to 07:00.
        (NIGHT, london(2026, 6, 10, 23, 30), london(2026, 6, 11, 7, 0)),
        (NIGHT, london(2026, 6, 10, 22, 0), london(2026, 6, 11, 7, 0)),
        (NIGHT, london(2026, 6, 11, 3, 0), london(2026, 6, 11, 7, 0)),
        (NIGHT, london(2026, 6, 11, 0, 0), london(2026, 6, 11, 7, 0)),
        (NIGHT, london(2026, 6, 10, 21, 59), london(2026, 6, 10, 21, 59)),
        (NIGHT, london(2026, 6, 11, 7, 0), london(2026, 6, 11, 7, 0)),  # end is exclusive
        # Non-wrapping 12:00-14:00.
        (LUNCH, london(2026, 6, 10, 12, 0), london(2026, 6, 10, 14, 0)),
        (LUNCH, london(2026, 6, 10, 13, 59), london(2026, 6, 10, 14, 0)),
        (LUNCH, london(2026, 6, 10, 11, 59), london(2026, 6, 10, 11, 59)),
        (LUNCH, london(2026, 6, 10, 14, 0), london(2026, 6, 10, 14, 0)),
        (LUNCH, london(2026, 6, 10, 23, 0), london(2026, 6, 10, 23, 0)),
        # No quiet hours, or an empty period: unchanged.
        (quiet(None, None), london(2026, 6, 10, 23, 0), london(2026, 6, 10, 23, 0)),
        (quiet(dt.time(9), dt.time(9)), london(2026, 6, 10, 9, 0), london(2026, 6, 10, 9, 0)),
        # Across the spring change (Sunday 29 March 2026, 01:00 GMT -> 02:00 BST): the night
        # is an hour shorter and 07:00 is 06:00 UTC.
        (NIGHT, london(2026, 3, 28, 23, 0), dt.datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
        (NIGHT, dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC), dt.datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
        # Across the autumn change (Sunday 25 October 2026, 02:00 BST -> 01:00 GMT).
        (NIGHT, london(2026, 10, 24, 23, 0), dt.datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
        (NIGHT, dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
        (NIGHT, dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
    ],
)
def test_respect_quiet_hours(patient, at, expected):
    moved = reminders.respect_quiet_hours(at, patient)
    assert moved == expected
    assert moved.tzinfo is not None and moved.utcoffset() == dt.timedelta(0)


def test_quiet_hours_end_inside_the_spring_gap_is_still_outside_quiet_hours():
    # 01:30 does not exist in London on 29 March 2026: the reminder must still come after
    # the quiet period, not in it and not before the instant asked for.
    patient = quiet(dt.time(22, 0), dt.time(1, 30))
    at = london(2026, 3, 28, 23, 0)
    moved = reminders.respect_quiet_hours(at, patient)
    assert moved > at
    assert moved <= dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert reminders.respect_quiet_hours(moved, patient) == moved


def test_quiet_hours_in_another_zone():
    tokyo = quiet(dt.time(22, 0), dt.time(7, 0), "Asia/Tokyo")
    at = dt.datetime(2026, 6, 10, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo
    assert reminders.respect_quiet_hours(at, tokyo) == dt.datetime(2026, 6, 10, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reminder_time", "quiet_start", "quiet_end", "follow_up_local"),
    [
        # 20:00 reminder, follow-up at 00:00, inside 22:00-07:00: next morning at 07:00.
        (dt.time(20, 0), dt.time(22, 0), dt.time(7, 0), dt.time(7, 0)),
        # 09:00 reminder, follow-up at 13:00, inside 12:00-14:00: at 14:00.
        (dt.time(9, 0), dt.time(12, 0), dt.time(14, 0), dt.time(14, 0)),
    ],
    ids=["wrapping", "non-wrapping"],
)
def test_follow_up_in_quiet_hours_moves_to_their_end(
    clinic, start, reminder_time, quiet_start, quiet_end, follow_up_local
):
    patient, course = make_enrolled_patient(
        clinic, first_application_at=start, reminder_time=reminder_time, reminder_weekdays=[3, 6]
    )
    patient.quiet_hours_start, patient.quiet_hours_end = quiet_start, quiet_end
    reminders.materialise_course(course, now=start, window=dt.timedelta(days=120))
    db.session.commit()
    due = {o.planned_application_id: o for o in occurrences(patient.id, "due")}
    follow = occurrences(patient.id, "follow_up")
    assert len(follow) == 23
    for occ in follow:
        local = occ.due_at.astimezone(LONDON)
        assert local.time() == follow_up_local, local  # DST days included
        assert occ.due_at > due[occ.planned_application_id].due_at
    # The due reminders themselves are outside quiet hours and stay where they were.
    assert all(o.due_at.astimezone(LONDON).time() == reminder_time for o in due.values())


def test_changing_quiet_hours_moves_pending_reminders_only(clinic, start):
    patient, course = make_enrolled_patient(clinic, first_application_at=start, reminder_weekdays=[3, 6])
    reminders.materialise_course(course, now=start, window=dt.timedelta(days=120))
    db.session.commit()
    follow = occurrences(patient.id, "follow_up")
    follow[0].status = "sent"
    sent_at = follow[0].due_at
    patient.quiet_hours_start, patient.quiet_hours_end = dt.time(22, 0), dt.time(7, 0)
    reminders.materialise_course(course, now=start, window=dt.timedelta(days=120))
    db.session.commit()
    assert fresh(follow[0].id).due_at == sent_at
    for occ in follow[1:]:
        assert fresh(occ.id).due_at.astimezone(LONDON).time() == dt.time(7, 0)


# -- cancellation ----------------------------------------------------------------------------


def test_completing_an_application_cancels_its_pending_reminders(clinic, start):
    patient, course = make_enrolled_patient(clinic, first_application_at=start, reminder_weekdays=[3, 6])
    reminders.materialise_course(course, now=start, window=dt.timedelta(days=120))
    db.session.commit()
    row = open_application(course, 2)
    mine = {o.kind: o for o in occurrences(patient.id) if o.planned_application_id == row.id}
    assert set(mine) == {"due", "follow_up", "missed"}
    mine["due"].status = "sent"  # it went out; then the patient snoozed it
    snoozed = add_occurrence(patient, row, "due", seq=1, due_at=row.due_at + dt.timedelta(hours=1))
    later_row = open_application(course, 3)
    record_application(course, 1, completed_at=start, now=start)
    record_application(
        course, 2, completed_at=row.due_at + dt.timedelta(hours=2), now=row.due_at + dt.timedelta(hours=2)
    )
    db.session.commit()
    assert fresh(mine["due"].id).status == "sent"
    assert fresh(mine["follow_up"].id).status == "cancelled"
    assert fresh(mine["missed"].id).status == "cancelled"
    assert fresh(snoozed.id).status == "cancelled"
    # The next application's reminders are untouched.
    assert {o.status for o in occurrences(patient.id) if o.planned_application_id == later_row.id} == {
        "pending"
    }


def test_last_vial_opened_adds_a_kit_low_reminder_once(clinic, start):
    patient, course = make_enrolled_patient(clinic, first_application_at=start, reminder_weekdays=[3, 6])
    last_vial = next(r for r in course.applications if r.opens_vial and r.vial_number == 6)
    for row in course.applications[: last_vial.number]:
        when = max(row.due_at, start)
        record_application(course, row.number, completed_at=when, now=when)
    db.session.commit()
    kit_low = occurrences(patient.id, "kit_low")
    assert [o.planned_application_id for o in kit_low] == [last_vial.id]


def test_reminders_already_long_past_are_not_created(clinic):
    """A course entered after it started: no burst of stale "due now" reminders for the
    applications already behind; the ones still ahead are materialised as usual."""
    now = dt.datetime.now(UTC)
    patient, course = make_enrolled_patient(
        clinic, first_application_at=now - dt.timedelta(days=10), reminder_weekdays=[0, 3]
    )
    reminders.materialise_course(course, now=now)
    db.session.commit()
    made = occurrences(patient.id)
    assert made
    assert all(o.due_at >= now - reminders.STALE_AFTER for o in made)
    past_rows = [r for r in course.applications if not r.in_clinic and r.due_at < now - dt.timedelta(days=1)]
    assert past_rows  # there were applications behind, and none got a reminder
    assert not {o.planned_application_id for o in made if o.kind == "due"} & {r.id for r in past_rows}


def test_snooze_into_quiet_hours_waits_for_their_end(app_ctx):
    from support.factories import make_clinic, make_enrolled_patient

    from anagen.extensions import db
    from anagen.models import ReminderOccurrence
    from anagen.reminders import occurrences as reminders

    clinic, _ = make_clinic()
    patient, course = make_enrolled_patient(clinic)
    patient.quiet_hours_start, patient.quiet_hours_end = dt.time(22, 0), dt.time(7, 0)
    sent = ReminderOccurrence(
        patient_id=patient.id,
        planned_application_id=course.applications[1].id,
        kind="due",
        seq=0,
        due_at=dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.UTC),
        status="sent",
    )
    db.session.add(sent)
    db.session.flush()
    # 21:30 in London (GMT): an hour later is inside 22:00-07:00, so it waits until 07:00.
    snoozed = reminders.snooze(sent, now=dt.datetime(2026, 1, 15, 21, 30, tzinfo=dt.UTC))
    assert snoozed.due_at == dt.datetime(2026, 1, 16, 7, 0, tzinfo=dt.UTC)
    assert snoozed.seq == 1
