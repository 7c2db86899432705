"""The clinic's dashboard: every patient with adherence, last and next application, course week
and flags, sorted, filtered, searched and paged in SQL.

Two statements whatever the clinic's size: one for the page of rows, one for the totals (the
number of rows matching, and the number of patients with each flag). Every per-patient figure
comes from grouped subqueries over the clinic's courses (no query per patient); the flags are
clinic/flags.py's expressions over them.

The figures follow the course engine (protocol/engine.py): a not-done application whose on-time
window (the course's `on_time_window_hours`) has closed is missed; one done after its window
closed is late; adherence is done / (done + missed), rounded half up, 100 when nothing was due
yet. A paused or ended course is judged as of the moment it stopped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from anagen.clinic import flags as flag_defs
from anagen.clinic.flags import SAME_EVENT, FlagContext, epoch, from_epoch
from anagen.clock import utcnow
from anagen.errors import Conflict, NotFound
from anagen.extensions import db
from anagen.models import (
    ApplicationLog,
    Course,
    FlagAcknowledgement,
    Invite,
    Kit,
    Patient,
    PlannedApplication,
    ProtocolVersion,
    PushSubscription,
    StaffUser,
)
from anagen.protocol import Protocol

_P = Patient.__table__
_C = Course.__table__
_PA = PlannedApplication.__table__
_LOG = ApplicationLog.__table__
_PV = ProtocolVersion.__table__
_KIT = Kit.__table__
_SUB = PushSubscription.__table__
_INV = Invite.__table__
_ACK = FlagAcknowledgement.__table__

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Protocol)}
WEEK = 7 * 24 * 3600.0
SORTS = ("name", "adherence", "last", "next", "week", "flags")
STATUSES = ("active", "paused", "ended", "completed")
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Query:
    sort: str = "flags"
    order: str | None = None  # "asc" | "desc"; default: desc for flags, asc for the rest
    flag: str | None = None
    q: str | None = None
    status: str | None = None
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class FlagState:
    key: str
    since: dt.datetime


@dataclass(frozen=True)
class CourseSummary:
    id: int
    status: str
    week: int
    weeks_total: int
    applications_done: int
    applications_total: int


@dataclass(frozen=True)
class Row:
    id: int
    first_name: str
    last_name: str
    email: str | None
    time_zone: str
    invite_redeemed: bool
    course: CourseSummary | None
    adherence_percent: int | None
    missed: int
    late: int
    last_application_at: dt.datetime | None
    next_application_at: dt.datetime | None
    next_overdue: bool
    flags: list[FlagState]
    acknowledged: list[FlagState]


@dataclass(frozen=True)
class Dashboard:
    total: int
    page: int
    per_page: int
    flag_counts: dict[str, int]
    flag_catalogue: list[dict]
    patients: list[Row]


def _protocol_value(course, pv, name: str):
    """A protocol parameter of a course: its override, else its protocol version's, else the default."""
    return sa.func.coalesce(
        course.c.protocol_overrides[name].as_integer(),
        pv.c.definition[name].as_integer(),
        _DEFAULTS[name],
    )


def _asof(course, now):
    """Now, or the instant a paused or ended course stopped: its statuses stop moving then."""
    return sa.case(
        (course.c.status == "paused", sa.func.coalesce(epoch(course.c.paused_at), now)),
        (course.c.status == "ended", sa.func.coalesce(epoch(course.c.ended_at), now)),
        else_=now,
    )


