"""When the next application may be done, as Today tells it and as the server enforces it; vials
told as they were opened; photo dates only while they are ahead."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st
from support.clock import local, on_or_before
from support.factories import make_clinic, make_enrolled_patient

from anagen.clock import utcnow
from anagen.course.courses import says_when

from .test_me import complete, completion

LONDON = "Europe/London"
THU = 3


def thursday_course(api):
    """A patient whose clinic visit (application 1, recorded) was on a Thursday at 14:00 London
    time, with Monday and Thursday reminders at 20:00; returns that Thursday's date."""
    thursday = on_or_before(utcnow().astimezone(dt.UTC).date(), THU) - dt.timedelta(days=7)
    visit = local(thursday, dt.time(14), LONDON)
    clinic, _ = make_clinic()
    with time_machine.travel(visit + dt.timedelta(minutes=30), tick=False):
        patient, _course = make_enrolled_patient(clinic, first_application_at=visit)
        api.login(patient.email)
        assert complete(api, 1, completion(visit)).status_code == 201
    return thursday


def at(thursday, days, hour, minute=0):
    return local(thursday + dt.timedelta(days=days), dt.time(hour, minute), LONDON)


def test_between_due_days_too_soon_is_planned_and_refused_in_the_patients_words(app_ctx, api):
    thursday = thursday_course(api)
    friday = at(thursday, 1, 10)
    with time_machine.travel(friday, tick=False):
        nxt = api.get("/api/me/today").get_json()["next_application"]
        assert nxt["number"] == 2 and nxt["status"] == "upcoming"
        assert nxt["timing"] == "planned"
        # The gap after the clinic visit ends on Saturday at 14:00: told as a person would say it.
        assert nxt["earliest_label"] == "14:00 on Saturday"
        response = complete(api, 2, completion(friday))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "too_soon"
    assert error["message"].endswith("You can do this one from 14:00 on Saturday.")
    # Never a machine's date and time, e.g. "Sat 10 Jan, 14:07".
    months = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
    assert not re.search(rf"\d{{1,2}} ({months})|\d\d:\d[1-9]", error["message"])


def test_an_application_moved_to_today_is_recorded_as_moved_not_on_time(app_ctx, api):
    thursday = thursday_course(api)
    saturday = at(thursday, 2, 15)  # #2 is due on Monday evening; the gap ended at 14:00
    with time_machine.travel(saturday, tick=False):
        today = api.get("/api/me/today").get_json()
        nxt = today["next_application"]
        assert nxt["timing"] == "move"
        monday, next_thursday = at(thursday, 4, 20), at(thursday, 7, 20)
        assert nxt["due_at"] == monday.strftime("%Y-%m-%dT%H:%M:%SZ")
        # Moving #2 to today keeps #3 where it was (more than the gap after Monday).
        assert [(f["number"], f["due_at"] == f["if_moved_at"]) for f in nxt["following"]] == [
            (3, True),
            (4, True),
        ]
        assert nxt["following"][0]["due_at"] == next_thursday.strftime("%Y-%m-%dT%H:%M:%SZ")
        response = complete(api, 2, completion(saturday))
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["application"]["status"] == "done_moved"
        today = api.get("/api/me/today").get_json()
        plan = api.get("/api/me/plan").get_json()
    adherence = today["adherence"]
    assert (adherence["on_time"], adherence["moved"], adherence["late"]) == (1, 1, 0)
    assert adherence["percent"] == 100 and adherence["on_time_percent"] == 50
    assert plan["adherence"] == adherence
    assert [a["status"] for a in plan["applications"][:2]] == ["done_on_time", "done_moved"]
    nxt = today["next_application"]
    assert nxt["number"] == 3 and nxt["timing"] == "planned"
    assert nxt["earliest_label"] == "15:00 on Monday"


def test_on_its_day_the_next_one_may_start_before_its_time(app_ctx, api):
    thursday = thursday_course(api)
    monday_morning = at(thursday, 4, 8)
    with time_machine.travel(monday_morning, tick=False):
        nxt = api.get("/api/me/today").get_json()["next_application"]
        assert nxt["timing"] == "start" and nxt["status"] == "upcoming"
        response = complete(api, 2, completion(monday_morning))
    assert response.get_json()["application"]["status"] == "done_on_time"


