"""A database out of reach: every API route answers 503 with Retry-After in the one error shape,
and the outage is logged once as it starts and once as it ends, not a traceback per request."""

from __future__ import annotations

import contextlib
import logging
import re
import socket

import pytest
import sqlalchemy as sa
from support.factories import make_clinic, make_enrolled_patient

from anagen import create_app
from anagen.api.errors import RETRY_AFTER_SECONDS
from anagen.auth.security import CSRF_HEADER, SESSION_COOKIE
from anagen.clock import utcnow
from anagen.extensions import db

# Answers that involve no database, and are given during an outage as at any time.
NEEDS_NO_DATABASE = {("GET", "/api/push/public-key")}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every API route, with 1 for each id."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule == "/api/openapi.json":
            continue
        path = re.sub(r"<int:\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def _assert_unavailable(response, method: str, path: str) -> None:
    assert response.status_code == 503, (method, path, response.status_code, response.get_data(as_text=True))
    # A rate-limited route's Retry-After is the later of this and its limit's reset (Flask-Limiter).
    assert int(response.headers["Retry-After"]) >= RETRY_AFTER_SECONDS, (method, path)
    assert response.get_json() == {
        "error": {
            "code": "unavailable",
            "message": "The service is briefly unavailable. Please try again in a moment; "
            "nothing was changed.",
            "fields": {},
        }
    }, (method, path)


def _problems(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_every_api_route_answers_503_when_the_database_cannot_be_reached(instance_dir, caplog):
    """A PostgreSQL URL on a port nothing listens on: the connection is refused."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/anagen",
            "INSTANCE_PATH": str(instance_dir),
            "SECRET_KEY": "outage",
        }
    )
    client = app.test_client()
    # A session cookie makes every route look its session up in the database first.
    client.set_cookie(SESSION_COOKIE, "a-session-token")
    routes = _api_routes(app)
    assert len(routes) >= 25
    caplog.clear()
    answered = set()
    for method, path in routes:
        response = client.open(path, method=method, json={}, headers={CSRF_HEADER: "x"})
        if (method, path) in NEEDS_NO_DATABASE:
            assert response.status_code == 200, (method, path)
            answered.add((method, path))
        else:
            _assert_unavailable(response, method, path)
    assert answered == NEEDS_NO_DATABASE
    # Signed out too: signing in needs the database.
    anonymous = app.test_client()
    csrf = anonymous.get("/api/auth/session").get_json()["csrf_token"]
    response = anonymous.post(
        "/api/auth/login", json={"email": "a@b.example", "password": "x"}, headers={CSRF_HEADER: csrf}
    )
    _assert_unavailable(response, "POST", "/api/auth/login")
    problems = _problems(caplog)
    assert len(problems) == 1, [r.getMessage() for r in problems]
    assert problems[0].levelno == logging.ERROR and not problems[0].exc_info
    assert problems[0].getMessage().startswith("database unavailable, answering 503 until it is back: ")
    assert "\n" not in problems[0].getMessage()
    assert "Connection refused" in problems[0].getMessage()
    with app.app_context():
        db.engine.dispose()


@contextlib.contextmanager
def _database_down(app):
    """Every new connection to the suite's database fails as when its server is stopped."""
    with app.app_context():
        engine = db.engine

    def refuse(dialect, connection_record, cargs, cparams):
        raise dialect.loaded_dbapi.OperationalError("connection refused: the server is not running")

    engine.dispose()  # pooled connections went with the server
    sa.event.listen(engine, "do_connect", refuse)
    try:
        yield
    finally:
        sa.event.remove(engine, "do_connect", refuse)


def test_an_outage_logs_one_line_and_the_recovery_one_more(app, make_api, caplog):
    with app.app_context():
        clinic, admin = make_clinic()
        patient, _ = make_enrolled_patient(clinic)
        patient_id, patient_email, admin_email = patient.id, patient.email, admin.email
    patient_app, staff_app = make_api(), make_api()
    patient_app.login(patient_email)
    staff_app.login(admin_email, account="staff")
    patient_app.refresh_csrf()
    staff_app.refresh_csrf()
    requests = [
        (patient_app, "GET", "/api/me/today", None),
        (patient_app, "POST", "/api/me/applications/1/complete", {"completed_at": utcnow().isoformat()}),
        (patient_app, "PATCH", "/api/me/settings", {"reminder_time": "19:00"}),
        (staff_app, "GET", f"/api/clinic/patients/{patient_id}", None),
        (staff_app, "POST", f"/api/clinic/patients/{patient_id}/messages", {"text": "Hello"}),
        (staff_app, "GET", "/api/clinic/audit-events", None),
    ]
    caplog.set_level(logging.INFO, logger="anagen")
    caplog.clear()
    with _database_down(app):
        for _ in range(3):
            for browser, method, path, body in requests:
                headers = {"Idempotency-Key": "outage"} if path.endswith("/complete") else None
                response = browser.request(method, path, json=body, headers=headers)
                _assert_unavailable(response, method, path)
        problems = _problems(caplog)
        assert [r.getMessage() for r in problems] == [
            "database unavailable, answering 503 until it is back: "
            "OperationalError: connection refused: the server is not running"
        ]
        assert not problems[0].exc_info
    caplog.clear()
    for _ in range(3):
        assert patient_app.get("/api/me/today").status_code == 200
        assert staff_app.get(f"/api/clinic/patients/{patient_id}").status_code == 200
    assert [(r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("anagen")] == [
        ("WARNING", "database is back")
    ]
    # Nothing was half-done during the outage: the message was not stored.
    assert staff_app.get(f"/api/clinic/patients/{patient_id}/messages").get_json() == []


def test_a_second_outage_is_logged_again(app, make_api, caplog):
    with app.app_context():
        clinic, _ = make_clinic()
        patient, _ = make_enrolled_patient(clinic)
        email = patient.email
    browser = make_api()
    browser.login(email)
    caplog.clear()
    for _ in range(2):
        with _database_down(app):
            _assert_unavailable(browser.get("/api/me/today"), "GET", "/api/me/today")
            _assert_unavailable(browser.get("/api/me/plan"), "GET", "/api/me/plan")
        assert browser.get("/api/me/today").status_code == 200
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("anagen")]
    assert [m.split(",")[0] for m in messages] == ["database unavailable", "database is back"] * 2


@pytest.mark.parametrize("path", ["/healthz"])
def test_healthz_keeps_its_own_answer_during_an_outage(app, client, path):
    with _database_down(app):
        response = client.get(path)
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_only_an_unreachable_database_is_an_outage(database_url, instance_dir, caplog):
    """A cancelled statement or a deadlock stays an unexpected error (500, logged in full); a lost
    connection, or no free pooled connection in time, is an outage like a refused connection."""
    from flask import Blueprint

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(instance_dir)})
    bp = Blueprint("database_errors", __name__)

    @bp.get("/api/test-cancelled")
    def cancelled():
        raise sa.exc.OperationalError("SELECT pg_sleep(60)", {}, Exception("canceling statement"))

    @bp.get("/api/test-connection-lost")
    def connection_lost():
        lost = Exception("server closed the connection unexpectedly")
        raise sa.exc.OperationalError("SELECT 1", {}, lost, connection_invalidated=True)

    @bp.get("/api/test-pool-timeout")
    def pool_timeout():
        raise sa.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached")

    app.register_blueprint(bp)
    client = app.test_client()
    response = client.get("/api/test-cancelled")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    assert any(r.exc_info and "canceling statement" in str(r.exc_info[1]) for r in caplog.records)
    caplog.clear()
    _assert_unavailable(client.get("/api/test-connection-lost"), "GET", "/api/test-connection-lost")
    _assert_unavailable(client.get("/api/test-pool-timeout"), "GET", "/api/test-pool-timeout")
    # One outage (no connection was made in between), one line.
    assert [r.getMessage() for r in _problems(caplog)] == [
        "database unavailable, answering 503 until it is back: "
        "Exception: server closed the connection unexpectedly"
    ]
    with app.app_context():
        db.engine.dispose()