def _rows(clinic_id: int, now: dt.datetime, patient_id: int | None = None) -> sa.Subquery:
    """One row per patient of the clinic (or just one patient) with every figure and flag."""
    now_e = sa.literal(now.timestamp(), sa.Float)
    in_scope = [_P.c.clinic_id == clinic_id, _P.c.active.is_(True)]
    if patient_id is not None:
        in_scope.append(_P.c.id == patient_id)
    patients = sa.select(_P.c.id).where(*in_scope)
    current = (
        sa.select(_C.c.patient_id, sa.func.max(_C.c.id).label("course_id"))
        .where(_C.c.patient_id.in_(patients))
        .group_by(_C.c.patient_id)
        .subquery("cur")
    )
    course_ids = sa.select(current.c.course_id)

    # Per course: counts, last and next application, the last miss, the last flagged check-in.
    c2, pv2 = _C.alias("c2"), _PV.alias("pv2")
    window = _protocol_value(c2, pv2, "on_time_window_hours") * 3600
    due, done = epoch(_PA.c.due_at), epoch(_PA.c.completed_at)
    missed = sa.and_(_PA.c.completed_at.is_(None), due + window <= _asof(c2, now_e))
    agg = (
        sa.select(
            _PA.c.course_id,
            sa.func.count(_PA.c.id).label("total"),
            sa.func.count(_PA.c.completed_at).label("done"),
            sa.func.sum(sa.case((missed, 1), else_=0)).label("missed"),
            sa.func.sum(
                sa.case((sa.and_(_PA.c.completed_at.is_not(None), done > due + window), 1), else_=0)
            ).label("late"),
            sa.func.max(_PA.c.completed_at).label("last_done_at"),
            sa.func.min(sa.case((_PA.c.completed_at.is_(None), _PA.c.due_at))).label("next_due_at"),
            sa.func.max(sa.case((missed, due + window))).label("last_miss_at"),
            sa.func.max(sa.case((_LOG.c.flagged.is_(True), epoch(_LOG.c.completed_at)))).label(
                "side_effect_at"
            ),
        )
        .select_from(
            _PA.join(c2, c2.c.id == _PA.c.course_id)
            .join(pv2, pv2.c.id == c2.c.protocol_version_id)
            .outerjoin(_LOG, _LOG.c.planned_application_id == _PA.c.id)
        )
        .where(_PA.c.course_id.in_(course_ids))
        .group_by(_PA.c.course_id)
        .subquery("agg")
    )

    # The lateness of the last at-home completions, newest first.
    ranked = (
        sa.select(
            _PA.c.course_id,
            (done - due).label("lateness"),
            done.label("done_at"),
            sa.func.row_number().over(partition_by=_PA.c.course_id, order_by=_PA.c.number.desc()).label("rn"),
        )
        .where(_PA.c.course_id.in_(course_ids), _PA.c.completed_at.is_not(None), _PA.c.in_clinic.is_(False))
        .subquery("ranked")
    )
    nth = lambda n, col: sa.func.max(sa.case((ranked.c.rn == n, col)))  # noqa: E731
    drift = (
        sa.select(
            ranked.c.course_id,
            sa.func.count().label("n"),
            *(
                nth(i, ranked.c.lateness).label(f"late_{i}")
                for i in range(1, flag_defs.DRIFT_APPLICATIONS + 1)
            ),
            nth(1, ranked.c.done_at).label("latest_at"),
        )
        .where(ranked.c.rn <= flag_defs.DRIFT_APPLICATIONS)
        .group_by(ranked.c.course_id)
        .subquery("drift")
    )

    # When the next kit became needed soon: the completion that left KIT_LEAD applications in a
    # kit while the kit after it is not dispatched.
    kit_last = (
        sa.select(_PA.c.course_id, _PA.c.kit_number, sa.func.max(_PA.c.number).label("last"))
        .where(_PA.c.course_id.in_(course_ids))
        .group_by(_PA.c.course_id, _PA.c.kit_number)
        .subquery("kit_last")
    )
    trigger, following = _PA.alias("trigger"), _KIT.alias("following")
    kit_need = (
        sa.select(trigger.c.course_id, sa.func.min(epoch(trigger.c.completed_at)).label("needed_at"))
        .select_from(
            trigger.join(
                kit_last,
                sa.and_(
                    kit_last.c.course_id == trigger.c.course_id, kit_last.c.kit_number == trigger.c.kit_number
                ),
            ).join(
                following,
                sa.and_(
                    following.c.course_id == trigger.c.course_id,
                    following.c.number == trigger.c.kit_number + 1,
                ),
            )
        )
        .where(
            trigger.c.course_id.in_(course_ids),
            trigger.c.number == kit_last.c.last - flag_defs.KIT_LEAD_APPLICATIONS,
            trigger.c.completed_at.is_not(None),
            following.c.dispatched_at.is_(None),
        )
        .group_by(trigger.c.course_id)
        .subquery("kit_need")
    )

    devices = (
        sa.select(
            _SUB.c.patient_id,
            sa.func.sum(sa.case((_SUB.c.failed_at.is_(None), 1), else_=0)).label("working"),
            sa.func.max(epoch(_SUB.c.failed_at)).label("last_failed_at"),
        )
        .where(_SUB.c.patient_id.in_(patients))
        .group_by(_SUB.c.patient_id)
        .subquery("devices")
    )
    invites = (
        sa.select(
            _INV.c.patient_id,
            sa.func.max(epoch(_INV.c.created_at)).label("last_issued_at"),
            sa.func.max(epoch(_INV.c.used_at)).label("last_used_at"),
        )
        .where(_INV.c.patient_id.in_(patients))
        .group_by(_INV.c.patient_id)
        .subquery("invites")
    )
    registered = flag_defs.flags()
    acks = (
        sa.select(
            _ACK.c.patient_id,
            *(
                sa.func.max(sa.case((_ACK.c.flag == f.key, epoch(_ACK.c.event_at)))).label(f"ack_{f.key}")
                for f in registered
            ),
        )
        .where(_ACK.c.patient_id.in_(patients))
        .group_by(_ACK.c.patient_id)
        .subquery("acks")
    )

    c, pv = _C.alias("c"), _PV.alias("pv")
    asof = _asof(c, now_e)
    ctx = FlagContext(
        patient_id=_P.c.id,
        course_id=c.c.id,
        course_status=c.c.status,
        password_set=_P.c.password_hash.is_not(None),
        patient_created=epoch(_P.c.created_at),
        asof=asof,
        now=now_e,
        agg=agg,
        drift=drift,
        kit_need=kit_need,
        devices=devices,
        invites=invites,
    )
    events = {f.key: f.event_at(ctx) for f in registered}
    active = {
        key: sa.and_(
            event.is_not(None),
            sa.or_(acks.c[f"ack_{key}"].is_(None), event > acks.c[f"ack_{key}"] + SAME_EVENT),
        )
        for key, event in events.items()
    }
    done_n, missed_n = sa.func.coalesce(agg.c.done, 0), sa.func.coalesce(agg.c.missed, 0)
    due_so_far = done_n + missed_n
    return (
        sa.select(
            _P.c.id,
            _P.c.first_name,
            _P.c.last_name,
            _P.c.email,
            _P.c.time_zone,
            _P.c.password_hash.is_not(None).label("invite_redeemed"),
            c.c.id.label("course_id"),
            c.c.status.label("course_status"),
            _protocol_value(c, pv, "course_weeks").label("weeks_total"),
            (sa.cast((asof - epoch(c.c.first_application_at)) / WEEK, sa.Integer) + 1).label("week"),
            done_n.label("done"),
            sa.func.coalesce(agg.c.total, 0).label("total"),
            missed_n.label("missed"),
            sa.func.coalesce(agg.c.late, 0).label("late"),
            # protocol/engine.py's _percent: rounded half up, 100 when nothing was due yet.
            sa.case((due_so_far == 0, 100), else_=(200 * done_n + due_so_far) / (2 * due_so_far)).label(
                "adherence"
            ),
            agg.c.last_done_at,
            sa.case((c.c.status == "active", agg.c.next_due_at)).label("next_due_at"),
            *(event.label(f"ev_{key}") for key, event in events.items()),
            *(expr.label(f"on_{key}") for key, expr in active.items()),
            sum((sa.case((expr, 1), else_=0) for expr in active.values()), sa.literal(0)).label("flag_count"),
        )
        .select_from(
            _P.outerjoin(current, current.c.patient_id == _P.c.id)
            .outerjoin(c, c.c.id == current.c.course_id)
            .outerjoin(pv, pv.c.id == c.c.protocol_version_id)
            .outerjoin(agg, agg.c.course_id == c.c.id)
            .outerjoin(drift, drift.c.course_id == c.c.id)
            .outerjoin(kit_need, kit_need.c.course_id == c.c.id)
            .outerjoin(devices, devices.c.patient_id == _P.c.id)
            .outerjoin(invites, invites.c.patient_id == _P.c.id)
            .outerjoin(acks, acks.c.patient_id == _P.c.id)
        )
        .where(*in_scope)
        .subquery("rows")
    )


