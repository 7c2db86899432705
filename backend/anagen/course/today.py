"""What a patient sees: today's summary, the plan and the protocol as their clinic set it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from anagen.clinic.messages import SHOWN_ON_TODAY, messages_for
from anagen.clock import utcnow
from anagen.course.courses import (
    PlanItem,
    completions,
    course_adherence,
    plan_items,
    require_course,
    says_when,
)
from anagen.course.protocols import course_protocol
from anagen.models import Clinic, ClinicMessage, Course, Patient
from anagen.protocol import (
    Adherence,
    KitStatus,
    PhotoView,
    Protocol,
    Step,
    checkpoint_dates,
    earliest_next,
    kit_status,
    next_timing,
    reschedule,
)

# How many applications after the next one Today names when it offers to move the next one.
FOLLOWING_SHOWN = 2
SCALP_AREAS = {
    "frontal_hairline": "Frontal hairline",
    "left_temple": "Left temple",
    "right_temple": "Right temple",
    "mid_scalp": "Mid-scalp",
    "crown": "Crown",
    "parting_line": "Parting line",
    "occipital": "Back of the head",
}


@dataclass(frozen=True)
class Following:
    """An application after the next one: when it is due now, and if the next is done today."""

    number: int
    due_at: dt.datetime
    if_moved_at: dt.datetime


@dataclass(frozen=True)
class NextApplication(PlanItem):
    """The application to do next, with when it may be done (protocol.engine.next_timing)."""

    label: str
    timing: str
    earliest_at: dt.datetime | None  # the minimum gap after the last one done
    earliest_label: str | None  # earliest_at rounded up to what a person would say
    following: list[Following]  # the next ones, and where they go if this one is moved to today


@dataclass(frozen=True)
class CourseProgress:
    id: int
    status: str
    protocol_name: str
    applications_total: int
    applications_done: int
    kits_total: int
    applications_per_kit: int
    vials_per_kit: int
    doses_per_vial: int


@dataclass(frozen=True)
class NextCheckpoint:
    """The next photo checkpoint and the views it asks for."""

    key: str
    label: str
    after_application: int
    due_at: dt.datetime
    views: list[PhotoView]


@dataclass(frozen=True)
class Today:
    """The patient's summary for the Today screen."""

    patient: Patient
    clinic: Clinic
    course: CourseProgress
    next_application: NextApplication | None
    kit: KitStatus
    next_checkpoint: NextCheckpoint | None
    adherence: Adherence
    messages: list[ClinicMessage]


@dataclass(frozen=True)
class Plan:
    """The whole course as a calendar."""

    time_zone: str
    missed_rule: str
    adherence: Adherence
    applications: list[PlanItem]


@dataclass(frozen=True)
class Completed:
    """An application just recorded, and whether its check-in flagged the patient to the clinic."""

    application: PlanItem
    flagged: bool


@dataclass(frozen=True)
class Area:
    key: str
    label: str


@dataclass(frozen=True)
class Instructions:
    """The protocol as the patient follows it: its texts filled in, and their target areas."""

    protocol: Protocol
    steps: list[Step]
    aftercare: list[str]
    target_areas: list[Area]
    source_note: str = "Set by your clinic"


def application_label(protocol: Protocol, item: PlanItem) -> str:
    return f"Application {item.number} of {protocol.applications_total} · kit {item.kit_number}"


