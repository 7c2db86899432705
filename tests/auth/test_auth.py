"""Sign-in, revocable sessions, timeouts, CSRF, rate limits and re-authentication."""

import datetime as dt

import time_machine
from support.factories import PASSWORD, make_clinic, make_enrolled_patient, make_staff

from anagen.extensions import db
from anagen.models import AuditEvent


def audit_events(app, event):
    with app.app_context():
        return db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == event)).all()


def test_staff_and_patient_sign_in(app_ctx, api, make_api):
    clinic, admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    body = api.login(admin.email, account="staff").get_json()
    assert body["authenticated"] is True
    assert body["account"] == {
        "type": "staff",
        "id": admin.id,
        "name": admin.name,
        "role": "admin",
        "clinic": {"id": clinic.id, "name": clinic.name},
    }
    other = make_api()
    body = other.login(patient.email).get_json()
    assert body["account"]["role"] == "patient"
    assert other.get("/api/auth/session").get_json()["authenticated"] is True


def test_the_session_says_how_long_it_lives_without_a_request(app, app_ctx, api, make_api):
    """The staff workspace warns before the idle timeout from this figure."""
    clinic, admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    assert api.get("/api/auth/session").get_json()["idle_timeout_seconds"] is None
    staff = api.login(admin.email, account="staff").get_json()
    assert staff["idle_timeout_seconds"] == app.config["STAFF_IDLE_MINUTES"] * 60
    assert api.get("/api/auth/session").get_json()["idle_timeout_seconds"] == staff["idle_timeout_seconds"]
    other = make_api()
    body = other.login(patient.email).get_json()
    assert body["idle_timeout_seconds"] == app.config["PATIENT_IDLE_DAYS"] * 86400


