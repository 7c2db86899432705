"""Counting the SQL statements a piece of work sends (for "a constant number of queries" tests)."""

from __future__ import annotations

import sqlalchemy as sa

from anagen.extensions import db


def statements_of(work) -> list[str]:
    """The statements `work()` sends through the app's engine (savepoints aside), in order."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
            statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        work()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return statements


def count_queries(work) -> int:
    """How many statements `work()` sends."""
    return len(statements_of(work))
