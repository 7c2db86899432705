"""Reminder occurrences: materialised ahead of time from the course, one row per reminder.

The kinds are `ReminderKind` (models/push.py). Times are computed in the patient's zone and
stored in UTC; quiet hours push a reminder to the end of the quiet period.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import orm as so
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from anagen.clock import utcnow
from anagen.course.protocols import course_protocol
from anagen.errors import Conflict, NotFound
from anagen.extensions import db
from anagen.models import (
    Course,
    Patient,
    PlannedApplication,
    ReminderKind,
    ReminderOccurrence,
    ReminderStatus,
)
from anagen.models.base import UTCDateTime
from anagen.protocol import Protocol, local_wall_clock

log = logging.getLogger(__name__)
_OCC = ReminderOccurrence.__table__

WINDOW = dt.timedelta(days=14)
# A reminder first materialised more than this after its time is not created: it would
# arrive late and out of order ("due now" for a day-old application, after a course was
# entered retroactively or the demo clinic was loaded).
STALE_AFTER = dt.timedelta(hours=1)
MISSED_NOTICE_AT = dt.time(9, 0)
APPLICATION_KINDS = (ReminderKind.DUE, ReminderKind.FOLLOW_UP, ReminderKind.MISSED)
PENDING = ReminderStatus.PENDING
# Out already (or found undeliverable), or being sent: armed again when its application moves.
REARM = (ReminderStatus.SENT, ReminderStatus.FAILED, ReminderStatus.NO_SUBSCRIPTION, ReminderStatus.CLAIMED)
MATERIALISE_BATCH = 200  # courses per batch


def respect_quiet_hours(at: dt.datetime, patient: Patient) -> dt.datetime:
    """Move an instant that falls in the patient's quiet hours to the end of them."""
    start, end = patient.quiet_hours_start, patient.quiet_hours_end
    if not start or not end or start == end:
        return at
    zone = ZoneInfo(patient.time_zone)
    local = local_wall_clock(at, zone)
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return at
    end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(end_day, end, tzinfo=zone).astimezone(dt.UTC)


def _missed_notice(protocol: Protocol, row: PlannedApplication, zone: ZoneInfo) -> dt.datetime:
    closes = local_wall_clock(row.due_at + dt.timedelta(hours=protocol.on_time_window_hours), zone)
    day = closes.date() if closes.time() < MISSED_NOTICE_AT else closes.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, MISSED_NOTICE_AT, tzinfo=zone).astimezone(dt.UTC)


def planned_times(protocol: Protocol, row: PlannedApplication, patient: Patient) -> dict[str, dt.datetime]:
    """When each application reminder of one planned application should go out."""
    zone = ZoneInfo(patient.time_zone)
    times = {
        "due": row.due_at,
        "follow_up": row.due_at + dt.timedelta(hours=protocol.follow_up_after_hours),
        "missed": _missed_notice(protocol, row, zone),
    }
    return {kind: respect_quiet_hours(at, patient) for kind, at in times.items()}


@dataclass
class _Plan:
    """What materialising a set of courses writes: new rows, moved rows, re-armed rows."""

    new: list[dict] = field(default_factory=list)
    moved: list[dict] = field(default_factory=list)  # pending: follow their application's time
    rearmed: list[dict] = field(default_factory=list)  # already out, the application moved since


def _insert(table):
    """INSERT for this database's dialect (both have ON CONFLICT and RETURNING)."""
    dialect = db.session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def _plan_course(course: Course, undone: list, existing: dict, now: dt.datetime, window, plan: _Plan) -> None:
    protocol = course_protocol(course)
    patient = course.patient
    for row in undone:
        in_window = row.due_at <= now + window
        for kind, at in planned_times(protocol, row, patient).items():
            occurrence = existing.get((row.id, kind))
            fresh = in_window and at >= now - STALE_AFTER
            if occurrence is None:
                if fresh:
                    plan.new.append(
                        {
                            "patient_id": patient.id,
                            "planned_application_id": row.id,
                            "kind": kind,
                            "seq": 0,
                            "due_at": at,
                            "application_due_at": row.due_at,
                            "status": PENDING,
                            "attempts": 0,
                            "created_at": now,
                        }
                    )
                continue
            oid, status, due_at, planned_for = occurrence
            if status == PENDING:
                if due_at != at or planned_for != row.due_at:
                    plan.moved.append({"b_id": oid, "b_due": at, "b_for": row.due_at})
            elif status in REARM and planned_for != row.due_at and fresh:
                # It went out (or could not) for the old time; the application moved: again.
                plan.rearmed.append({"b_id": oid, "b_due": at, "b_for": row.due_at})


