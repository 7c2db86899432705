"""Enrolment by clinic staff and the patient's invite, end to end through the API."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from support.clock import local, on_or_before
from support.factories import PASSWORD, make_clinic, make_enrolled_patient, make_staff

from anagen.extensions import db
from anagen.models import Course, Invite, Patient, ReminderOccurrence
from anagen.reminders import occurrences as reminders


def first_visit() -> dt.datetime:
    """The in-clinic first application: next Thursday (a week ahead at most), 10:30 in London."""
    today = dt.datetime.now(dt.UTC).date()
    return local(on_or_before(today + dt.timedelta(days=7), 3), dt.time(10, 30), "Europe/London")


def z(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def enrol_body(**overrides):
    body = {
        "first_name": "Nia",
        "last_name": "Reed",
        "email": "nia@mail.example",
        "indication": "telogen_effluvium",
        "advanced_traction_alopecia": False,
        "miniaturisation_seen": True,
        "target_areas": ["crown", "frontal_hairline"],
        "first_application_at": first_visit().isoformat(),
        "reminder_weekdays": [1, 4],
        "reminder_time": "19:30",
        "time_zone": "Europe/London",
        "kit_batch_numbers": ["CAL-2026-0042"],
    }
    body.update(overrides)
    return body


def count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_clinician_enrols_a_patient_and_gets_an_invite(app_ctx, api):
    clinic, _ = make_clinic()
    clinician = make_staff(clinic)
    api.login(clinician.email, account="staff")
    response = api.post("/api/clinic/patients", enrol_body())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["patient"]["email"] == "nia@mail.example"
    assert body["patient"]["account_active"] is False
    assert body["invite"]["link"].startswith("http://localhost/#/invite/")
    assert body["invite"]["qr_svg"].startswith("<svg")
    assert body["invite"]["qr_png"].startswith("data:image/png;base64,")
    detail = api.get(f"/api/clinic/patients/{body['patient']['id']}").get_json()
    apps = detail["plan"]["applications"]
    assert len(apps) == 24
    first = first_visit()
    assert apps[0]["due_at"] == z(first) and apps[0]["in_clinic"]
    # Tuesdays and Fridays at 19:30 London time: the Tuesday after (the Saturday is too soon for
    # the 48-hour gap and not a chosen day), then that Friday.
    tuesday = first.date() + dt.timedelta(days=5)
    assert apps[1]["due_at"] == z(local(tuesday, dt.time(19, 30), "Europe/London"))
    assert apps[2]["due_at"] == z(local(tuesday + dt.timedelta(days=3), dt.time(19, 30), "Europe/London"))


def test_advanced_traction_alopecia_blocks_enrolment(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    response = api.post("/api/clinic/patients", enrol_body(advanced_traction_alopecia=True))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "not_suitable"
    assert "traction alopecia" in error["message"]
    assert count(Patient) == 0


def test_impossible_weekdays_bad_zone_and_bad_types_change_nothing(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    cases = [
        (enrol_body(reminder_weekdays=[0, 1]), "weekdays"),
        (enrol_body(time_zone="Mars/Olympus"), "time_zone"),
        (
            enrol_body(first_application_at=first_visit().replace(tzinfo=None).isoformat()),
            "first_application_at",
        ),
        (enrol_body(reminder_weekdays="mon"), "reminder_weekdays"),
        (enrol_body(target_areas=["elbow"]), "target_areas.0"),
        (enrol_body(first_name="x" * 101), "first_name"),
        (enrol_body(unexpected="field"), "unexpected"),
        ({k: v for k, v in enrol_body().items() if k != "email"}, "email"),
        (enrol_body(advanced_traction_alopecia="no"), "advanced_traction_alopecia"),
    ]
    for body, field in cases:
        response = api.post("/api/clinic/patients", body)
        assert response.status_code == 422, (field, response.get_json())
        error = response.get_json()["error"]
        assert set(error) == {"code", "message", "fields"}
        assert any(field in name for name in error["fields"]), (field, error)
    assert count(Patient) == 0


def test_malformed_json_is_a_clear_400(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    response = api.post("/api/clinic/patients", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert set(response.get_json()["error"]) == {"code", "message", "fields"}
    assert count(Patient) == 0


def test_duplicate_email_is_a_conflict(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    assert api.post("/api/clinic/patients", enrol_body()).status_code == 201
    response = api.post("/api/clinic/patients", enrol_body())
    assert response.status_code == 409
    assert count(Patient) == 1


def invite_token(link: str) -> str:
    return link.rsplit("/", 1)[1]


def test_patient_redeems_invite_and_is_signed_in(app, app_ctx, api, make_api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    token = invite_token(api.post("/api/clinic/patients", enrol_body()).get_json()["invite"]["link"])
    phone = make_api()
    info = phone.post("/api/invites/lookup", {"token": token}).get_json()
    assert info["first_name"] == "Nia" and info["clinic_name"] == clinic.name
    response = phone.post(
        "/api/invites/redeem", {"token": token, "password": "my own password", "photo_consent": True}
    )
    assert response.status_code == 200
    assert response.get_json()["account"]["role"] == "patient"
    assert phone.get("/api/me/today").status_code == 200
    patient = db.session.scalar(db.select(Patient))
    db.session.refresh(patient)
    assert patient.photo_consent_at is not None
    again = make_api().post(
        "/api/invites/redeem", {"token": token, "password": "another password", "photo_consent": False}
    )
    assert again.status_code == 410
    assert again.get_json()["error"]["code"] == "invite_used"
    make_api().login("nia@mail.example", "my own password")


def test_invite_is_stored_hashed(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    token = invite_token(api.post("/api/clinic/patients", enrol_body()).get_json()["invite"]["link"])
    stored = db.session.scalar(db.select(Invite.token_hash))
    assert token not in stored and len(stored) == 64


def test_expired_and_unknown_invites_get_clear_messages(app_ctx, api, make_api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    token = invite_token(api.post("/api/clinic/patients", enrol_body()).get_json()["invite"]["link"])
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=8)):
        response = make_api().post("/api/invites/lookup", {"token": token})
        assert response.status_code == 410
        assert response.get_json()["error"]["code"] == "invite_expired"
    response = make_api().post("/api/invites/lookup", {"token": "no-such-token"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "invite_not_found"


def test_new_invite_replaces_the_old_one_and_resets_the_password(app_ctx, api, make_api):
    clinic, admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    old_device = make_api()
    old_device.login(patient.email)
    api.login(admin.email, account="staff")
    first = invite_token(api.post(f"/api/clinic/patients/{patient.id}/invites").get_json()["link"])
    second = invite_token(api.post(f"/api/clinic/patients/{patient.id}/invites").get_json()["link"])
    assert make_api().post("/api/invites/lookup", {"token": first}).status_code == 410
    phone = make_api()
    assert (
        phone.post(
            "/api/invites/redeem", {"token": second, "password": "reset password!", "photo_consent": True}
        ).status_code
        == 200
    )
    assert old_device.get("/api/me/today").status_code == 401
    assert (
        make_api().post("/api/auth/login", {"email": patient.email, "password": PASSWORD}).status_code == 401
    )


def test_short_password_refused_at_redeem(app_ctx, api, make_api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    token = invite_token(api.post("/api/clinic/patients", enrol_body()).get_json()["invite"]["link"])
    response = make_api().post(
        "/api/invites/redeem", {"token": token, "password": "short", "photo_consent": True}
    )
    assert response.status_code == 422
    assert "password" in response.get_json()["error"]["fields"]
    assert make_api().post("/api/invites/lookup", {"token": token}).status_code == 200


def test_staff_see_only_their_clinic_patients(app_ctx, make_api):
    clinic_x, admin_x = make_clinic()
    clinic_y, admin_y = make_clinic()
    px, _ = make_enrolled_patient(clinic_x)
    py, _ = make_enrolled_patient(clinic_y)
    x = make_api()
    x.login(admin_x.email, account="staff")
    assert [p["id"] for p in x.get("/api/clinic/patients").get_json()] == [px.id]
    assert x.get(f"/api/clinic/patients/{py.id}").status_code == 404
    assert x.post(f"/api/clinic/patients/{py.id}/invites").status_code == 404


def test_invite_ttl_days_sets_how_long_an_invite_works(app_ctx, api, make_api, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "INVITE_TTL_DAYS", 2)
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    body = api.post("/api/clinic/patients", enrol_body()).get_json()
    token = invite_token(body["invite"]["link"])
    now = dt.datetime.now(dt.UTC)
    with time_machine.travel(now + dt.timedelta(days=1, hours=23)):
        assert make_api().post("/api/invites/lookup", {"token": token}).status_code == 200
    with time_machine.travel(now + dt.timedelta(days=2, hours=1)):
        response = make_api().post("/api/invites/lookup", {"token": token})
        assert response.status_code == 410
        assert response.get_json()["error"]["code"] == "invite_expired"


# Privacy of the clinic list: an email used at another clinic gets the one generic answer,
# only once every other field is good, audited in the asking clinic's log and limited.


def test_another_clinics_patient_gets_the_generic_answer(app_ctx, api):
    clinic, admin = make_clinic()
    elsewhere, _ = make_clinic()
    theirs, _ = make_enrolled_patient(elsewhere)
    api.login(admin.email, account="staff")
    response = api.post("/api/clinic/patients", enrol_body(email=theirs.email))
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "email_unavailable"
    assert error["fields"] == {"email": "Can't be used"}
    assert "enrolled" not in error["message"]
    assert error["message"].startswith("This email can't be used for a new patient.")
    assert count(Patient) == 1


def test_the_clinics_own_patient_is_named_as_such(app_ctx, api):
    clinic, admin = make_clinic()
    ours, _ = make_enrolled_patient(clinic)
    api.login(admin.email, account="staff")
    response = api.post("/api/clinic/patients", enrol_body(email=ours.email))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "email_in_use"


def test_every_other_field_is_checked_before_the_email(app_ctx, api):
    clinic, admin = make_clinic()
    elsewhere, _ = make_clinic()
    theirs, _ = make_enrolled_patient(elsewhere)
    api.login(admin.email, account="staff")
    for overrides, status in (
        ({"protocol_version_id": 999_999}, 404),
        ({"time_zone": "Mars/Olympus_Mons"}, 422),
        ({"target_areas": []}, 422),
        ({"advanced_traction_alopecia": True}, 422),
    ):
        response = api.post("/api/clinic/patients", enrol_body(email=theirs.email, **overrides))
        assert response.status_code == status, (overrides, response.get_json())


def test_refused_emails_are_audited_and_limited(app_ctx, api, make_api):
    clinic, admin = make_clinic()
    elsewhere, other_admin = make_clinic()
    theirs = [make_enrolled_patient(elsewhere)[0] for _ in range(10)]
    api.login(admin.email, account="staff")
    for patient in theirs:
        assert api.post("/api/clinic/patients", enrol_body(email=patient.email)).status_code == 409
    # Spent: even a fresh address waits now, so the answer tells nothing about it.
    response = api.post("/api/clinic/patients", enrol_body(email="fresh@mail.example"))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert count(Patient) == 10
    events = [e for e in api.get("/api/clinic/audit-events").get_json() if e["event"] == "email_refused"]
    assert len(events) == 10
    assert {(e["actor_id"], e["detail"]["reason"], e["detail"]["view"]) for e in events} == {
        (admin.id, "email_unavailable", "enrol")
    }
    assert all("@" not in str(e["detail"]) for e in events)
    # Another clinic's staff are not held back by this clinic's refusals.
    other = make_api()
    other.login(other_admin.email, account="staff")
    assert other.post("/api/clinic/patients", enrol_body(email="fresh@mail.example")).status_code == 201


def test_accepted_enrolments_do_not_count_towards_the_limit(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    for i in range(12):
        body = enrol_body(email=f"new{i}@mail.example")
        assert api.post("/api/clinic/patients", body).status_code == 201


def test_another_clinics_staff_email_gets_the_generic_answer(app_ctx, api):
    clinic, admin = make_clinic()
    _elsewhere, other_admin = make_clinic()
    api.login(admin.email, account="staff")
    body = {"email": other_admin.email, "name": "New Nurse", "role": "clinician", "password": PASSWORD}
    response = api.post("/api/clinic/staff", body)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "email_unavailable"
    assert "exists" not in error["message"]
    assert error["message"].startswith("This email can't be used for a new staff account.")
    events = [e for e in api.get("/api/clinic/audit-events").get_json() if e["event"] == "email_refused"]
    assert [(e["detail"]["reason"], e["detail"]["view"]) for e in events] == [
        ("email_unavailable", "add_staff")
    ]


def test_refused_weekdays_are_reported_under_the_field_sent(app_ctx, api):
    """The form shows the advice beside the field it sent: `reminder_weekdays`, not the engine's name."""
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    for days in ([0, 1], [0, 3, 5], [2, 2], [4]):
        response = api.post("/api/clinic/patients", enrol_body(reminder_weekdays=days))
        assert response.status_code == 422, (days, response.get_json())
        fields = response.get_json()["error"]["fields"]
        assert set(fields) == {"reminder_weekdays"}, (days, fields)
        assert "days apart" in fields["reminder_weekdays"]
    assert count(Patient) == 0


