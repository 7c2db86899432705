"""The number of SQL statements per request does not grow with the data (SPEC §6)."""

import contextlib
import datetime as dt

import sqlalchemy as sa
from support.factories import make_clinic, make_enrolled_patient

from anagen.clock import utcnow
from anagen.course.courses import record_application
from anagen.extensions import db


@contextlib.contextmanager
def counted():
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def patient_with_history(clinic, done: int):
    start = (utcnow() - dt.timedelta(days=4 * done + 2)).replace(microsecond=0)
    patient, course = make_enrolled_patient(clinic, first_application_at=start)
    for row in course.applications[:done]:
        at = row.due_at + dt.timedelta(minutes=5)
        record_application(course, row.number, completed_at=at, now=at)
    db.session.commit()
    return patient


def statements_for(make_api, email, path):
    phone = make_api()
    phone.login(email)
    phone.get(path)  # warm: the session's first use may touch it
    with counted() as statements:
        assert phone.get(path).status_code == 200
    return len(statements)


def test_today_and_plan_cost_the_same_at_any_point_of_the_course(app_ctx, make_api):
    clinic, _ = make_clinic()
    early = patient_with_history(clinic, 1)
    late = patient_with_history(clinic, 20)
    for path in ("/api/me/today", "/api/me/plan"):
        assert statements_for(make_api, early.email, path) == statements_for(make_api, late.email, path), path


def test_patient_list_costs_the_same_for_any_number_of_patients(app_ctx, make_api):
    clinic, admin = make_clinic()
    staff = make_api()
    staff.login(admin.email, account="staff")
    make_enrolled_patient(clinic)
    with counted() as few:
        staff.get("/api/clinic/patients")
    for _ in range(8):
        make_enrolled_patient(clinic)
    with counted() as many:
        assert len(staff.get("/api/clinic/patients").get_json()) == 9
    assert len(many) == len(few)
