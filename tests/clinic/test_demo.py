"""The demo clinic keeps its promised states whatever the date, the hour and the clock changes
(all built from the day the suite runs: the next week, the next clock changes, the next leap day)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from support.clock import dst_change, next_leap_day

from anagen.clinic.dashboard import Query, dashboard
from anagen.clinic.demo import load_demo
from anagen.clinic.enrolment import DEFAULT_QUIET_HOURS
from anagen.course.courses import active_course, course_adherence, plan_items
from anagen.course.protocols import course_protocol
from anagen.extensions import db
from anagen.models import ApplicationLog, Patient

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def _next_days(count: int) -> list[dt.date]:
    # Relative to the day the suite runs, so each weekday is covered on any run.
    today = dt.datetime.now(LONDON).date()
    return [today + dt.timedelta(days=i) for i in range(count)]


def _moments() -> list[tuple[str, dt.datetime]]:
    moments = []
    for day in _next_days(7):
        for hour, minute in ((0, 30), (23, 30)):
            at = dt.datetime.combine(day, dt.time(hour, minute), LONDON)
            moments.append((f"{day:%a}-{hour:02d}{minute:02d}-london", at))
    # The next clock changes in London and New York, either side of midnight and of the change.
    now = dt.datetime.now(dt.UTC)
    for zone in (LONDON, NEW_YORK):
        for season, forward in (("spring", True), ("autumn", False)):
            day = dst_change(zone.key, now, forward=forward)
            for hour, minute in ((0, 30), (3, 30), (23, 30)):
                at = dt.datetime.combine(day, dt.time(hour, minute), zone)
                moments.append((f"{season}-change-{hour:02d}{minute:02d}-{zone.key}", at))
    leap = next_leap_day(now.date())
    for hour, minute in ((0, 30), (12, 0), (23, 30)):
        at = dt.datetime.combine(leap, dt.time(hour, minute), LONDON)
        moments.append((f"leap-{hour:02d}{minute:02d}", at))
    return moments


MOMENTS = _moments()


def _state(patient: Patient, now: dt.datetime):
    course = active_course(patient.id)
    protocol = course_protocol(course)
    items = plan_items(course, protocol, now)
    statuses = [i.status for i in items]
    done = sum(1 for s in statuses if s.startswith("done"))
    return course, protocol, items, statuses, done, course_adherence(protocol, items, now)


@pytest.mark.parametrize("moment", [m for _, m in MOMENTS], ids=[name for name, _ in MOMENTS])
def test_every_demo_patient_holds_its_promised_state(app_ctx, moment):
    now = moment.astimezone(dt.UTC)
    with time_machine.travel(now, tick=False):
        load_demo(now=now)
        db.session.commit()
        patients = {p.first_name: p for p in db.session.scalars(sa.select(Patient))}

        # Ava: on time, part-way through kit 1.
        _, _, _, statuses, done, adh = _state(patients["Ava"], now)
        assert 7 <= done < 12, statuses
        assert adh.missed == 0 and adh.late == 0 and adh.on_time_percent == 100

        # Ben: exactly two missed applications, one after the other, after his last one done.
        _, _, items, statuses, done, adh = _state(patients["Ben"], now)
        assert adh.missed == 2, statuses
        missed = [i.number for i in items if i.status == "missed"]
        assert missed == [done + 1, done + 2] and done >= 1

        # Chloe: in kit 2 (more than one kit's applications done) with a flagged check-in.
        course, protocol, items, statuses, done, adh = _state(patients["Chloe"], now)
        assert protocol.applications_per_kit < done < protocol.applications_total, statuses
        assert items[done].kit_number == 2
        flagged = db.session.scalars(
            sa.select(ApplicationLog.pain)
            .join(ApplicationLog.planned_application)
            .where(ApplicationLog.flagged, ApplicationLog.planned_application.has(course_id=course.id))
        ).all()
        assert flagged and all(p > protocol.side_effect_pain_threshold for p in flagged)

        # Dev: just enrolled: the in-clinic application done, nothing missed.
        _, _, items, statuses, done, adh = _state(patients["Dev"], now)
        assert done == 1 and items[0].in_clinic and statuses[0] == "done_on_time"
        assert adh.missed == 0 and now - items[0].completed_at < dt.timedelta(days=2)

        # Erin: finished the whole course.
        course, protocol, _, statuses, done, _ = _state(patients["Erin"], now)
        assert done == protocol.applications_total and course.status == "completed"

        # Jo: paused by the clinic, with its reason; nothing missed meanwhile.
        course, _, _, statuses, done, adh = _state(patients["Jo"], now)
        assert course.status == "paused" and course.status_reason and adh.missed == 0, statuses

        # The dashboard: every flag raised by the patient whose story it is, and nobody else's.
        clinic_id = patients["Ava"].clinic_id
        board = dashboard(clinic_id, Query(per_page=100), now=now)
        flags = {row.first_name: {f.key for f in row.flags} for row in board.patients}
        assert flags == {
            "Ava": set(),
            "Ben": {"two_misses"},
            "Chloe": {"side_effects"},
            "Dev": set(),
            "Erin": set(),
            "Farah": {"drifting"},
            "Gus": {"notifications"},
            "Hana": {"kit"},
            "Ivan": {"invite"},
            "Jo": set(),
        }, flags


def test_demo_patients_have_the_quiet_hours_every_new_patient_gets(app_ctx):
    load_demo()
    db.session.commit()
    patients = db.session.scalars(sa.select(Patient)).all()
    assert len(patients) == 10
    assert {(p.quiet_hours_start, p.quiet_hours_end) for p in patients} == {DEFAULT_QUIET_HOURS}