def test_a_new_patient_starts_with_quiet_hours_that_keep_the_follow_up_out_of_the_night(
    app_ctx, api, make_api
):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    response = api.post("/api/clinic/patients", enrol_body(reminder_time="20:00"))
    assert response.status_code == 201, response.get_json()
    token = invite_token(response.get_json()["invite"]["link"])
    phone = make_api()
    assert (
        phone.post(
            "/api/invites/redeem", {"token": token, "password": "my own password", "photo_consent": True}
        ).status_code
        == 200
    )
    settings = phone.get("/api/me/settings").get_json()
    assert settings["quiet_hours"] == {"start": "21:30", "end": "08:00"}
    assert settings["reminder_time"] == "20:00"
    # The default reminder is outside the quiet hours; its follow-up (four hours later, at
    # midnight) waits for the morning.
    patient = db.session.scalar(db.select(Patient))
    course = db.session.scalar(db.select(Course))
    reminders.materialise_course(course)
    db.session.commit()
    zone = ZoneInfo("Europe/London")
    row = next(a for a in course.applications if not a.in_clinic)
    by_kind = {
        o.kind: o.due_at.astimezone(zone)
        for o in db.session.scalars(
            db.select(ReminderOccurrence).where(ReminderOccurrence.planned_application_id == row.id)
        )
    }
    due = row.due_at.astimezone(zone)
    assert (by_kind["due"].date(), by_kind["due"].time()) == (due.date(), dt.time(20, 0))
    assert (by_kind["follow_up"].date(), by_kind["follow_up"].time()) == (
        due.date() + dt.timedelta(days=1),
        dt.time(8, 0),
    )
    assert patient.quiet_hours_start == dt.time(21, 30)
