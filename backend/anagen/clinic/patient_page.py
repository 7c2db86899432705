"""What the clinic's patient page shows beside the plan: the course and its state, the timeline of
applications (due, done when and by whom, steps, check-in), adherence week by week, kits and their
dispatch, the reminder settings and devices, and the patient's flags.

A fixed number of statements whatever the course's length: the course with its applications,
logs and kits (courses.active_course), the staff who recorded applications, the devices, the
reminders' last outcomes, and the flags (clinic/dashboard.py's one statement).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa

from anagen.clinic import dashboard
from anagen.clock import utcnow
from anagen.course.courses import PlanItem, judged_at, plan_items, require_course
from anagen.course.protocols import course_protocol
from anagen.extensions import db
from anagen.models import (
    Course,
    Patient,
    PushSubscription,
    ReminderOccurrence,
    ReminderStatus,
    StaffUser,
)
from anagen.protocol import local_wall_clock


@dataclass(frozen=True)
class CourseState:
    id: int
    status: str
    reason: str | None
    paused_at: dt.datetime | None
    ended_at: dt.datetime | None
    first_application_at: dt.datetime
    week: int
    weeks_total: int
    applications_done: int
    applications_total: int


@dataclass(frozen=True)
class RecordedBy:
    kind: str  # "patient" | "staff"
    name: str


@dataclass(frozen=True)
class CheckInRecord:
    redness: str | None
    irritation: str | None
    pain: int | None
    notes: str | None
    flagged: bool


@dataclass(frozen=True)
class TimelineItem:
    number: int
    due_at: dt.datetime
    scheduled_at: dt.datetime
    original_due_at: dt.datetime
    completed_at: dt.datetime | None
    status: str
    in_clinic: bool
    kit_number: int
    recorded_by: RecordedBy | None
    steps_completed: list[str]
    check_in: CheckInRecord | None


@dataclass(frozen=True)
class WeekAdherence:
    week: int
    starts_on: dt.date  # the patient's local date
    on_time: int
    late: int
    moved: int
    missed: int
    upcoming: int


@dataclass(frozen=True)
class KitRecord:
    number: int
    batch_number: str | None
    expires_on: dt.date | None
    dispatched_at: dt.datetime | None
    needed_from: dt.datetime | None  # the due time of its first application


@dataclass(frozen=True)
class Device:
    state: str
    failure: str | None
    user_agent: str | None
    created_at: dt.datetime
    last_success_at: dt.datetime | None


@dataclass(frozen=True)
class ReminderSettings:
    weekdays: list[int]
    reminder_time: dt.time
    time_zone: str
    quiet_hours_start: dt.time | None
    quiet_hours_end: dt.time | None
    devices: list[Device]
    last_sent_at: dt.datetime | None
    last_undeliverable_at: dt.datetime | None
    paused: bool  # no reminders while the course is paused or ended


def course_state(course: Course, now: dt.datetime | None = None) -> CourseState:
    now = now or utcnow()
    protocol = course_protocol(course)
    elapsed = judged_at(course, now) - course.first_application_at
    week = min(max(elapsed // dt.timedelta(days=7) + 1, 1), protocol.course_weeks)
    return CourseState(
        id=course.id,
        status=str(course.status),
        reason=course.status_reason,
        paused_at=course.paused_at,
        ended_at=course.ended_at,
        first_application_at=course.first_application_at,
        week=week,
        weeks_total=protocol.course_weeks,
        applications_done=sum(1 for a in course.applications if a.completed_at is not None),
        applications_total=protocol.applications_total,
    )


def _steps_completed(steps: list) -> list[str]:
    return [s["key"] for s in steps or [] if isinstance(s, dict) and s.get("key") and s.get("completed_at")]


def timeline(course: Course, items: list[PlanItem]) -> list[TimelineItem]:
    staff_ids = {
        a.log.recorded_by_staff_id for a in course.applications if a.log and a.log.recorded_by_staff_id
    }
    names = {}
    if staff_ids:
        query = sa.select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(staff_ids))
        names = dict(db.session.execute(query).tuples().all())
    patient_name = course.patient.display_name
    result = []
    for row, item in zip(course.applications, items, strict=True):
        log = row.log
        by = None
        check_in = None
        if log is not None:
            staff = log.recorded_by_staff_id
            by = (
                RecordedBy("staff", names.get(staff, "Clinic"))
                if staff
                else RecordedBy("patient", patient_name)
            )
            if any(v is not None for v in (log.redness, log.irritation, log.pain, log.notes)):
                check_in = CheckInRecord(log.redness, log.irritation, log.pain, log.notes, log.flagged)
        result.append(
            TimelineItem(
                number=item.number,
                due_at=item.due_at,
                scheduled_at=item.scheduled_at,
                original_due_at=item.original_due_at,
                completed_at=item.completed_at,
                status=item.status,
                in_clinic=item.in_clinic,
                kit_number=item.kit_number,
                recorded_by=by,
                steps_completed=_steps_completed(log.steps) if log else [],
                check_in=check_in,
            )
        )
    return result


def adherence_weeks(course: Course, items: list[PlanItem]) -> list[WeekAdherence]:
    """Each course week (from the first application's local date) with its applications' statuses,
    by the week they were due in (the chart's bars)."""
    zone = course.patient.time_zone
    start = local_wall_clock(course.first_application_at, zone).date()
    weeks: dict[int, Counter] = {}
    for item in items:
        week = (local_wall_clock(item.scheduled_at, zone).date() - start).days // 7 + 1
        weeks.setdefault(week, Counter())[item.status] += 1
    return [
        WeekAdherence(
            week=week,
            starts_on=start + dt.timedelta(days=7 * (week - 1)),
            on_time=c["done_on_time"],
            late=c["done_late"],
            moved=c["done_moved"],
            missed=c["missed"],
            upcoming=c["due"] + c["upcoming"],
        )
        for week, c in sorted(weeks.items())
    ]


def kit_records(course: Course) -> list[KitRecord]:
    first_due = {}
    for row in course.applications:
        first_due.setdefault(row.kit_number, row.due_at)
    return [
        KitRecord(k.number, k.batch_number, k.expires_on, k.dispatched_at, first_due.get(k.number))
        for k in course.kits
    ]


def reminder_settings(patient: Patient, course: Course) -> ReminderSettings:
    devices = db.session.scalars(
        sa.select(PushSubscription)
        .where(PushSubscription.patient_id == patient.id)
        .order_by(PushSubscription.created_at, PushSubscription.id)
    ).all()
    occ = ReminderOccurrence
    undeliverable = (ReminderStatus.FAILED, ReminderStatus.NO_SUBSCRIPTION)
    last_sent, last_undeliverable = db.session.execute(
        sa.select(
            sa.func.max(occ.sent_at),
            sa.func.max(sa.case((occ.status.in_(undeliverable), occ.due_at))),
        ).where(occ.patient_id == patient.id)
    ).one()
    return ReminderSettings(
        weekdays=list(course.weekdays),
        reminder_time=course.reminder_time,
        time_zone=patient.time_zone,
        quiet_hours_start=patient.quiet_hours_start,
        quiet_hours_end=patient.quiet_hours_end,
        devices=[Device(d.state, d.failure, d.user_agent, d.created_at, d.last_success_at) for d in devices],
        last_sent_at=last_sent,
        last_undeliverable_at=last_undeliverable,
        paused=course.status in ("paused", "ended"),
    )


@dataclass(frozen=True)
class PatientPage:
    course: CourseState
    timeline: list[TimelineItem]
    adherence_weeks: list[WeekAdherence]
    kits: list[KitRecord]
    reminders: ReminderSettings
    flags: list[dashboard.PatientFlag]


def patient_page(patient: Patient, now: dt.datetime | None = None) -> PatientPage:
    now = now or utcnow()
    course = require_course(patient.id)
    items = plan_items(course, course_protocol(course), now)
    return PatientPage(
        course=course_state(course, now),
        timeline=timeline(course, items),
        adherence_weeks=adherence_weeks(course, items),
        kits=kit_records(course),
        reminders=reminder_settings(patient, course),
        flags=dashboard.patient_flags(patient.clinic_id, patient.id, now),
    )