def _filters(rows: sa.Subquery, query: Query) -> list:
    where = []
    if query.q and query.q.strip():
        needle = query.q.strip().lower()
        full_name = sa.func.lower(rows.c.first_name + " " + rows.c.last_name)
        where.append(
            sa.or_(
                full_name.contains(needle, autoescape=True),
                sa.func.lower(sa.func.coalesce(rows.c.email, "")).contains(needle, autoescape=True),
            )
        )
    if query.status:
        where.append(rows.c.course_status == query.status)
    return where


def _order(rows: sa.Subquery, query: Query) -> list:
    descending = (query.order or ("desc" if query.sort == "flags" else "asc")) == "desc"
    name = [sa.func.lower(rows.c.last_name), sa.func.lower(rows.c.first_name), rows.c.id]
    column = {
        "adherence": rows.c.adherence,
        "last": rows.c.last_done_at,
        "next": rows.c.next_due_at,
        "week": rows.c.week,
        "flags": rows.c.flag_count,
    }.get(query.sort)
    if column is None:
        return [c.desc() for c in name] if descending else name
    return [(column.desc() if descending else column.asc()).nulls_last(), *name]


def _row(r, keys: list[str]) -> Row:
    course = None
    if r.course_id is not None:
        course = CourseSummary(
            id=r.course_id,
            status=str(r.course_status),
            week=min(max(int(r.week), 1), int(r.weeks_total)),
            weeks_total=int(r.weeks_total),
            applications_done=int(r.done),
            applications_total=int(r.total),
        )
    raised = [(k, from_epoch(getattr(r, f"ev_{k}")), bool(getattr(r, f"on_{k}"))) for k in keys]
    return Row(
        id=r.id,
        first_name=r.first_name,
        last_name=r.last_name,
        email=r.email,
        time_zone=r.time_zone,
        invite_redeemed=bool(r.invite_redeemed),
        course=course,
        adherence_percent=int(r.adherence) if course else None,
        missed=int(r.missed),
        late=int(r.late),
        last_application_at=r.last_done_at,
        next_application_at=r.next_due_at,
        next_overdue=bool(course and course.status == "active" and r.missed > 0),
        flags=[FlagState(k, at) for k, at, on in raised if at is not None and on],
        acknowledged=[FlagState(k, at) for k, at, on in raised if at is not None and not on],
    )


