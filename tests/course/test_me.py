"""The patient's own API: today, plan, protocol, settings, and exactly-once completions."""

import datetime as dt
import re
import uuid

from support.factories import make_clinic, make_enrolled_patient

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import ApplicationLog, IdempotencyRecord, PlannedApplication


def signed_in_patient(api, **kw):
    clinic, _ = make_clinic()
    patient, course = make_enrolled_patient(clinic, **kw)
    api.login(patient.email)
    return patient, course


def completion(at=None, **overrides):
    at = at or utcnow()
    body = {
        "started_at": (at - dt.timedelta(minutes=12)).isoformat(),
        "completed_at": at.isoformat(),
        "steps": [{"key": "prepare", "completed_at": (at - dt.timedelta(minutes=11)).isoformat()}],
        "passes": {"crown": 4, "parting_line": 4},
        "vial": "opened_new",
        "check_in": {"redness": "mild", "irritation": "none", "pain": 2, "notes": "fine"},
    }
    body.update(overrides)
    return body


def complete(api, number, body, key=None):
    return api.post(
        f"/api/me/applications/{number}/complete", body, headers={"Idempotency-Key": key or str(uuid.uuid4())}
    )


def logs():
    return db.session.scalar(db.select(db.func.count()).select_from(ApplicationLog))


def test_today_shows_the_next_application_and_kit(app_ctx, api):
    signed_in_patient(api)
    body = api.get("/api/me/today").get_json()
    nxt = body["next_application"]
    assert nxt["number"] == 1 and nxt["label"] == "Application 1 of 24 · kit 1"
    assert nxt["status"] == "due" and nxt["in_clinic"] and nxt["opens_vial"]
    assert body["kit"] == {
        "kit_number": 1,
        "vials_left": 6,
        "half_vial_open": False,
        "half_vial_opened_in_clinic": False,
        "applications_left_in_kit": 12,
        "last_vial_opened": False,
        "needs_next_kit": False,
    }
    # The baseline photos' date (the clinic visit, an hour ago) has passed: the next is ahead.
    assert body["next_checkpoint"]["key"] == "end_of_kit_1"
    assert body["course"]["applications_total"] == 24


def test_completing_an_application_updates_today_and_adherence(app_ctx, api):
    signed_in_patient(api)
    response = complete(api, 1, completion())
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["application"]["status"] == "done_on_time"
    assert response.get_json()["flagged"] is False
    today = api.get("/api/me/today").get_json()
    assert today["next_application"]["number"] == 2
    assert today["kit"]["half_vial_open"] is True and today["kit"]["vials_left"] == 5
    assert today["adherence"]["percent"] == 100 and today["adherence"]["on_time"] == 1


def test_replay_returns_the_first_result_and_records_once(app_ctx, api):
    signed_in_patient(api)
    body, key = completion(), str(uuid.uuid4())
    first = complete(api, 1, body, key)
    second = complete(api, 1, body, key)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert logs() == 1


def test_same_key_with_a_different_body_is_refused(app_ctx, api):
    signed_in_patient(api)
    key = str(uuid.uuid4())
    assert complete(api, 1, completion(), key).status_code == 201
    response = complete(api, 1, completion(check_in={"pain": 9}), key)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_key_reused"
    assert logs() == 1


def test_concurrent_duplicate_gets_409(app_ctx, api):
    patient, _ = signed_in_patient(api)
    body, key = completion(), str(uuid.uuid4())
    from anagen.course.idempotency import request_fingerprint

    # The first request has claimed the key and is still being handled.
    db.session.add(
        IdempotencyRecord(
            scope=f"patient:{patient.id}",
            key=key,
            request_hash=request_fingerprint("POST", "/api/me/applications/1/complete", body),
        )
    )
    db.session.commit()
    response = complete(api, 1, body, key)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "request_in_progress"
    assert logs() == 0


def test_missing_idempotency_key_is_refused(app_ctx, api):
    signed_in_patient(api)
    response = api.post("/api/me/applications/1/complete", completion())
    assert response.status_code == 422
    assert logs() == 0


def test_out_of_order_is_a_conflict_and_too_soon_is_refused(app_ctx, api):
    signed_in_patient(api)
    assert complete(api, 2, completion()).get_json()["error"]["code"] == "not_next_application"
    assert complete(api, 1, completion()).status_code == 201
    response = complete(api, 2, completion())
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "too_soon"
    # In the patient's words and zone, rounded as a person would say it: "... from Monday evening."
    assert "at least 48 hours between them" in error["message"]
    assert re.search(r"from (\w+day (morning|afternoon|evening)|\d\d:00 on \w+day)\.$", error["message"]), (
        error["message"]
    )
    assert not re.search(r"\d{2}:\d{2}\.$|:\d[1-9]", error["message"])
    assert complete(api, 1, completion()).get_json()["error"]["code"] == "already_recorded"
    assert logs() == 1


