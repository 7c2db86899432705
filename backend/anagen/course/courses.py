"""A patient's course: creating it from the engine, recording applications, and what is due."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import orm as so
from sqlalchemy.orm.attributes import set_committed_value

from anagen.clock import utcnow
from anagen.course.protocols import course_protocol, effective_protocol
from anagen.errors import Conflict, InvalidInput, NotFound
from anagen.extensions import db
from anagen.models import ApplicationLog, Course, Kit, Patient, PlannedApplication, ProtocolVersion
from anagen.protocol import (
    Protocol,
    application_status,
    earliest_next,
    kit_usage,
    local_wall_clock,
    reschedule,
    schedule_course,
    summarise,
    validate_instant,
)
from anagen.reminders import occurrences as reminders

SEVERITIES = ("none", "mild", "moderate", "severe")
# How far a device clock may run ahead of ours: a completion up to this far in our future is
# taken as done now (its times moved back together, and the answer says so); further ahead
# it is refused, and the refusal is not the request's final answer (course/idempotency.py).
CLOCK_SKEW = dt.timedelta(minutes=10)
# One application takes minutes; a longer span is a device clock or data error.
MAX_SESSION = dt.timedelta(hours=12)
# Parts of the day a time is rounded up to when told to the patient (start hour, name).
PARTS_OF_DAY = ((6, "morning"), (12, "afternoon"), (18, "evening"))
# From this hour on, "from Monday 22:00" is told as "from Tuesday morning".
NIGHT_FROM = 22
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class CheckIn:
    redness: str | None = None
    irritation: str | None = None
    pain: int | None = None
    notes: str | None = None


def create_course(
    patient: Patient,
    version: ProtocolVersion,
    *,
    first_application_at: dt.datetime,
    weekdays: list[int],
    reminder_time: dt.time,
    overrides: dict | None = None,
    kit_batches: list[str | None] | None = None,
) -> Course:
    """Schedule a new course for a patient: its kits and all planned applications."""
    protocol = effective_protocol(version, patient.clinic.protocol_overrides, overrides)
    slots = schedule_course(protocol, first_application_at, weekdays, reminder_time, patient.time_zone)
    batches = list(kit_batches or [])
    if len(batches) > protocol.kits_total:
        raise InvalidInput(
            "More batch numbers than kits.", {"kit_batch_numbers": f"At most {protocol.kits_total} kits"}
        )
    course = Course(
        patient=patient,
        protocol_version=version,
        protocol_overrides={**(patient.clinic.protocol_overrides or {}), **(overrides or {})},
        first_application_at=first_application_at,
        weekdays=sorted(weekdays),
        reminder_time=reminder_time,
        status="active",
    )
    for number in range(1, protocol.kits_total + 1):
        batch = batches[number - 1] if number <= len(batches) else None
        course.kits.append(
            Kit(
                number=number,
                batch_number=batch,
                vials=protocol.vials_per_kit,
                dispatched_at=first_application_at if number == 1 else None,
            )
        )
    for slot in slots:
        course.applications.append(
            PlannedApplication(
                number=slot.number,
                due_at=slot.due_at,
                original_due_at=slot.original_due_at,
                kit_number=slot.kit_number,
                vial_number=slot.vial_number,
                opens_vial=slot.opens_vial,
                in_clinic=slot.in_clinic,
            )
        )
    db.session.add(course)
    db.session.flush()
    return course


def active_course(patient_id: int) -> Course | None:
    """The patient's current course (the latest, whatever its status: active, paused by the
    clinic, completed or ended) with its applications loaded in one round trip."""
    return db.session.scalar(
        sa.select(Course)
        .where(Course.patient_id == patient_id)
        .options(
            so.selectinload(Course.applications).selectinload(PlannedApplication.log),
            so.selectinload(Course.kits),
            so.joinedload(Course.protocol_version),
        )
        .order_by(Course.created_at.desc(), Course.id.desc())
        .limit(1)
    )


def require_course(patient_id: int) -> Course:
    course = active_course(patient_id)
    if course is None:
        raise NotFound("There is no course for this patient yet.", code="no_course")
    return course


def completions(course: Course) -> list[dt.datetime]:
    """Completion instants of the applications done so far, in order."""
    return [a.completed_at for a in course.applications if a.completed_at is not None]


def judged_at(course: Course, now: dt.datetime) -> dt.datetime:
    """The instant a course's statuses are judged at: now, or when a paused or ended course
    stopped (nothing becomes missed while the clinic has stopped the course)."""
    stopped = [at for at in (course.paused_at, course.ended_at) if at is not None]
    if course.status in ("paused", "ended") and stopped:
        return min(now, *stopped)
    return now


def current_plan(course: Course, protocol: Protocol, now: dt.datetime) -> list:
    """The plan as of now, with the missed-application rule applied (pure; nothing is written)."""
    return reschedule(
        protocol,
        course.applications,
        course.weekdays,
        course.reminder_time,
        course.patient.time_zone,
        completions(course),
        now,
    )


def apply_plan(course: Course, protocol: Protocol, plan: list, now: dt.datetime) -> None:
    """Store the due times of a recomputed plan.

    An application already missed keeps the due time it was missed at, so when it is
    made up it counts as late; only the ones still ahead move.
    """
    zone = course.patient.time_zone
    for row, slot in zip(course.applications, plan, strict=True):
        if row.completed_at is None and row.due_at != slot.due_at and not is_missed(protocol, row, now, zone):
            row.due_at = slot.due_at


def is_missed(protocol: Protocol, row: PlannedApplication, now: dt.datetime, zone: str) -> bool:
    return application_status(protocol, row.due_at, row.completed_at, now, zone=zone) == "missed"


def says_when(instant: dt.datetime, zone: str, now: dt.datetime) -> str:
    """An instant rounded up to what a person would say, in their zone: "Monday evening",
    "19:00 on Monday", "Tuesday morning" (for a time in the night). Never earlier than `instant`."""
    local = local_wall_clock(instant, zone)
    day = local.date()
    hour = local.hour + (1 if (local.minute, local.second, local.microsecond) != (0, 0, 0) else 0)
    if hour >= NIGHT_FROM:
        day, hour = day + dt.timedelta(days=1), 0
    ahead = (day - local_wall_clock(now, zone).date()).days
    name = DAY_NAMES[day.weekday()] if 0 <= ahead < 7 else f"{day:%a} {day.day} {day:%b}"
    if hour <= PARTS_OF_DAY[0][0]:
        return f"{name} morning"
    for start, part in PARTS_OF_DAY:
        if hour == start:
            return f"{name} {part}"
    return f"{hour:02d}:00 on {name}"


@dataclass(frozen=True)
class PlanItem:
    """One application as the patient and the clinic see it."""

    number: int
    due_at: dt.datetime  # when to do it now (a missed one: as soon as possible)
    scheduled_at: dt.datetime  # the due time in force, against which on time / late is judged
    original_due_at: dt.datetime
    completed_at: dt.datetime | None
    status: str
    kit_number: int
    vial_number: int
    opens_vial: bool
    in_clinic: bool
    vial_opened_in_clinic: bool  # the vial it uses was opened at the clinic


def plan_items(course: Course, protocol: Protocol, now: dt.datetime) -> list[PlanItem]:
    """The whole course as of now (pure: nothing is written); a stopped course as of when it stopped."""
    now = judged_at(course, now)
    plan = current_plan(course, protocol, now)
    zone = course.patient.time_zone
    return [
        PlanItem(
            number=row.number,
            due_at=slot.due_at,
            scheduled_at=row.due_at,
            original_due_at=row.original_due_at,
            completed_at=row.completed_at,
            status=application_status(protocol, row.due_at, row.completed_at, now, zone=zone),
            kit_number=row.kit_number,
            vial_number=row.vial_number,
            opens_vial=row.opens_vial,
            in_clinic=row.in_clinic,
            vial_opened_in_clinic=kit_usage(protocol, row.number).opened_in_clinic,
        )
        for row, slot in zip(course.applications, plan, strict=True)
    ]


def record_application(
    course: Course,
    number: int,
    *,
    completed_at: dt.datetime,
    started_at: dt.datetime | None = None,
    steps: list | None = None,
    check_in: CheckIn | None = None,
    recorded_by_staff_id: int | None = None,
    now: dt.datetime | None = None,
) -> ApplicationLog:
    """Record application `number` as done, in order, keeping the minimum gap; re-plan the rest."""
    now = now or utcnow()
    protocol = course_protocol(course)
    completed_at = validate_instant(completed_at, "completed_at")
    ahead = completed_at - now
    if ahead > CLOCK_SKEW:
        raise InvalidInput(
            "The completion time is in the future. Check the time on this device.",
            {"completed_at": "Must not be in the future"},
            code="completed_in_future",
        )
    if started_at is not None:
        started_at = validate_instant(started_at, "started_at")
    if ahead > dt.timedelta(0):
        # The device clock runs a little fast: it was done now, and took as long as it says.
        completed_at = now
        started_at = started_at - ahead if started_at is not None else None
        steps = shifted(steps, ahead)
    if started_at is not None and not completed_at - MAX_SESSION <= started_at <= completed_at:
        raise InvalidInput(
            "The start and end times don't fit together.",
            {"started_at": "Must be before completed_at, and at most 12 hours before it"},
        )
    done = completions(course)
    expected = len(done) + 1
    if number != expected:
        if number < expected:
            raise Conflict(f"Application {number} is already recorded.", code="already_recorded")
        raise Conflict(f"Application {expected} comes first.", code="not_next_application")
    if course.status == "paused":
        raise Conflict(
            "Your clinic has paused this course: please wait until they resume it.", code="course_paused"
        )
    if course.status != "active":
        raise Conflict("This course has ended.", code="course_ended")
    # The rule of protocol/engine.py's next_timing: on its day or moved to an earlier one, an
    # application keeps the minimum gap after the last one; done on an earlier day it counts as
    # moved (done_moved), not on time.
    allowed = earliest_next(protocol, done)
    if allowed is not None and completed_at < allowed:
        when = says_when(allowed, course.patient.time_zone, now)
        raise InvalidInput(
            f"It's too soon after your last application: your clinic asks for at least "
            f"{protocol.min_gap_hours} hours between them. You can do this one from {when}.",
            {"completed_at": f"From {when}, at least {protocol.min_gap_hours} hours after your last one"},
            code="too_soon",
        )
    if not done and completed_at < course.first_application_at - dt.timedelta(days=1):
        raise InvalidInput("That is before the course started.", {"completed_at": "Before the course start"})
    row = course.applications[number - 1]
    # Of requests recording the same application at once, only one gets this row: the
    # others (blocked on it until the first commits) find it done.
    taken = db.session.execute(
        sa.update(PlannedApplication)
        .where(PlannedApplication.id == row.id, PlannedApplication.completed_at.is_(None))
        .values(completed_at=completed_at)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise Conflict(f"Application {number} is already recorded.", code="already_recorded")
    set_committed_value(row, "completed_at", completed_at)
    check_in = check_in or CheckIn()
    log = ApplicationLog(
        planned_application=row,
        started_at=started_at,
        completed_at=completed_at,
        steps=steps or [],
        redness=check_in.redness,
        irritation=check_in.irritation,
        pain=check_in.pain,
        notes=check_in.notes,
        flagged=needs_clinic_attention(protocol, check_in),
        recorded_by_staff_id=recorded_by_staff_id,
    )
    db.session.add(log)
    if number == protocol.applications_total:
        course.status = "completed"
    else:
        apply_plan(course, protocol, current_plan(course, protocol, now), now)
    db.session.flush()
    reminders.application_done(course, row, now)
    return log


def shifted(steps: list | None, by: dt.timedelta) -> list | None:
    """Step events with their `completed_at` (ISO 8601) moved back by `by`."""
    if not steps:
        return steps
    return [
        {**s, "completed_at": (dt.datetime.fromisoformat(s["completed_at"]) - by).isoformat()}
        if "completed_at" in s
        else s
        for s in steps
    ]


def needs_clinic_attention(protocol: Protocol, check_in: CheckIn) -> bool:
    """A check-in over the clinic's threshold flags the patient to the clinic."""
    if check_in.pain is not None and check_in.pain > protocol.side_effect_pain_threshold:
        return True
    return "severe" in (check_in.redness, check_in.irritation)


def course_adherence(protocol: Protocol, items: list[PlanItem], now: dt.datetime):
    """Adherence judged against the due times in force (a shifted plan is not held against anyone):
    the items' statuses as of `now`, which plan_items judged in the patient's zone."""
    return summarise(i.status for i in items)


def replan_remaining(course: Course, protocol: Protocol, now: dt.datetime | None = None) -> None:
    """Put the applications not yet done onto the course's (new) days, time and zone.

    Used when the patient changes reminder days, time or time zone. The next one goes on
    the first new slot that is both in the future and a minimum gap after the last one done.
    """
    now = now or utcnow()
    done = completions(course)
    gap = dt.timedelta(hours=protocol.min_gap_hours)
    rows = course.applications
    if done:
        anchor = max(done[-1], now - gap)
        remaining = rows[len(done) :]
    else:
        # Application 1 is the in-clinic one: it stays where the clinic booked it.
        anchor = max(rows[0].due_at, now - gap)
        remaining = rows[1:]
    slots = schedule_course(protocol, anchor, course.weekdays, course.reminder_time, course.patient.time_zone)
    for row, slot in zip(remaining, slots[1:], strict=False):
        row.due_at = slot.due_at
        row.original_due_at = slot.due_at
