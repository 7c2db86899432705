"""A patient's reminder settings: days, time, time zone and quiet hours."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from anagen.course.courses import replan_remaining, require_course
from anagen.course.protocols import course_protocol
from anagen.models import Course, Patient
from anagen.protocol import ScheduleError, default_protocol, min_days_apart, validate_weekdays, validate_zone
from anagen.reminders import occurrences as reminders


@dataclass(frozen=True)
class QuietHours:
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class ReminderSettings:
    reminder_weekdays: list[int]
    reminder_time: dt.time
    time_zone: str
    quiet_hours: QuietHours | None


def reminder_weekdays_doc() -> dict:
    """OpenAPI facts about a `reminder_weekdays` list, from the shipped protocol as it is now."""
    protocol = default_protocol()
    count, days = protocol.applications_per_week, min_days_apart(protocol)
    return {
        "minItems": count,
        "maxItems": count,
        "uniqueItems": True,
        "description": "The reminder weekdays, 0 (Monday) to 6 (Sunday). Exactly as many distinct days "
        f"as the protocol has applications per week: {count} in the shipped protocol, the count stated "
        "here. The days must also be far enough apart for the protocol's minimum gap (with the shipped "
        f"{protocol.min_gap_hours} hours: at least {days} days, counting on into the next week; a clinic "
        "may adjust the gap). Any other list is refused with 422, the advice under "
        "`fields.reminder_weekdays`.",
    }


@contextmanager
def reminder_field_names() -> Iterator[None]:
    """Report the course engine's schedule errors under the API's names (`reminder_weekdays`)."""
    try:
        yield
    except ScheduleError as err:
        if "weekdays" in err.fields:
            err.fields["reminder_weekdays"] = err.fields.pop("weekdays")
        raise


def reminder_settings(patient: Patient, course: Course | None = None) -> ReminderSettings:
    """The patient's reminder settings (`course`: theirs, when the caller already has it)."""
    course = course or require_course(patient.id)
    quiet = None
    if patient.quiet_hours_start and patient.quiet_hours_end:
        quiet = QuietHours(patient.quiet_hours_start, patient.quiet_hours_end)
    return ReminderSettings(
        reminder_weekdays=list(course.weekdays),
        reminder_time=course.reminder_time,
        time_zone=patient.time_zone,
        quiet_hours=quiet,
    )


def update_settings(patient: Patient, changes: dict, now: dt.datetime | None = None) -> Course:
    """Apply a partial settings change; a schedule change moves the applications still ahead."""
    course = require_course(patient.id)
    protocol = course_protocol(course)
    schedule_changed = False
    if "reminder_weekdays" in changes:
        with reminder_field_names():
            weekdays = list(validate_weekdays(protocol, changes["reminder_weekdays"]))
        schedule_changed |= weekdays != list(course.weekdays)
        course.weekdays = weekdays
    if "reminder_time" in changes:
        schedule_changed |= changes["reminder_time"] != course.reminder_time
        course.reminder_time = changes["reminder_time"]
    if "time_zone" in changes:
        validate_zone(changes["time_zone"])
        schedule_changed |= changes["time_zone"] != patient.time_zone
        patient.time_zone = changes["time_zone"]
    if "quiet_hours" in changes:
        quiet = changes["quiet_hours"]
        patient.quiet_hours_start = quiet["start"] if quiet else None
        patient.quiet_hours_end = quiet["end"] if quiet else None
    if course.status == "active" and (schedule_changed or "quiet_hours" in changes):
        if schedule_changed:
            replan_remaining(course, protocol, now)
        # Pending reminders move with their applications (and with the quiet hours).
        reminders.materialise_course(course, now)
    return course
