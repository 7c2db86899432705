"""/healthz, the generated OpenAPI document and the one JSON error shape."""

import sqlalchemy as sa


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    # The dispatcher's part of the answer is tested in tests/reminders/test_heartbeat.py.
    assert response.get_json()["database"] == "ok"


def test_healthz_reports_an_unreachable_database(client, app, monkeypatch):
    from anagen.extensions import db

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", broken)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_openapi_document_is_generated(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "Anagen API"
    error = doc["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]


def test_unknown_api_route_is_a_json_404(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    body = response.get_json()
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == "not_found"


def test_wrong_method_is_a_json_405_with_allow(client):
    response = client.delete("/api/openapi.json")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_unexpected_error_is_a_json_500_without_details(database_url, instance_dir, caplog):
    from flask import Blueprint

    from anagen import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(instance_dir)})
    bp = Blueprint("boom", __name__)

    @bp.get("/api/test-boom")
    def boom():
        raise RuntimeError("secret internal detail")

    app.register_blueprint(bp)
    response = app.test_client().get("/api/test-boom")
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["code"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)
    assert any(r.exc_info and "secret internal detail" in str(r.exc_info[1]) for r in caplog.records)


def test_the_error_family_answers_with_its_fields_and_other_value_errors_are_a_500(
    database_url, instance_dir
):
    from flask import Blueprint

    from anagen import create_app
    from anagen.protocol import ScheduleError

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(instance_dir)})
    bp = Blueprint("value_errors", __name__)

    @bp.get("/api/test-schedule-error")
    def schedule_error():
        raise ScheduleError("Choose a time zone.", {"time_zone": "is not a known time zone"})

    @bp.get("/api/test-value-error")
    def value_error():
        error = ValueError("a programming mistake")
        error.fields = {"looks": "like a field"}
        raise error

    app.register_blueprint(bp)
    client = app.test_client()
    response = client.get("/api/test-schedule-error")
    assert (response.status_code, response.get_json()) == (
        422,
        {
            "error": {
                "code": "invalid_input",
                "message": "Choose a time zone.",
                "fields": {"time_zone": "is not a known time zone"},
            }
        },
    )
    response = client.get("/api/test-value-error")
    assert response.status_code == 500
    assert response.get_json()["error"] == {
        "code": "internal_error",
        "message": "Something went wrong on our side. Please try again; nothing was changed.",
        "fields": {},
    }