def _write(plan: _Plan) -> int:
    """Write a plan: one INSERT (existing rows left alone) and one UPDATE per kind of change."""
    created = 0
    if plan.new:
        statement = _insert(ReminderOccurrence.__table__).on_conflict_do_nothing(
            index_elements=["planned_application_id", "kind", "seq"]
        )
        created = len(db.session.execute(statement.returning(_OCC.c.id), plan.new).all())
    if plan.moved:
        db.session.execute(
            sa.update(_OCC)
            .where(_OCC.c.id == sa.bindparam("b_id"), _OCC.c.status == PENDING)
            .values(due_at=sa.bindparam("b_due"), application_due_at=sa.bindparam("b_for")),
            plan.moved,
        )
    if plan.rearmed:
        db.session.execute(
            sa.update(_OCC)
            .where(_OCC.c.id == sa.bindparam("b_id"), _OCC.c.status.in_(REARM))
            .values(
                status=PENDING,
                due_at=sa.bindparam("b_due"),
                application_due_at=sa.bindparam("b_for"),
                lease_until=None,
                attempts=0,
                sent_at=None,
                last_error=None,
            ),
            plan.rearmed,
        )
    return created


def _load(course_ids: list[int]) -> tuple[list[Course], dict[int, list], dict]:
    """The courses (patient and protocol with them), their open applications, and the
    scheduled reminders those have: three queries whatever the number of courses."""
    courses = list(
        db.session.scalars(
            sa.select(Course)
            .where(Course.id.in_(course_ids))
            .options(so.joinedload(Course.patient), so.joinedload(Course.protocol_version))
            .order_by(Course.id)
        ).unique()
    )
    undone: dict[int, list] = {c.id: [] for c in courses}
    for row in db.session.scalars(
        sa.select(PlannedApplication)
        .where(
            PlannedApplication.course_id.in_(course_ids),
            PlannedApplication.completed_at.is_(None),
            PlannedApplication.in_clinic.is_(False),
        )
        .order_by(PlannedApplication.course_id, PlannedApplication.number)
    ):
        undone[row.course_id].append(row)
    app_ids = [r.id for rows in undone.values() for r in rows]
    existing = {}
    if app_ids:
        existing = {
            (r.planned_application_id, r.kind): (r.id, r.status, r.due_at, r.application_due_at)
            for r in db.session.execute(
                sa.select(
                    _OCC.c.id,
                    _OCC.c.planned_application_id,
                    _OCC.c.kind,
                    _OCC.c.status,
                    _OCC.c.due_at,
                    _OCC.c.application_due_at,
                ).where(
                    _OCC.c.planned_application_id.in_(app_ids),
                    _OCC.c.kind.in_([str(k) for k in APPLICATION_KINDS]),
                    _OCC.c.seq == 0,
                )
            )
        }
    return courses, undone, existing


def materialise_course(course: Course, now: dt.datetime | None = None, window: dt.timedelta = WINDOW) -> int:
    """Create (or move) the reminders of the applications due within the window: pending
    ones follow their application's time (and the quiet hours); ones already sent, or
    marked undeliverable, for an application that has moved since are armed again for its
    new time."""
    now = now or utcnow()
    if course.status != "active":
        return 0
    db.session.flush()
    _courses, undone, existing = _load([course.id])
    plan = _Plan()
    _plan_course(course, undone.get(course.id, []), existing, now, window, plan)
    return _write(plan)


