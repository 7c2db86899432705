"""Fixtures of the reminder tests: the app with plain-http push allowed, a local push
service (tests/support/pushservice.py, real RFC 8030/8291/8292) and the app's own sender."""

from __future__ import annotations

import pytest

from anagen.reminders.subscriptions import make_sender


@pytest.fixture
def push_app(app):
    """An app context in which the sender and the API accept the local http push service."""
    saved = app.config.get("PUSH_ALLOW_HTTP")
    app.config["PUSH_ALLOW_HTTP"] = True
    try:
        with app.app_context():
            yield app
    finally:
        app.config["PUSH_ALLOW_HTTP"] = saved


@pytest.fixture
def sender(push_app):
    s = make_sender(push_app, timeout=(1.0, 2.0))
    yield s
    s.close()


@pytest.fixture
def clinic(push_app):
    from support.factories import make_clinic

    return make_clinic()[0]