def test_a_refusal_is_replayed_as_the_same_refusal(app_ctx, api):
    signed_in_patient(api)
    key, body = str(uuid.uuid4()), completion()
    first = complete(api, 2, body, key)
    again = complete(api, 2, body, key)
    assert first.status_code == again.status_code == 409  # not_next_application
    assert first.get_json() == again.get_json()


def test_painful_check_in_flags_the_patient(app_ctx, api):
    signed_in_patient(api)
    response = complete(api, 1, completion(check_in={"pain": 8, "redness": "moderate"}))
    assert response.get_json()["flagged"] is True


def test_bad_completion_bodies_change_nothing(app_ctx, api):
    signed_in_patient(api)
    future = (utcnow() + dt.timedelta(hours=2)).isoformat()
    for body in (
        completion(completed_at=future),
        completion(completed_at=(utcnow() - dt.timedelta(hours=1)).replace(tzinfo=None).isoformat()),
        completion(check_in={"pain": 11}),
        completion(check_in={"pain": "3"}),
        completion(check_in={"notes": "x" * 1001}),
        completion(vial="drank it"),
        completion(extra=True),
    ):
        response = complete(api, 1, body)
        assert 400 <= response.status_code < 500, body
        assert set(response.get_json()["error"]) == {"code", "message", "fields"}
    assert logs() == 0
    assert (
        db.session.scalar(db.select(PlannedApplication.completed_at).where(PlannedApplication.number == 1))
        is None
    )


def test_plan_lists_the_whole_course(app_ctx, api):
    signed_in_patient(api)
    plan = api.get("/api/me/plan").get_json()
    assert len(plan["applications"]) == 24
    assert "as soon as you can" in plan["missed_rule"] and "48 hours" in plan["missed_rule"]
    assert plan["applications"][0]["status"] == "due"
    assert {a["status"] for a in plan["applications"][1:]} == {"upcoming"}


def test_protocol_is_shown_as_set_by_the_clinic(app_ctx, api):
    signed_in_patient(api)
    proto = api.get("/api/me/protocol").get_json()
    assert proto["source_note"] == "Set by your clinic"
    assert [s["key"] for s in proto["steps"]] == [
        "prepare",
        "part",
        "stamp",
        "apply",
        "massage",
        "aftercare",
        "check_in",
    ]
    stamp = next(s for s in proto["steps"] if s["key"] == "stamp")
    assert "4 times" in stamp["text"]
    assert {a["key"] for a in proto["target_areas"]} == {"crown", "parting_line"}


def test_settings_change_moves_upcoming_applications(app_ctx, api):
    signed_in_patient(api)
    assert complete(api, 1, completion()).status_code == 201
    before = api.get("/api/me/plan").get_json()["applications"]
    response = api.patch(
        "/api/me/settings",
        {
            "reminder_weekdays": [2, 5],
            "reminder_time": "07:15",
            "quiet_hours": {"start": "22:00", "end": "07:00"},
        },
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["reminder_weekdays"] == [2, 5]
    assert response.get_json()["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    after = api.get("/api/me/plan").get_json()["applications"]
    assert after[0] == before[0]
    from zoneinfo import ZoneInfo

    for item in after[1:]:
        local = dt.datetime.fromisoformat(item["due_at"]).astimezone(ZoneInfo("Europe/London"))
        assert local.weekday() in (2, 5) and (local.hour, local.minute) == (7, 15)


def test_bad_settings_are_refused_and_change_nothing(app_ctx, api):
    signed_in_patient(api)
    before = api.get("/api/me/settings").get_json()
    for body in (
        {"reminder_weekdays": [0, 1]},
        {"time_zone": "Nowhere/Town"},
        {"reminder_time": "25:00"},
        {"reminder_weekdays": [0, 3], "time_zone": "Bad/Zone"},
    ):
        response = api.patch("/api/me/settings", body)
        assert response.status_code == 422, body
    assert api.get("/api/me/settings").get_json() == before


def test_instants_are_given_in_utc_with_a_z_to_the_second(app_ctx, api):
    patient, _ = signed_in_patient(api, time_zone="Asia/Kolkata")
    # Sent with an offset and microseconds; given back in UTC, to the second.
    at = utcnow().astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).replace(microsecond=654321)
    body = complete(api, 1, completion(at)).get_json()
    expected = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["application"]["completed_at"] == expected
    today = api.get("/api/me/today").get_json()
    plan = api.get("/api/me/plan").get_json()
    given = [
        today["next_application"]["due_at"],
        today["next_application"]["earliest_at"],
        today["next_checkpoint"]["due_at"],
        *(a["due_at"] for a in plan["applications"]),
        *(a["original_due_at"] for a in plan["applications"]),
        plan["applications"][0]["completed_at"],
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value) for value in given), given
    assert plan["applications"][1]["completed_at"] is None