def test_vials_are_told_as_they_were_opened(app_ctx, api):
    thursday = thursday_course(api)
    with time_machine.travel(at(thursday, 4, 20, 30), tick=False):
        today = api.get("/api/me/today").get_json()
        # The clinic opened vial 1 at the visit: the first home application uses its other half.
        assert today["kit"]["half_vial_open"] and today["kit"]["half_vial_opened_in_clinic"]
        nxt = today["next_application"]
        assert not nxt["opens_vial"] and nxt["vial_opened_in_clinic"]
        assert complete(api, 2, completion(at(thursday, 4, 20, 30))).status_code == 201
    with time_machine.travel(at(thursday, 7, 20, 30), tick=False):
        today = api.get("/api/me/today").get_json()
        assert not today["kit"]["half_vial_open"] and not today["kit"]["half_vial_opened_in_clinic"]
        assert today["next_application"]["opens_vial"]
        assert complete(api, 3, completion(at(thursday, 7, 20, 30))).status_code == 201
        today = api.get("/api/me/today").get_json()
    # Vial 2 was opened by the patient at #3: #4 uses the half they opened.
    assert today["kit"]["half_vial_open"] and not today["kit"]["half_vial_opened_in_clinic"]
    assert not today["next_application"]["vial_opened_in_clinic"]


def test_photo_dates_are_shown_only_while_ahead(app_ctx, api):
    clinic, _ = make_clinic()
    visit = (utcnow() + dt.timedelta(days=2)).replace(microsecond=0)
    patient, _course = make_enrolled_patient(clinic, first_application_at=visit)
    api.login(patient.email)
    assert api.get("/api/me/today").get_json()["next_checkpoint"]["key"] == "baseline"
    with time_machine.travel(visit + dt.timedelta(hours=3), tick=False):
        # The visit has passed (not yet recorded): its photos are not promised any more.
        checkpoint = api.get("/api/me/today").get_json()["next_checkpoint"]
    assert checkpoint["key"] == "end_of_kit_1"
    assert dt.datetime.fromisoformat(checkpoint["due_at"]) > visit + dt.timedelta(hours=3)


NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)  # a Monday


def test_says_when_rounds_up_to_a_part_of_the_day():
    assert says_when(local(NOW.date(), dt.time(4, 39), LONDON), LONDON, NOW) == "Monday morning"
    assert says_when(local(NOW.date(), dt.time(6), LONDON), LONDON, NOW) == "Monday morning"
    assert says_when(local(NOW.date(), dt.time(11, 1), LONDON), LONDON, NOW) == "Monday afternoon"
    assert says_when(local(NOW.date(), dt.time(18), LONDON), LONDON, NOW) == "Monday evening"
    assert says_when(local(NOW.date(), dt.time(18, 5), LONDON), LONDON, NOW) == "19:00 on Monday"
    assert says_when(local(NOW.date(), dt.time(21, 30), LONDON), LONDON, NOW) == "Tuesday morning"
    later = NOW.date() + dt.timedelta(days=9)
    assert says_when(local(later, dt.time(12), LONDON), LONDON, NOW) == "Wed 11 Mar afternoon"


PART_STARTS = {"morning": 6, "afternoon": 12, "evening": 18}
NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@settings(max_examples=500, deadline=None)
@given(
    minutes=st.integers(0, 6 * 24 * 60),
    zone=st.sampled_from([LONDON, "America/New_York", "Australia/Sydney", "Asia/Kolkata"]),
)
def test_says_when_is_never_earlier_than_the_instant_nor_much_later(minutes, zone):
    instant = NOW + dt.timedelta(minutes=minutes)
    label = says_when(instant, zone, NOW)
    match = re.fullmatch(r"(\w+) (morning|afternoon|evening)|(\d\d):00 on (\w+)", label)
    assert match, label
    name, hour = (match[1], PART_STARTS[match[2]]) if match[1] else (match[4], int(match[3]))
    start = NOW.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    said = next(
        local(day, dt.time(hour), zone)
        for day in (start + dt.timedelta(days=i) for i in range(10))
        if NAMES[day.weekday()] == name and local(day, dt.time(23, 59), zone) >= instant
    )
    # Rounded up (a time in the small hours or late at night is told as the next morning).
    assert instant <= said <= instant + dt.timedelta(hours=9)
    assert hour not in PART_STARTS.values() or not match[3]