def materialise_all(
    now: dt.datetime | None = None, window: dt.timedelta = WINDOW, batch_size: int = MATERIALISE_BATCH
) -> int:
    """The rolling window for every active course with something due soon (the dispatcher
    runs this). Courses go in batches with a fixed number of queries each; a course that
    cannot be planned is logged and skipped, never stopping the others."""
    now = now or utcnow()
    course_ids = db.session.scalars(
        sa.select(PlannedApplication.course_id)
        .join(Course)
        .where(
            Course.status == "active",
            PlannedApplication.completed_at.is_(None),
            PlannedApplication.due_at <= now + window,
        )
        .distinct()
        .order_by(PlannedApplication.course_id)
    ).all()
    created = 0
    for i in range(0, len(course_ids), batch_size):
        chunk = course_ids[i : i + batch_size]
        courses, undone, existing = _load(chunk)
        plans: list[tuple[int, _Plan]] = []
        for course in courses:
            plan = _Plan()
            try:
                _plan_course(course, undone[course.id], existing, now, window, plan)
            except Exception:
                log.exception("materialising course %d failed: skipped", course.id)
                continue
            plans.append((course.id, plan))
        merged = _Plan()
        for _cid, plan in plans:
            merged.new += plan.new
            merged.moved += plan.moved
            merged.rearmed += plan.rearmed
        try:
            with db.session.begin_nested():
                created += _write(merged)
        except sa.exc.SQLAlchemyError:
            # One course's rows broke the batch's statements: write course by course.
            for course_id, plan in plans:
                try:
                    with db.session.begin_nested():
                        created += _write(plan)
                except sa.exc.SQLAlchemyError:
                    log.exception("materialising course %d failed: skipped", course_id)
    return created