def today(patient: Patient, now: dt.datetime | None = None) -> Today:
    """The patient's summary: next application, kit, next photo checkpoint, adherence."""
    now = now or utcnow()
    course = require_course(patient.id)
    protocol = course_protocol(course)
    items = plan_items(course, protocol, now)
    done = [i for i in items if i.completed_at is not None]
    upcoming = next((i for i in items if i.completed_at is None), None)
    next_app = None
    if upcoming is not None and course.status == "active":  # paused or ended: nothing to do next
        next_app = next_application(course, protocol, items, upcoming, now)
    return Today(
        patient=patient,
        clinic=patient.clinic,
        course=CourseProgress(
            id=course.id,
            status=course.status,
            protocol_name=protocol.name,
            applications_total=protocol.applications_total,
            applications_done=len(done),
            kits_total=protocol.kits_total,
            applications_per_kit=protocol.applications_per_kit,
            vials_per_kit=protocol.vials_per_kit,
            doses_per_vial=protocol.doses_per_vial,
        ),
        next_application=next_app,
        kit=kit_status(protocol, len(done)),
        next_checkpoint=next_checkpoint(protocol, items, len(done), now),
        adherence=course_adherence(protocol, items, now),
        messages=messages_for(patient.id, SHOWN_ON_TODAY),
    )


def next_application(
    course: Course, protocol: Protocol, items: list[PlanItem], upcoming: PlanItem, now: dt.datetime
) -> NextApplication:
    """The next application with its timing, and what moving it to today would do to the next ones."""
    zone = course.patient.time_zone
    done = completions(course)
    earliest = earliest_next(protocol, done)
    timing = next_timing(protocol, upcoming.number, upcoming.scheduled_at, done, now, zone)
    later = items[upcoming.number : upcoming.number + FOLLOWING_SHOWN]
    moved = {}
    if timing == "move" and later:
        weekdays, at = course.weekdays, course.reminder_time
        replanned = reschedule(protocol, course.applications, weekdays, at, zone, [*done, now], now)
        moved = {slot.number: slot.due_at for slot in replanned}
    return NextApplication(
        **dataclasses.asdict(upcoming)
        | {"status": upcoming.status if upcoming.status in ("missed", "due") else "upcoming"},
        label=application_label(protocol, upcoming),
        timing=timing,
        earliest_at=earliest,
        earliest_label=says_when(earliest, zone, now) if earliest is not None else None,
        following=[Following(i.number, i.due_at, moved.get(i.number, i.due_at)) for i in later],
    )


def next_checkpoint(
    protocol: Protocol, items: list[PlanItem], done_count: int, now: dt.datetime
) -> NextCheckpoint | None:
    """The first photo checkpoint still ahead: its application not yet done and its date to come.

    The clinic takes the photos (the app cannot yet), so a date that has passed is never shown."""
    views = {v.key: v for v in protocol.views}
    labels = {c.key: c for c in protocol.checkpoints}
    for due in checkpoint_dates(protocol, items):
        if due.after_application > done_count and due.due_at > now:
            checkpoint = labels[due.key]
            return NextCheckpoint(
                key=due.key,
                label=checkpoint.label,
                after_application=due.after_application,
                due_at=due.due_at,
                views=[views[v] for v in checkpoint.views],
            )
    return None


def plan(patient: Patient, now: dt.datetime | None = None) -> Plan:
    """The whole course as a calendar, with adherence and the missed-application guidance."""
    now = now or utcnow()
    course = require_course(patient.id)
    protocol = course_protocol(course)
    items = plan_items(course, protocol, now)
    return Plan(
        time_zone=patient.time_zone,
        missed_rule=protocol.missed_rule_text,
        adherence=course_adherence(protocol, items, now),
        applications=items,
    )


def application(course: Course, number: int, now: dt.datetime | None = None) -> PlanItem:
    """One application as the plan shows it, from a course already in hand (no second query)."""
    now = now or utcnow()
    return plan_items(course, course_protocol(course), now)[number - 1]


def protocol_for(patient: Patient) -> Instructions:
    """The protocol as the patient's clinic set it, with the patient's target areas."""
    course = require_course(patient.id)
    p = course_protocol(course)
    return Instructions(
        protocol=p,
        steps=[
            dataclasses.replace(
                s,
                title=p.render(s.title),
                text=p.render(s.text),
                cautions=tuple(p.render(c) for c in s.cautions),
            )
            for s in p.steps
        ],
        aftercare=[p.render(a) for a in p.aftercare],
        target_areas=[Area(a, SCALP_AREAS.get(a, a)) for a in patient.target_areas],
    )
