"""The clinic's dashboard: every patient with adherence, last and next application, course week
and flags, sorted, filtered, searched and paged in SQL.

One statement whatever the clinic's size: the page of rows, with the totals (the rows matching,
and the patients with each flag) as window aggregates beside them. Every per-patient figure comes
from materialized CTEs over the clinic's courses and applications (no query per patient); the
flags are clinic/flags.py's expressions over them. Each shape of query (sort, order, filters) is
built and compiled once per database dialect and then only bound (`_statement`).

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
from anagen.models.base import UTCDateTime
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


def _materialized(select: sa.Select, name: str) -> sa.CTE:
    """A CTE computed once (PostgreSQL would otherwise inline it and may rescan it per row)."""
    return select.cte(name).prefix_with("MATERIALIZED")


def _asof(course, now):
    """Now, or the instant a paused or ended course stopped: its statuses stop moving then."""
    return sa.case(
        (course.c.status == "paused", sa.func.coalesce(epoch(course.c.paused_at), now)),
        (
            course.c.status == "ended",
            sa.func.coalesce(epoch(course.c.paused_at), epoch(course.c.ended_at), now),
        ),
        else_=now,
    )


# The statements' parameters. The statements are large (a dozen CTEs, every flag's expression):
# each shape of query is built and compiled once per database dialect, with its constants written
# into the SQL and only these left as parameters (`_statement`); building and binding it anew on
# every request would cost more than running it.
CLINIC = sa.literal_column(":clinic_id", sa.Integer)
NOW = sa.literal_column(":now_e", sa.Float)
PATIENT = sa.literal_column(":patient_id", sa.Integer)
NEEDLE = sa.literal_column(":needle", sa.String)
STATUS = sa.literal_column(":status", sa.String)
LIMIT = sa.literal_column(":lim", sa.Integer)
OFFSET = sa.literal_column(":off", sa.Integer)
_STATEMENTS: dict[tuple, sa.TextClause] = {}


def _statement(shape: tuple, build) -> sa.TextClause:
    """The compiled statement of this shape for the session's database (built on first use)."""
    dialect = db.session.get_bind().dialect
    key = (dialect.name, tuple(f.key for f in flag_defs.flags()), shape)
    statement = _STATEMENTS.get(key)
    if statement is None:
        sql = str(build().compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        statement = sa.text(sql).columns(last_done_at=UTCDateTime(), next_due_at=UTCDateTime())
        _STATEMENTS[key] = statement
    return statement


def _like(text: str) -> str:
    """A LIKE pattern finding `text` anywhere, its own % and _ taken literally (escape /)."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def _rows(one_patient: bool = False) -> sa.Subquery:
    """One row per patient of the clinic (or just one patient) with every figure and flag.

    Built from materialized CTEs, each computed once: the current course of each patient, the
    protocol parameters, one pass over the courses' applications (grouped per course), one over
    the patients' devices, invites and acknowledgements (grouped per patient), then the patients
    joined to those two. Few joins and no CTE rescanned per row keep the plan cheap even when the
    planner's row estimates are wrong (tables never analysed)."""
    now_e = NOW
    in_scope = [_P.c.clinic_id == CLINIC, _P.c.active.is_(True)]
    if one_patient:
        in_scope.append(_P.c.id == PATIENT)
    patients = sa.select(_P.c.id).where(*in_scope)
    current = _materialized(
        sa.select(sa.func.max(_C.c.id).label("course_id"))
        .where(_C.c.patient_id.in_(patients))
        .group_by(_C.c.patient_id),
        "cur",
    )
    course_ids = sa.select(current.c.course_id)
    # The protocol parameters each course needs, read once per protocol version (its definition
    # is a JSON document: read per application row it would cost more than the whole query).
    pv_params = _materialized(
        sa.select(
            _PV.c.id,
            _PV.c.definition["on_time_window_hours"].as_integer().label("window_hours"),
            _PV.c.definition["course_weeks"].as_integer().label("weeks"),
            _PV.c.definition["applications_per_kit"].as_integer().label("per_kit"),
        ).where(_PV.c.id.in_(sa.select(_C.c.protocol_version_id).where(_C.c.id.in_(course_ids)))),
        "pv_params",
    )
    # Applications are recorded in order: the ones done are 1..done.
    done_counts = _materialized(
        sa.select(_PA.c.course_id, sa.func.count(_PA.c.completed_at).label("done"))
        .where(_PA.c.course_id.in_(course_ids))
        .group_by(_PA.c.course_id),
        "done_counts",
    )
    # The first later kit not yet dispatched (kit 1 goes home from the first visit).
    waiting_kits = _materialized(
        sa.select(_KIT.c.course_id, sa.func.min(_KIT.c.number).label("kit"))
        .where(_KIT.c.course_id.in_(course_ids), _KIT.c.number > 1, _KIT.c.dispatched_at.is_(None))
        .group_by(_KIT.c.course_id),
        "waiting_kits",
    )
    courses = _materialized(
        sa.select(
            _C.c.id,
            _C.c.patient_id,
            _C.c.status,
            _C.c.first_application_at,
            (
                sa.func.coalesce(
                    _C.c.protocol_overrides["on_time_window_hours"].as_integer(),
                    pv_params.c.window_hours,
                    _DEFAULTS["on_time_window_hours"],
                )
                * 3600
            ).label("window_s"),
            sa.func.coalesce(pv_params.c.weeks, _DEFAULTS["course_weeks"]).label("weeks_total"),
            sa.func.coalesce(pv_params.c.per_kit, _DEFAULTS["applications_per_kit"]).label("per_kit"),
            _asof(_C, now_e).label("asof"),
            sa.func.coalesce(done_counts.c.done, 0).label("done"),
            waiting_kits.c.kit.label("waiting_kit"),
        )
        .select_from(
            _C.join(pv_params, pv_params.c.id == _C.c.protocol_version_id)
            .outerjoin(done_counts, done_counts.c.course_id == _C.c.id)
            .outerjoin(waiting_kits, waiting_kits.c.course_id == _C.c.id)
        )
        .where(_C.c.id.in_(course_ids)),
        "courses",
    )

    # Every application of those courses with its check-in if that was over the threshold. No
    # window function is needed: the ones done are 1..done, and kit k ends with application
    # k * per_kit (protocol/kit.py).
    # Per application, computed once: its instants as numbers, whether it was missed (as the
    # instant its window closed) or late, its rank among the at-home ones done (1 = the latest),
    # and whether its completion left KIT_LEAD applications before the waiting kit.
    due, done, window = epoch(_PA.c.due_at), epoch(_PA.c.completed_at), courses.c.window_s
    rank = courses.c.done - _PA.c.number + 1
    apps = _materialized(
        sa.select(
            _PA.c.course_id,
            _PA.c.completed_at,
            _PA.c.due_at,
            sa.case(
                (sa.and_(_PA.c.completed_at.is_(None), due + window <= courses.c.asof), due + window)
            ).label("missed_e"),
            sa.case((done > due + window, 1), else_=0).label("late"),
            sa.case((sa.and_(_PA.c.completed_at.is_not(None), _PA.c.in_clinic.is_(False)), rank)).label(
                "rank"
            ),
            (done - due).label("lateness"),
            done.label("done_e"),
            sa.case(
                (
                    _PA.c.number
                    == (courses.c.waiting_kit - 1) * courses.c.per_kit - flag_defs.KIT_LEAD_APPLICATIONS,
                    done,
                )
            ).label("kit_e"),
            epoch(_LOG.c.completed_at).label("flagged_e"),
        ).select_from(
            _PA.join(courses, courses.c.id == _PA.c.course_id).outerjoin(
                _LOG, sa.and_(_LOG.c.planned_application_id == _PA.c.id, _LOG.c.flagged.is_(True))
            )
        ),
        "apps",
    )
    a = apps.c

    def ranked(n: int, col):
        return sa.func.max(sa.case((a.rank == n, col)))

    per_course = _materialized(
        sa.select(
            a.course_id,
            sa.func.count().label("total"),
            sa.func.count(a.completed_at).label("done"),
            sa.func.count(a.missed_e).label("missed"),
            sa.func.sum(a.late).label("late"),
            sa.func.max(a.completed_at).label("last_done_at"),
            sa.func.min(sa.case((a.completed_at.is_(None), a.due_at))).label("next_due_at"),
            sa.func.max(a.missed_e).label("last_miss_at"),
            sa.func.max(a.flagged_e).label("side_effect_at"),
            sa.func.sum(sa.case((a.rank <= flag_defs.DRIFT_APPLICATIONS, 1), else_=0)).label("drift_n"),
            *(ranked(n, a.lateness).label(f"late_{n}") for n in range(1, flag_defs.DRIFT_APPLICATIONS + 1)),
            ranked(1, a.done_e).label("latest_home_at"),
            sa.func.min(a.kit_e).label("kit_needed_at"),
        ).group_by(a.course_id),
        "per_course",
    )

    # Per patient: working devices, invites, and the latest acknowledged event of each flag.
    registered = flag_defs.flags()
    null = sa.null()

    def part(patient_col, working=null, failed=null, issued=null, used=null, ack_flag=None, ack_at=null):
        return sa.select(
            patient_col.label("patient_id"),
            sa.cast(working, sa.Integer).label("working"),
            sa.cast(failed, sa.Float).label("failed_e"),
            sa.cast(issued, sa.Float).label("issued_e"),
            sa.cast(used, sa.Float).label("used_e"),
            sa.cast(ack_flag if ack_flag is not None else null, sa.String).label("ack_flag"),
            sa.cast(ack_at, sa.Float).label("ack_e"),
        )

    facts = sa.union_all(
        part(
            _SUB.c.patient_id,
            working=sa.case((_SUB.c.failed_at.is_(None), 1), else_=0),
            failed=epoch(_SUB.c.failed_at),
        ).where(_SUB.c.patient_id.in_(patients)),
        part(_INV.c.patient_id, issued=epoch(_INV.c.created_at), used=epoch(_INV.c.used_at)).where(
            _INV.c.patient_id.in_(patients)
        ),
        part(_ACK.c.patient_id, ack_flag=_ACK.c.flag, ack_at=epoch(_ACK.c.event_at)).where(
            _ACK.c.patient_id.in_(patients)
        ),
    ).subquery("facts")
    f = facts.c
    per_patient = _materialized(
        sa.select(
            f.patient_id,
            sa.func.sum(f.working).label("working"),
            sa.func.count(f.working).label("devices"),
            sa.func.max(f.failed_e).label("last_failed_at"),
            sa.func.max(f.issued_e).label("last_issued_at"),
            sa.func.max(f.used_e).label("last_used_at"),
            *(
                sa.func.max(sa.case((f.ack_flag == flag.key, f.ack_e))).label(f"ack_{flag.key}")
                for flag in registered
            ),
        ).group_by(f.patient_id),
        "per_patient",
    )

    c, k, pp = courses.c, per_course.c, per_patient.c
    ctx = FlagContext(
        patient_id=_P.c.id,
        course_id=c.id,
        course_status=c.status,
        password_set=_P.c.password_hash.is_not(None),
        patient_created=epoch(_P.c.created_at),
        asof=c.asof,
        now=now_e,
        course=per_course,
        patient=per_patient,
    )
    done_n, missed_n = sa.func.coalesce(k.done, 0), sa.func.coalesce(k.missed, 0)
    due_so_far = done_n + missed_n
    # The figures and each flag's event instant, computed once per patient (a flag's expression
    # may hold a correlated subquery: the flags' states below read the column, not the expression).
    base = _materialized(
        sa.select(
            _P.c.id,
            _P.c.first_name,
            _P.c.last_name,
            _P.c.email,
            _P.c.time_zone,
            _P.c.password_hash.is_not(None).label("invite_redeemed"),
            c.id.label("course_id"),
            c.status.label("course_status"),
            c.weeks_total,
            (sa.cast((c.asof - epoch(c.first_application_at)) / WEEK, sa.Integer) + 1).label("week"),
            done_n.label("done"),
            sa.func.coalesce(k.total, 0).label("total"),
            missed_n.label("missed"),
            sa.func.coalesce(k.late, 0).label("late"),
            # protocol/engine.py's _percent: rounded half up, 100 when nothing was due yet.
            sa.case((due_so_far == 0, 100), else_=(200 * done_n + due_so_far) // (2 * due_so_far)).label(
                "adherence"
            ),
            k.last_done_at,
            sa.case((c.status == "active", k.next_due_at)).label("next_due_at"),
            *(flag.event_at(ctx).label(f"ev_{flag.key}") for flag in registered),
            *(pp[f"ack_{flag.key}"] for flag in registered),
        )
        .select_from(
            _P.outerjoin(courses, c.patient_id == _P.c.id)
            .outerjoin(per_course, k.course_id == c.id)
            .outerjoin(per_patient, pp.patient_id == _P.c.id)
        )
        .where(*in_scope),
        "base",
    )
    b = base.c
    active = {
        flag.key: sa.and_(
            b[f"ev_{flag.key}"].is_not(None),
            sa.or_(b[f"ack_{flag.key}"].is_(None), b[f"ev_{flag.key}"] > b[f"ack_{flag.key}"] + SAME_EVENT),
        )
        for flag in registered
    }
    return sa.select(
        base,
        *(expr.label(f"on_{key}") for key, expr in active.items()),
        sum((sa.case((expr, 1), else_=0) for expr in active.values()), sa.literal(0)).label("flag_count"),
    ).subquery("rows")


def _filters(rows: sa.Subquery, query: Query) -> list:
    where = []
    if query.q and query.q.strip():
        full_name = sa.func.lower(rows.c.first_name + " " + rows.c.last_name)
        where.append(
            sa.or_(
                full_name.like(NEEDLE, escape="/"),
                sa.func.lower(sa.func.coalesce(rows.c.email, "")).like(NEEDLE, escape="/"),
            )
        )
    if query.status:
        where.append(rows.c.course_status == STATUS)
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
    """One page of the clinic's patients, with the totals for the filters in force.

    One statement: the totals are window aggregates over the rows the search and status filters
    keep (so `flag_counts` ignores the flag filter), the flag filter, order and page come after.
    Only a page past the end (no row to carry the totals) costs a second statement for them."""
    now = now or utcnow()
    keys = [f.key for f in flag_defs.flags()]
    searching = bool(query.q and query.q.strip())
    shape = (query.sort, query.order, query.flag, searching, bool(query.status))

    def listed() -> sa.Subquery:
        rows = _rows()
        everyone = sa.func.count().over().label("n_all")
        counts = [sa.func.sum(sa.case((rows.c[f"on_{k}"], 1), else_=0)).over().label(f"n_{k}") for k in keys]
        return sa.select(rows, everyone, *counts).where(*_filters(rows, query)).subquery("listed")

    def page_statement() -> sa.Select:
        rows = listed()
        where = [rows.c[f"on_{query.flag}"]] if query.flag else []
        return sa.select(rows).where(*where).order_by(*_order(rows, query)).limit(LIMIT).offset(OFFSET)

    def totals_statement() -> sa.Select:
        rows = listed()
        return sa.select(
            sa.func.count().label("n_all"),
            *(sa.func.sum(sa.case((rows.c[f"on_{k}"], 1), else_=0)).label(f"n_{k}") for k in keys),
        )

    params = {
        "clinic_id": clinic_id,
        "now_e": now.timestamp(),
        "needle": _like(query.q.strip().lower()) if searching else None,
        "status": query.status,
        "lim": query.per_page,
        "off": (query.page - 1) * query.per_page,
    }
    page = db.session.execute(_statement(("page", *shape), page_statement), params).all()
    if page:
        totals = page[0]
    else:
        totals = db.session.execute(_statement(("totals", *shape), totals_statement), params).one()
    flag_counts = {k: int(getattr(totals, f"n_{k}") or 0) for k in keys}
    return Dashboard(
        total=flag_counts[query.flag] if query.flag else int(totals.n_all or 0),
        page=query.page,
        per_page=query.per_page,
        flag_counts=flag_counts,
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
    statement = _statement(("patient",), lambda: sa.select(_rows(one_patient=True)))
    params = {"clinic_id": clinic_id, "patient_id": patient_id, "now_e": now.timestamp()}
    r = db.session.execute(statement, params).one_or_none()
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