def cancel_for_application(row: PlannedApplication) -> int:
    """No reminder after the application is done (snoozed copies included), also one a
    dispatcher has claimed: clearing its lease fences the claim out (claims.py)."""
    return db.session.execute(
        sa.update(ReminderOccurrence)
        .where(
            ReminderOccurrence.planned_application_id == row.id,
            ReminderOccurrence.kind.in_(APPLICATION_KINDS),
            ReminderOccurrence.status.in_((PENDING, ReminderStatus.CLAIMED)),
        )
        .values(status=ReminderStatus.CANCELLED, lease_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def _add_once(patient_id: int, row: PlannedApplication, kind: str, at: dt.datetime) -> None:
    """Insert the reminder unless it exists (the unique key decides, not a read first)."""
    db.session.execute(
        _insert(ReminderOccurrence.__table__)
        .values(
            patient_id=patient_id,
            planned_application_id=row.id,
            kind=kind,
            seq=0,
            due_at=at,
            status=PENDING,
            attempts=0,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["planned_application_id", "kind", "seq"])
    )


def application_done(course: Course, row: PlannedApplication, now: dt.datetime | None = None) -> None:
    """After an application: cancel its reminders, add kit-low / checkpoint ones, re-plan the window."""
    now = now or utcnow()
    protocol = course_protocol(course)
    cancel_for_application(row)
    patient = course.patient
    if row.opens_vial and row.vial_number == protocol.vials_per_kit:
        _add_once(patient.id, row, ReminderKind.KIT_LOW, respect_quiet_hours(now, patient))
    if any(c.after_application == row.number and row.number > 1 for c in protocol.checkpoints):
        _add_once(
            patient.id,
            row,
            ReminderKind.CHECKPOINT,
            respect_quiet_hours(now + dt.timedelta(hours=1), patient),
        )
    materialise_course(course, now)


SNOOZE_TRIES = 8


def snooze(
    original: ReminderOccurrence,
    delay: dt.timedelta = dt.timedelta(hours=1),
    now: dt.datetime | None = None,
) -> ReminderOccurrence:
    """A new occurrence of the same reminder, `delay` from now (the snoozed one stays as sent).

    The next sequence number is taken in the INSERT itself (max + 1, ON CONFLICT DO NOTHING):
    two snoozes at once get two numbers, never a unique-constraint error.
    The caller looks the reminder up through `anagen.auth.policy`, which scopes it to the patient.
    """
    now = now or utcnow()
    if original.kind == ReminderKind.TEST or original.planned_application_id is None:
        raise NotFound("No such reminder.")
    row = db.session.get(PlannedApplication, original.planned_application_id)
    if row.completed_at is not None and original.kind in APPLICATION_KINDS:
        raise Conflict("This application is already done.", code="already_done")
    patient = db.session.get(Patient, original.patient_id)
    due_at = respect_quiet_hours(now + delay, patient)
    same = sa.and_(_OCC.c.planned_application_id == row.id, _OCC.c.kind == str(original.kind))
    next_seq = sa.select(sa.func.coalesce(sa.func.max(_OCC.c.seq), 0) + 1).where(same).scalar_subquery()
    source = sa.select(
        sa.literal(original.patient_id),
        sa.literal(row.id),
        sa.literal(str(original.kind)),
        next_seq,
        sa.literal(due_at, UTCDateTime()),
        sa.literal(str(PENDING)),
        sa.literal(0),
        sa.literal(now, UTCDateTime()),
    )
    columns = [
        "patient_id",
        "planned_application_id",
        "kind",
        "seq",
        "due_at",
        "status",
        "attempts",
        "created_at",
    ]
    statement = (
        _insert(_OCC)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["planned_application_id", "kind", "seq"])
        .returning(_OCC.c.id)
    )
    for _ in range(SNOOZE_TRIES):
        new_id = db.session.execute(statement).scalar()
        if new_id is not None:
            return db.session.get(ReminderOccurrence, new_id)
    raise Conflict("This reminder is being snoozed already.", code="snooze_busy")


def queue_test(patient: Patient, now: dt.datetime | None = None) -> ReminderOccurrence:
    """A test notification, sent by the dispatcher on its next tick."""
    return _queue_notice(patient, ReminderKind.TEST, now or utcnow())


def queue_message_notice(patient: Patient, now: dt.datetime | None = None) -> ReminderOccurrence:
    """ "You have a new message" (never its text), outside the patient's quiet hours."""
    return _queue_notice(patient, ReminderKind.MESSAGE, respect_quiet_hours(now or utcnow(), patient))


def queue_photo_comment_notice(patient: Patient, now: dt.datetime | None = None) -> ReminderOccurrence:
    """ "Your clinic commented on one of your photos" (never the comment), outside quiet hours; it
    opens the photos screen, where the comment is."""
    return _queue_notice(patient, ReminderKind.PHOTO_COMMENT, respect_quiet_hours(now or utcnow(), patient))


def _queue_notice(patient: Patient, kind: str, due_at: dt.datetime) -> ReminderOccurrence:
    occurrence = ReminderOccurrence(
        patient_id=patient.id, planned_application_id=None, kind=kind, seq=0, due_at=due_at
    )
    db.session.add(occurrence)
    db.session.flush()
    return occurrence


def _undone_applications(course: Course):
    return sa.select(PlannedApplication.id).where(
        PlannedApplication.course_id == course.id, PlannedApplication.completed_at.is_(None)
    )


def suspend_course(course: Course) -> int:
    """No reminder for a course the clinic paused or ended: every one not yet sent for its
    applications still to do is cancelled, also one a dispatcher has claimed (clearing its lease
    fences the claim out, claims.py)."""
    return db.session.execute(
        sa.update(ReminderOccurrence)
        .where(
            ReminderOccurrence.planned_application_id.in_(_undone_applications(course)),
            ReminderOccurrence.status.in_((PENDING, ReminderStatus.CLAIMED)),
        )
        .values(status=ReminderStatus.CANCELLED, lease_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def resume_course(course: Course, now: dt.datetime | None = None) -> int:
    """Reminders again for a resumed course: the ones the pause cancelled are removed (an
    application still to do has no other cancelled reminder) and the window is materialised
    for the re-planned applications."""
    db.session.flush()
    db.session.execute(
        sa.delete(ReminderOccurrence)
        .where(
            ReminderOccurrence.planned_application_id.in_(_undone_applications(course)),
            ReminderOccurrence.status == ReminderStatus.CANCELLED,
        )
        .execution_options(synchronize_session=False)
    )
    return materialise_course(course, now)
