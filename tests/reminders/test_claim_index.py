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
    # Expanding IN lists (SQLite's id lists) get a placeholder per value, as when executed.
    state = statement.compile(dialect=conn.dialect).construct_expanded_state(params)
    args = state.positional_parameters if conn.dialect.positional else state.parameters
    explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    return "\n".join(" ".join(map(str, row)) for row in conn.exec_driver_sql(explain + state.statement, args))


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


def index_definitions() -> dict[str, str]:
    """The table's indexes: name -> definition (SQL), as the database keeps them."""
    table = ReminderOccurrence.__tablename__
    if db.engine.dialect.name == "postgresql":
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"
    else:
        query = "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    return dict(db.session.execute(sa.text(query), {"t": table}).all())


def test_the_due_index_holds_only_rows_still_to_send_on_postgresql(push_app, is_postgres):
    definition = index_definitions()[INDEX]
    if is_postgres:
        assert "WHERE" in definition and "'pending'" in definition and "'claimed'" in definition
    else:  # SQLite would not use a partial index for a claim that names one status
        assert "WHERE" not in definition.upper()


def test_no_index_repeats_the_unique_keys_leading_column(push_app):
    assert "ix_reminder_occurrence_planned_application_id" not in index_definitions()


def test_recording_a_batch_finds_its_rows_without_a_scan_of_its_id_list(push_app, clinic, is_postgres):
    """A batch is recorded while other batches are claimed: the fenced write reads the claimed
    rows and keeps those of its own id list. On PostgreSQL the list must reach the planner as
    an integer-array constant, which it hashes; a text literal cast to int[] stays an I/O
    coercion (`::cstring`) and every claimed row was compared with the whole list (33 ms
    instead of 7 per batch of 500 with 2,000 others claimed). SQLite turns an IN list into a
    b-tree of its own; its plan must only not scan the table."""
    _patient, course = make_enrolled_patient(clinic)
    ids = bulk_occurrences([course], 30)
    now = utcnow()
    statement = claims.finish_statements(is_postgres)["finished"]
    params = {"ids": claims.ids_param(ids), "token": now, "status": "sent", "sent_at": now}
    text = plan(statement, params)
    if is_postgres:
        assert "::integer[]" in text and "cstring" not in text, text
    else:
        assert "SEARCH reminder_occurrence" in text and "SCAN reminder_occurrence" not in text, text
    db.session.rollback()
