"""The clinic pauses, resumes or ends a patient's course, with a reason.

Paused: no reminders (every one not yet sent is cancelled), nothing can be recorded, and the
course is judged as of the moment it stopped (courses.judged_at): nothing becomes missed while
it rests. Resumed: the applications still to do are re-planned from now on the patient's days
and time, keeping the minimum gap after the last one done, and their reminders come back.
Ended: as paused, for good.
"""

from __future__ import annotations

import datetime as dt

from anagen.clock import utcnow
from anagen.course.courses import replan_remaining
from anagen.course.protocols import course_protocol
from anagen.errors import Conflict, InvalidInput
from anagen.models import Course
from anagen.reminders import occurrences as reminders

MAX_REASON = 500


def _reason(reason: str | None, required: bool) -> str | None:
    reason = (reason or "").strip() or None
    if required and reason is None:
        raise InvalidInput("Say why, for the patient's record.", {"reason": "Required"})
    if reason is not None and len(reason) > MAX_REASON:
        raise InvalidInput("The reason is too long.", {"reason": f"At most {MAX_REASON} characters"})
    return reason


def pause(course: Course, reason: str, now: dt.datetime | None = None) -> Course:
    """Stop the course for now: no reminders, nothing to record, nothing missed meanwhile."""
    if course.status != "active":
        raise Conflict(
            f"Only an active course can be paused; this one is {course.status}.", code="course_not_active"
        )
    course.status_reason = _reason(reason, required=True)
    course.status = "paused"
    course.paused_at = now or utcnow()
    reminders.suspend_course(course)
    return course


def resume(course: Course, reason: str | None = None, now: dt.datetime | None = None) -> Course:
    """Carry on from now: the applications still to do are re-planned and reminded again."""
    if course.status != "paused":
        raise Conflict(
            f"Only a paused course can be resumed; this one is {course.status}.", code="course_not_paused"
        )
    now = now or utcnow()
    course.status_reason = _reason(reason, required=False)
    course.status = "active"
    course.paused_at = None
    replan_remaining(course, course_protocol(course), now)
    reminders.resume_course(course, now)
    return course


def end(course: Course, reason: str, now: dt.datetime | None = None) -> Course:
    """Stop the course for good (a paused one too): no reminders, nothing more to record."""
    if course.status in ("completed", "ended"):
        raise Conflict(f"This course is already {course.status}.", code="course_ended")
    course.status_reason = _reason(reason, required=True)
    course.status = "ended"
    course.ended_at = now or utcnow()
    reminders.suspend_course(course)
    return course
