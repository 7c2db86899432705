"""The dashboard's flags: what each one means, in SQL, and how a clinician quiets one.

A flag is one SQL expression per patient row: the instant (seconds since the epoch, see
`epoch`) of the event that raised it, or NULL when it is not raised. Every flag of every
patient of a clinic is computed in the dashboard's one query (clinic/dashboard.py), so the
number of statements does not depend on the clinic's size.

A clinician acknowledges a raised flag with a note (`acknowledge`): the acknowledgement keeps
the event instant it saw, and the flag stays quiet while its event instant is no later than
that. "Something new" is therefore, per flag, a later event instant (see each definition).

Another package adds a flag with `register(Flag(...))` at import time (e.g. photos awaiting
review): its expression may use the columns of `FlagContext` (the patient, their current
course, the per-course aggregates) and any correlated subquery on `ctx.patient_id` /
`ctx.course_id`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

# A made-up application is late by at least this much more than the one before, three in a row:
DRIFT_APPLICATIONS = 3  # the last at-home completions compared
DRIFT_STEP = dt.timedelta(minutes=30)  # each later than the one before by at least this
DRIFT_MIN_LATENESS = dt.timedelta(hours=1)  # and the latest at least this after its due time
# Kit k+1 is needed soon once kit k has this many applications (or fewer) left: two weeks.
KIT_LEAD_APPLICATIONS = 4
# Event instants are compared with this tolerance (julianday on SQLite keeps milliseconds).
SAME_EVENT = 1.0


class epoch(FunctionElement):
    """Seconds since 1970-01-01 UTC of a timestamp column, as a float, on SQLite and PostgreSQL.

    Flags compare instants as numbers: the same arithmetic on both databases (SQLite has no
    interval type), and an instant plus a course's on-time window is one addition."""

    type = sa.Float()
    name = "epoch"
    inherit_cache = True


@compiles(epoch)
def _epoch_postgresql(element, compiler, **kw):
    # date_part returns double precision (EXTRACT returns numeric, much slower to compute with).
    return f"date_part('epoch', {compiler.process(element.clauses, **kw)})"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    # Instants are stored as UTC text; julianday() reads it, 2440587.5 is 1970-01-01T00:00Z.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def from_epoch(value: float | None) -> dt.datetime | None:
    """An epoch float read back from SQL as an aware UTC instant, to the millisecond."""
    if value is None:
        return None
    return dt.datetime.fromtimestamp(round(float(value), 3), dt.UTC)


@dataclass(frozen=True)
class FlagContext:
    """The columns a flag's expression may use, for one patient row of the dashboard query."""

    patient_id: ColumnElement
    course_id: ColumnElement  # the patient's current course (NULL: none)
    course_status: ColumnElement
    password_set: ColumnElement  # the invite was redeemed (the patient has an account)
    patient_created: ColumnElement  # epoch
    asof: ColumnElement  # epoch: now, or the instant a paused/ended course stopped
    now: ColumnElement  # epoch
    # Per course (dashboard.py `per_course`): total, done, missed, late, last_miss_at,
    # side_effect_at, drift_n, late_1.., latest_home_at, kit_needed_at (instants as epoch).
    course: sa.CTE
    # Per patient (`per_patient`): working, devices, last_failed_at, last_issued_at, last_used_at.
    patient: sa.CTE


@dataclass(frozen=True)
class Flag:
    key: str
    label: str
    description: str
    # The instant (epoch seconds) of the event that raised the flag, NULL when it is not raised.
    event_at: Callable[[FlagContext], ColumnElement]


def _active(ctx: FlagContext) -> ColumnElement:
    return ctx.course_status == "active"


def _two_misses(ctx: FlagContext) -> ColumnElement:
    # Applications are recorded in order, so the ones not done form the end of the course and the
    # ones among them whose on-time window has closed come first: two of those are two in a row.
    # The event is the latest window to close: a third miss is something new.
    c = ctx.course.c
    return sa.case((sa.and_(_active(ctx), c.missed >= 2), c.last_miss_at))


def _side_effects(ctx: FlagContext) -> ColumnElement:
    # Whatever the course's state: the clinic must see it. A later flagged check-in is new.
    return ctx.course.c.side_effect_at


def _drifting(ctx: FlagContext) -> ColumnElement:
    c = ctx.course.c
    step = DRIFT_STEP.total_seconds()
    later_each_time = [c[f"late_{n}"] >= c[f"late_{n + 1}"] + step for n in range(1, DRIFT_APPLICATIONS)]
    return sa.case(
        (
            sa.and_(
                _active(ctx),
                c.drift_n == DRIFT_APPLICATIONS,
                *later_each_time,
                c.late_1 >= DRIFT_MIN_LATENESS.total_seconds(),
            ),
            c.latest_home_at,
        )
    )


def _notifications(ctx: FlagContext) -> ColumnElement:
    # Only for a patient with an account (else the invite flag says it). The event: the last
    # device to fail, else the account set up without one (a device failing later is new).
    p = ctx.patient.c
    unreachable = sa.func.coalesce(p.working, 0) == 0
    since = sa.func.coalesce(p.last_failed_at, p.last_used_at, ctx.patient_created)
    return sa.case((sa.and_(_active(ctx), ctx.password_set, unreachable), since))


def _kit(ctx: FlagContext) -> ColumnElement:
    # The completion that left KIT_LEAD_APPLICATIONS in a kit while the next one is not dispatched.
    return sa.case((_active(ctx), ctx.course.c.kit_needed_at))


def _invite(ctx: FlagContext) -> ColumnElement:
    # A new invite issued (the earlier one withdrawn) is new.
    since = sa.func.coalesce(ctx.patient.c.last_issued_at, ctx.patient_created)
    return sa.case((sa.not_(ctx.password_set), since))


_REGISTRY: dict[str, Flag] = {}


def register(flag: Flag) -> None:
    """Add a flag to every dashboard (idempotent for the same key)."""
    _REGISTRY[flag.key] = flag


def flags() -> list[Flag]:
    return list(_REGISTRY.values())


def flag(key: str) -> Flag | None:
    return _REGISTRY.get(key)


def catalogue() -> list[dict]:
    return [{k: v for k, v in dataclasses.asdict(f).items() if k != "event_at"} for f in flags()]


for _flag in (
    Flag(
        "two_misses",
        "Two misses in a row",
        "The next two applications' on-time windows have closed and neither was done.",
        _two_misses,
    ),
    Flag(
        "side_effects",
        "Check-in over threshold",
        "A check-in reported pain over the clinic's side-effect threshold, or severe redness or irritation.",
        _side_effects,
    ),
    Flag(
        "drifting",
        "Drifting later",
        f"Each of the last {DRIFT_APPLICATIONS} at-home applications was done at least "
        f"{int(DRIFT_STEP.total_seconds() // 60)} minutes later after its due time than the one before, "
        f"the latest at least {int(DRIFT_MIN_LATENESS.total_seconds() // 3600)} hour after it: "
        "an early warning before the first miss.",
        _drifting,
    ),
    Flag(
        "notifications",
        "Reminders not reaching",
        "The patient has no phone with reminders turned on, or the push service refuses every one.",
        _notifications,
    ),
    Flag(
        "kit",
        "Next kit not dispatched",
        f"The kit in use has {KIT_LEAD_APPLICATIONS} applications or fewer left and the next kit has "
        "not been recorded as dispatched.",
        _kit,
    ),
    Flag(
        "invite",
        "Invite not redeemed",
        "The patient has not yet set up their account from the clinic's invite.",
        _invite,
    ),
):
    register(_flag)