def test_session_cookie_flags(app_ctx, api):
    clinic, admin = make_clinic()
    response = api.login(admin.email, account="staff")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("anagen_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_unknown_account_and_wrong_password_answer_the_same(app_ctx, api):
    clinic, admin = make_clinic()
    wrong = api.post(
        "/api/auth/login", {"email": admin.email, "password": "not the password", "account": "staff"}
    )
    unknown = api.post(
        "/api/auth/login", {"email": "nobody@x.example", "password": "whatever1234", "account": "staff"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"


def test_failed_and_successful_sign_ins_are_audited(app, app_ctx, api):
    clinic, admin = make_clinic()
    api.post("/api/auth/login", {"email": admin.email, "password": "nope-nope-nope", "account": "staff"})
    api.login(admin.email, account="staff")
    assert len(audit_events(app, "sign_in_failed")) == 1
    assert [e.actor_id for e in audit_events(app, "sign_in")] == [admin.id]


def test_logout_really_ends_the_session(app_ctx, api, make_api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    stolen = api.client.get_cookie("anagen_session").value
    assert api.post("/api/auth/logout").status_code == 204
    attacker = make_api()
    attacker.client.set_cookie("anagen_session", stolen)
    assert attacker.get("/api/clinic/patients").status_code == 401
    assert api.get("/api/clinic/patients").status_code == 401


def test_password_change_ends_other_sessions(app_ctx, make_api):
    clinic, _ = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    phone, laptop = make_api(), make_api()
    phone.login(patient.email)
    laptop.login(patient.email)
    response = phone.post(
        "/api/auth/password", {"current_password": PASSWORD, "new_password": "a brand new secret"}
    )
    assert response.status_code == 200
    assert phone.get("/api/me/today").status_code == 200
    assert laptop.get("/api/me/today").status_code == 401
    fresh = make_api()
    assert fresh.post("/api/auth/login", {"email": patient.email, "password": PASSWORD}).status_code == 401
    fresh.login(patient.email, "a brand new secret")


def test_password_change_needs_the_current_password(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    response = api.post(
        "/api/auth/password", {"current_password": "wrong-one-here", "new_password": "x" * 12}
    )
    assert response.status_code == 422
    assert "current_password" in response.get_json()["error"]["fields"]


def test_new_session_id_at_login(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    first = api.client.get_cookie("anagen_session").value
    api.login(admin.email, account="staff")
    assert api.client.get_cookie("anagen_session").value != first


def test_staff_idle_timeout_is_shorter_than_patients(app_ctx, make_api):
    clinic, admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    staff, pat = make_api(), make_api()
    staff.login(admin.email, account="staff")
    pat.login(patient.email)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=45)):
        assert staff.get("/api/clinic/patients").status_code == 401
        assert pat.get("/api/me/today").status_code == 200


def test_absolute_timeout_applies_even_when_active(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    start = dt.datetime.now(dt.UTC)
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + dt.timedelta(minutes=minutes)):
            assert api.get("/api/clinic/patients").status_code == 200
    with time_machine.travel(start + dt.timedelta(hours=12, minutes=5)):
        assert api.get("/api/clinic/patients").status_code == 401


def test_state_change_without_csrf_token_is_refused(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    response = api.post("/api/clinic/patients/1/invites", csrf=False)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf_failed"
    response = api.post("/api/auth/logout", headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403
    assert api.get("/api/clinic/patients").status_code == 200  # still signed in


def test_login_itself_needs_the_csrf_token(app_ctx, api):
    clinic, admin = make_clinic()
    response = api.post(
        "/api/auth/login", {"email": admin.email, "password": PASSWORD, "account": "staff"}, csrf=False
    )
    assert response.status_code == 403


def test_login_is_rate_limited_per_account(app_ctx, make_api):
    clinic, admin = make_clinic()
    for _ in range(5):
        client = make_api()  # new "device" each time; the limit follows the account
        assert (
            client.post(
                "/api/auth/login", {"email": admin.email, "password": "bad-password", "account": "staff"}
            ).status_code
            == 401
        )
    response = make_api().post(
        "/api/auth/login", {"email": admin.email, "password": PASSWORD, "account": "staff"}
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "too_many_requests"


def test_login_is_rate_limited_per_address(app_ctx, api):
    make_clinic()
    codes = [
        api.post(
            "/api/auth/login", {"email": f"user{i}@x.example", "password": "bad-password", "account": "staff"}
        ).status_code
        for i in range(21)
    ]
    assert codes[:20] == [401] * 20
    assert codes[20] == 429


def test_sensitive_change_asks_for_the_password_again(app_ctx, api):
    clinic, admin = make_clinic()
    clinician = make_staff(clinic)
    api.login(admin.email, account="staff")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15)):
        response = api.patch(f"/api/clinic/staff/{clinician.id}", {"role": "admin"})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "reauth_required"
        assert api.post("/api/auth/reauth", {"password": "wrong-password"}).status_code == 401
        assert api.post("/api/auth/reauth", {"password": PASSWORD}).status_code == 204
        response = api.patch(f"/api/clinic/staff/{clinician.id}", {"role": "admin"})
        assert response.status_code == 200
        assert response.get_json()["role"] == "admin"


def test_role_change_is_audited_and_deactivation_ends_sessions(app, app_ctx, api, make_api):
    clinic, admin = make_clinic()
    clinician = make_staff(clinic)
    their_device = make_api()
    their_device.login(clinician.email, account="staff")
    api.login(admin.email, account="staff")
    assert api.patch(f"/api/clinic/staff/{clinician.id}", {"role": "admin"}).status_code == 200
    event = audit_events(app, "role_changed")[0]
    assert event.detail == {"old_role": "clinician", "new_role": "admin"}
    assert api.patch(f"/api/clinic/staff/{clinician.id}", {"active": False}).status_code == 200
    assert their_device.get("/api/clinic/patients").status_code == 401


def test_admin_manages_staff_but_clinician_cannot(app_ctx, api, make_api):
    clinic, admin = make_clinic()
    clinician = make_staff(clinic)
    api.login(admin.email, account="staff")
    response = api.post(
        "/api/clinic/staff",
        {
            "email": "new@clinic.example",
            "name": "New Nurse",
            "role": "clinician",
            "password": "long enough pw",
        },
    )
    assert response.status_code == 201
    assert {s["email"] for s in api.get("/api/clinic/staff").get_json()} >= {
        "new@clinic.example",
        clinician.email,
    }
    other = make_api()
    other.login(clinician.email, account="staff")
    assert other.get("/api/clinic/staff").status_code == 403
    assert other.get("/api/clinic/audit-events").status_code == 403


def test_admin_cannot_remove_own_admin_role(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    response = api.patch(f"/api/clinic/staff/{admin.id}", {"role": "clinician"})
    assert response.status_code == 409


def test_admin_lists_own_clinic_audit_events_only(app_ctx, make_api):
    clinic_x, admin_x = make_clinic()
    clinic_y, admin_y = make_clinic()
    x, y = make_api(), make_api()
    x.login(admin_x.email, account="staff")
    y.login(admin_y.email, account="staff")
    events_x = x.get("/api/clinic/audit-events").get_json()
    assert events_x and all(e["actor_id"] == admin_x.id for e in events_x if e["actor_type"] == "staff")
    assert admin_x.id not in {e["actor_id"] for e in y.get("/api/clinic/audit-events").get_json()}


def test_the_audit_log_filters_by_event_actor_and_record_in_the_clinic_only(app_ctx, make_api):
    clinic_x, admin_x = make_clinic()
    clinic_y, admin_y = make_clinic()
    patient, _ = make_enrolled_patient(clinic_x)
    clinician = make_staff(clinic_x)
    x, c, y = make_api(), make_api(), make_api()
    x.login(admin_x.email, account="staff")
    c.login(clinician.email, account="staff")
    y.login(admin_y.email, account="staff")
    assert (
        c.post(f"/api/clinic/patients/{patient.id}/messages", {"text": "See you Thursday"}).status_code == 201
    )

    def events(client, **query):
        response = client.get("/api/clinic/audit-events", query_string=query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    sent = events(x, event="message_sent")
    assert [(e["actor_id"], e["target_id"]) for e in sent] == [(clinician.id, patient.id)]
    assert {e["event"] for e in events(x, actor=f"staff:{clinician.id}")} == {
        "sign_in",
        "message_sent",
    }
    assert [e["event"] for e in events(x, target=f"patient:{patient.id}")] == ["message_sent"]
    assert events(x, target="patient") == sent
    assert events(y, event="message_sent") == []  # another clinic's log has none of it
    kinds = x.get("/api/clinic/audit-events/kinds").get_json()["events"]
    assert {"sign_in", "message_sent"} <= set(kinds) and kinds == sorted(kinds)
    assert "message_sent" not in y.get("/api/clinic/audit-events/kinds").get_json()["events"]
    refused = x.get("/api/clinic/audit-events", query_string={"actor": "staff:twelve"})
    assert refused.status_code == 422 and "actor" in refused.get_json()["error"]["fields"]
