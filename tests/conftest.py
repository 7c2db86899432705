"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL when
ANAGEN_TEST_DATABASE holds a postgresql:// URL (make test does both when
TEST_DATABASE_URL is set). Each run gets its own fresh database, built by the migrations."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from anagen import create_app
from anagen.auth import passwords
from anagen.config import normalise_database_url
from anagen.extensions import db

# Argon2 at production cost makes every sign-in in the suite take ~100 ms; the
# algorithm and code path are the same with cheap parameters.
passwords._hasher = passwords.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
passwords._DUMMY_HASH = passwords._hasher.hash("timing-dummy")


def _server_url(url: str, database: str) -> str:
    return (
        sa.engine.make_url(normalise_database_url(url))
        .set(database=database)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A fresh, empty database for this test run; dropped afterwards on PostgreSQL."""
    target = os.environ.get("ANAGEN_TEST_DATABASE", "sqlite")
    if target == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'anagen-test.sqlite3'}"
        return
    name = f"anagen_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_server_url(target, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield _server_url(target, name)
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def app(database_url, instance_dir):
    """One app for the session, its schema built by running the real migrations."""
    from flask_migrate import upgrade

    from anagen.course.protocols import ensure_builtin_protocols

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(instance_dir),
            "SECRET_KEY": "test-secret-key-not-for-production",
            "PUBLIC_BASE_URL": "http://localhost",
        }
    )
    with app.app_context():
        upgrade()
        ensure_builtin_protocols()
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


# Rows every test may rely on (the shipped protocol) survive the per-test wipe.
_KEEP = {"alembic_version", "protocol_version"}


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Every test starts from an empty database (but for the shipped protocol)."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from anagen.extensions import limiter

    limiter.reset()
    with app.app_context():
        db.session.rollback()
        # A browser test's server thread may still be finishing a request the closed page sent;
        # TRUNCATE then meets its row locks and PostgreSQL may pick the wipe as a deadlock's
        # victim. The request ends in milliseconds: wipe again.
        for attempt in range(5):
            try:
                _wipe(db.engine)
                break
            except sa.exc.OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))


def _wipe(engine) -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in _KEEP]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
        conn.execute(
            sa.delete(db.metadata.tables["protocol_version"]).where(
                db.metadata.tables["protocol_version"].c.clinic_id.is_not(None)
            )
        )


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class ApiClient:
    """The Flask test client as the PWA uses the API: JSON, with the CSRF header."""

    def __init__(self, client):
        self.client = client
        self.csrf = None

    def refresh_csrf(self) -> str:
        self.csrf = self.client.get("/api/auth/session").get_json()["csrf_token"]
        return self.csrf

    def request(self, method: str, path: str, json=None, headers=None, csrf: bool = True, **kw):
        headers = dict(headers or {})
        if csrf and method.upper() in {"POST", "PUT", "PATCH", "DELETE"}:
            headers.setdefault("X-CSRF-Token", self.csrf or self.refresh_csrf())
        response = self.client.open(path, method=method, json=json, headers=headers, **kw)
        body = response.get_json(silent=True)
        if isinstance(body, dict) and "csrf_token" in body:
            self.csrf = body["csrf_token"]
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path, json=None, **kw):
        return self.request("DELETE", path, json=json, **kw)

    def login(self, email: str, password: str | None = None, account: str = "patient"):
        from support.factories import PASSWORD

        response = self.post(
            "/api/auth/login", {"email": email, "password": password or PASSWORD, "account": account}
        )
        assert response.status_code == 200, response.get_json()
        return response


@pytest.fixture
def api(app):
    return ApiClient(app.test_client())


@pytest.fixture
def make_api(app):
    """Several independent browsers/devices."""
    return lambda: ApiClient(app.test_client())


@pytest.fixture
def push_service():
    """A local RFC 8030 push service (tests/support/pushservice.py) on a free loopback port."""
    from support.pushservice import PushService

    service = PushService.start()
    yield service
    service.stop()
