"""Kits: batch number and expiry date per kit, and the dispatch of a later kit.

A kit's batch must not have expired, and must not expire before the last application that uses
it (the patient's local date of its due time): kit 1 must last until application 12, kit 2 until
the course's end. Kit 1 is handed over at the first in-clinic application; kit 2 is recorded
as dispatched when the clinic sends it (the dashboard flags it until then).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from anagen.clock import utcnow
from anagen.course.courses import CLOCK_SKEW
from anagen.errors import InvalidInput, NotFound
from anagen.models import Course, Kit
from anagen.protocol import local_wall_clock


@dataclass(frozen=True)
class KitDetails:
    batch_number: str | None = None
    expires_on: dt.date | None = None


def _last_use(course: Course, number: int) -> dt.datetime:
    return max(a.due_at for a in course.applications if a.kit_number == number)


def expiry_problem(course: Course, number: int, expires_on: dt.date, now: dt.datetime) -> str | None:
    """Why a batch expiring on `expires_on` cannot be kit `number` of the course (None: it can)."""
    zone = course.patient.time_zone
    today = local_wall_clock(now, zone).date()
    if expires_on < today:
        return f"This batch expired on {expires_on:%d %b %Y}: use another kit"
    last = local_wall_clock(_last_use(course, number), zone).date()
    if expires_on < last:
        return (
            f"This batch expires on {expires_on:%d %b %Y}, before kit {number}'s last application "
            f"(planned for {last:%d %b %Y}): use a batch that lasts the course"
        )
    return None


def record_kits(
    course: Course, kits: list[KitDetails], field: str = "kits", now: dt.datetime | None = None
) -> None:
    """Set the batch and expiry of the course's first kits (at enrolment), all checked first."""
    now = now or utcnow()
    if len(kits) > len(course.kits):
        raise InvalidInput("More kits than the course uses.", {field: f"At most {len(course.kits)} kits"})
    problems = {}
    for i, details in enumerate(kits):
        if details.expires_on is not None:
            problem = expiry_problem(course, i + 1, details.expires_on, now)
            if problem:
                problems[f"{field}.{i}.expires_on"] = problem
    if problems:
        raise InvalidInput("A kit's batch cannot be used for this course.", problems, code="kit_expiry")
    for kit, details in zip(course.kits, kits, strict=False):
        kit.batch_number = details.batch_number
        kit.expires_on = details.expires_on


def change_kit(course: Course, number: int, changes: dict, now: dt.datetime | None = None) -> Kit:
    """Change one kit: `batch_number`, `expires_on`, `dispatched_at` (None: not dispatched yet)."""
    now = now or utcnow()
    kit = next((k for k in course.kits if k.number == number), None)
    if kit is None:
        raise NotFound(f"This course has no kit {number}.", code="no_such_kit")
    if not changes:
        raise InvalidInput("Nothing to change.", {"kit": "Give a batch number, expiry date or dispatch time"})
    problems = {}
    if changes.get("expires_on") is not None:
        problem = expiry_problem(course, number, changes["expires_on"], now)
        if problem:
            problems["expires_on"] = problem
    dispatched_at = changes.get("dispatched_at")
    if dispatched_at is not None:
        if dispatched_at - now > CLOCK_SKEW:
            problems["dispatched_at"] = "Must not be in the future"
        elif dispatched_at < course.created_at - dt.timedelta(days=1):
            problems["dispatched_at"] = "Before the patient was enrolled"
    if problems:
        raise InvalidInput(
            "This kit's details need attention.",
            problems,
            code="kit_expiry" if "expires_on" in problems else "invalid_input",
        )
    if "batch_number" in changes:
        kit.batch_number = changes["batch_number"].strip()
    if "expires_on" in changes:
        kit.expires_on = changes["expires_on"]
    if "dispatched_at" in changes:
        kit.dispatched_at = min(dispatched_at, now) if dispatched_at is not None else None
    return kit