def dashboard(clinic_id: int, query: Query, now: dt.datetime | None = None) -> Dashboard:
    """One page of the clinic's patients, with the totals for the filters in force."""
    now = now or utcnow()
    keys = [f.key for f in flag_defs.flags()]
    rows = _rows(clinic_id, now)
    where = _filters(rows, query)
    totals = db.session.execute(
        sa.select(
            sa.func.count().label("all"),
            *(
                sa.func.coalesce(sa.func.sum(sa.case((rows.c[f"on_{k}"], 1), else_=0)), 0).label(k)
                for k in keys
            ),
        ).where(*where)
    ).one()
    counts = {k: int(getattr(totals, k)) for k in keys}
    if query.flag:
        where.append(rows.c[f"on_{query.flag}"])
    total = counts[query.flag] if query.flag else int(totals.all)
    page = db.session.execute(
        sa.select(rows)
        .where(*where)
        .order_by(*_order(rows, query))
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
    ).all()
    return Dashboard(
        total=total,
        page=query.page,
        per_page=query.per_page,
        flag_counts=counts,
        flag_catalogue=flag_defs.catalogue(),
        patients=[_row(r, keys) for r in page],
    )


# ---- one patient's flags, and acknowledging them ----------------------------------------------


@dataclass(frozen=True)
class Acknowledgement:
    note: str
    acknowledged_at: dt.datetime
    acknowledged_by: str
    since: dt.datetime


@dataclass(frozen=True)
class PatientFlag:
    key: str
    label: str
    description: str
    since: dt.datetime
    active: bool
    acknowledgement: Acknowledgement | None


def patient_row(clinic_id: int, patient_id: int, now: dt.datetime | None = None) -> Row:
    """The dashboard's row of one patient (the same SQL, so the same figures and flags)."""
    now = now or utcnow()
    rows = _rows(clinic_id, now, patient_id)
    r = db.session.execute(sa.select(rows)).one_or_none()
    if r is None:
        raise NotFound("No such patient.")
    return _row(r, [f.key for f in flag_defs.flags()])


def patient_flags(clinic_id: int, patient_id: int, now: dt.datetime | None = None) -> list[PatientFlag]:
    """The patient's raised flags, active or quiet, each with its latest acknowledgement."""
    row = patient_row(clinic_id, patient_id, now)
    latest = {}
    for ack, staff_name in db.session.execute(
        sa.select(FlagAcknowledgement, StaffUser.name)
        .join(StaffUser, StaffUser.id == FlagAcknowledgement.staff_id)
        .where(FlagAcknowledgement.patient_id == patient_id)
        .order_by(FlagAcknowledgement.created_at, FlagAcknowledgement.id)
    ):
        latest[ack.flag] = Acknowledgement(ack.note, ack.created_at, staff_name, ack.event_at)
    result = []
    for state, active in [*((s, True) for s in row.flags), *((s, False) for s in row.acknowledged)]:
        definition = flag_defs.flag(state.key)
        result.append(
            PatientFlag(
                key=state.key,
                label=definition.label,
                description=definition.description,
                since=state.since,
                active=active,
                acknowledgement=latest.get(state.key),
            )
        )
    order = {f.key: i for i, f in enumerate(flag_defs.flags())}
    return sorted(result, key=lambda f: (not f.active, order[f.key]))


def acknowledge(
    clinic_id: int, patient_id: int, key: str, note: str, staff: StaffUser, now: dt.datetime | None = None
) -> Acknowledgement:
    """Quiet a raised flag until the event that raises it is a newer one."""
    if flag_defs.flag(key) is None:
        raise NotFound("No such flag.", {"flag": "Unknown flag"})
    now = now or utcnow()
    row = patient_row(clinic_id, patient_id, now)
    state = next((s for s in [*row.flags, *row.acknowledged] if s.key == key), None)
    if state is None:
        raise Conflict("This flag is not raised for this patient.", code="flag_not_raised")
    ack = FlagAcknowledgement(
        patient_id=patient_id, flag=key, event_at=state.since, note=note.strip(), staff=staff
    )
    ack.created_at = now
    db.session.add(ack)
    db.session.flush()
    return Acknowledgement(ack.note, ack.created_at, staff.name, state.since)
