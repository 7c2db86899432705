"""Clinic admins adjust protocol parameters within bounds; staff record in-clinic applications."""

import datetime as dt

import time_machine
from support.factories import make_clinic, make_enrolled_patient, make_staff

from anagen.clock import utcnow


def parameters(body):
    return {p["key"]: p for p in body["protocol"]["parameters"]}


def test_admin_sees_adjustable_parameters_with_bounds(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    params = parameters(api.get("/api/clinic/settings").get_json())
    assert params["massage_seconds"] == {
        "key": "massage_seconds",
        "value": 60,
        "default": 60,
        "min": 30,
        "max": 300,
    }
    assert params["passes_per_area"]["value"] == 4


def test_overrides_within_bounds_apply_to_new_enrolments_only(app_ctx, api, make_api):
    clinic, admin = make_clinic()
    existing, _ = make_enrolled_patient(clinic)
    api.login(admin.email, account="staff")
    response = api.patch(
        "/api/clinic/settings", {"protocol_overrides": {"massage_seconds": 120, "passes_per_area": 6}}
    )
    assert response.status_code == 200, response.get_json()
    assert parameters(response.get_json())["massage_seconds"]["value"] == 120
    newcomer, _ = make_enrolled_patient(clinic)
    old_phone, new_phone = make_api(), make_api()
    old_phone.login(existing.email)
    new_phone.login(newcomer.email)
    assert old_phone.get("/api/me/protocol").get_json()["massage_seconds"] == 60
    proto = new_phone.get("/api/me/protocol").get_json()
    assert proto["massage_seconds"] == 120 and proto["passes_per_area"] == 6
    stamp = next(s for s in proto["steps"] if s["key"] == "stamp")
    assert "6 times" in stamp["text"]


def test_overrides_outside_bounds_or_unknown_are_refused(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    for overrides, field in (
        ({"massage_seconds": 5}, "massage_seconds"),
        ({"min_gap_hours": 24}, "min_gap_hours"),
        ({"applications_total": 10}, "applications_total"),
    ):
        response = api.patch("/api/clinic/settings", {"protocol_overrides": overrides})
        assert response.status_code == 422, overrides
        assert field in response.get_json()["error"]["fields"]
    assert parameters(api.get("/api/clinic/settings").get_json())["massage_seconds"]["value"] == 60


def test_changing_protocol_parameters_needs_a_recent_password(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=20)):
        response = api.patch("/api/clinic/settings", {"protocol_overrides": {"massage_seconds": 90}})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "reauth_required"


def test_clinician_records_the_in_clinic_application(app_ctx, api, make_api):
    clinic, _ = make_clinic()
    clinician = make_staff(clinic)
    patient, _ = make_enrolled_patient(clinic)
    api.login(clinician.email, account="staff")
    response = api.post(
        f"/api/clinic/patients/{patient.id}/applications/1/complete",
        {"completed_at": utcnow().isoformat(), "check_in": {"redness": "mild", "pain": 1}},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "done_on_time"
    phone = make_api()
    phone.login(patient.email)
    assert phone.get("/api/me/today").get_json()["next_application"]["number"] == 2
    again = api.post(
        f"/api/clinic/patients/{patient.id}/applications/1/complete", {"completed_at": utcnow().isoformat()}
    )
    assert again.status_code == 409


def test_clinic_message_reaches_the_patients_today(app_ctx, api, make_api):
    clinic, _ = make_clinic()
    clinician = make_staff(clinic)
    patient, _ = make_enrolled_patient(clinic)
    api.login(clinician.email, account="staff")
    response = api.post(
        f"/api/clinic/patients/{patient.id}/messages", {"text": "  Your crown looks less red - keep going!  "}
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["author"] == clinician.name
    assert api.post(f"/api/clinic/patients/{patient.id}/messages", {"text": "   "}).status_code == 422
    assert [m["text"] for m in api.get(f"/api/clinic/patients/{patient.id}/messages").get_json()] == [
        "Your crown looks less red - keep going!"
    ]
    phone = make_api()
    phone.login(patient.email)
    messages = phone.get("/api/me/today").get_json()["messages"]
    assert [(m["text"], m["author"]) for m in messages] == [
        ("Your crown looks less red - keep going!", clinician.name)
    ]


def test_an_admin_cannot_remove_their_own_admin_access(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    for change in ({"role": "clinician"}, {"active": False}):
        response = api.patch(f"/api/clinic/staff/{admin.id}", change)
        assert response.status_code == 409, change
        assert response.get_json()["error"]["code"] == "own_account"
    response = api.patch(f"/api/clinic/staff/{admin.id}", {"role": "admin", "active": True})
    assert response.status_code == 200
    assert response.get_json() == {
        "id": admin.id,
        "email": admin.email,
        "name": admin.name,
        "role": "admin",
        "active": True,
    }
