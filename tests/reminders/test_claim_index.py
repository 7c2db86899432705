"""The claims read the (status, due_at) index; on PostgreSQL it holds only the rows still to
send (pending or claimed), so the dispatcher's write of a sent reminder does not touch it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from support.factories import make_enrolled_patient
from support.reminders import bulk_occurrences

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import ReminderOccurrence
from anagen.reminders import claims

INDEX = "ix_reminder_occurrence_due"


def plan(statement, params: dict) -> str:
    """The database's plan for `statement` (not run), as text."""
    conn = db.session.connection()
    compiled = statement.compile(dialect=conn.dialect)
    values = compiled.construct_params(params)
    args = tuple(values[name] for name in compiled.positiontup) if compiled.positional else values
    explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    return "\n".join(" ".join(map(str, row)) for row in conn.exec_driver_sql(explain + str(compiled), args))


@pytest.mark.parametrize("claim", ["pending", "expired"])
def test_each_claim_can_read_the_due_index(push_app, clinic, is_postgres, claim):
    _patient, course = make_enrolled_patient(clinic)
    bulk_occurrences([course], 30)
    if is_postgres:  # a table this small is cheaper to scan: ask whether the index can serve
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    now = utcnow()
    statement = claims._claim_pending() if claim == "pending" else claims._claim_expired()
    text = plan(statement, {"now": now, "lease_until": now + dt.timedelta(minutes=2), "lim": 10})
    assert INDEX in text, text
    db.session.rollback()


def test_on_postgresql_the_due_index_holds_only_rows_still_to_send(push_app, is_postgres):
    if not is_postgres:
        pytest.skip("SQLite keeps every row in the due index (a claim names one status)")
    definition = db.session.scalar(
        sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": INDEX}
    )
    assert "WHERE" in definition and "'pending'" in definition and "'claimed'" in definition
    # ...and no second index repeats the unique key's leading column
    names = set(
        db.session.scalars(
            sa.text("SELECT indexname FROM pg_indexes WHERE tablename = :t"),
            {"t": ReminderOccurrence.__tablename__},
        )
    )
    assert "ix_reminder_occurrence_planned_application_id" not in names
