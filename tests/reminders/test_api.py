"""The push API: subscriptions (upsert by endpoint), the VAPID key, test notifications, snooze."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from support.factories import make_enrolled_patient
from support.reminders import add_occurrence, fresh, open_application, received_payloads

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import PushSubscription, ReminderOccurrence
from anagen.reminders import dispatcher
from anagen.reminders.subscriptions import vapid_keys


def signed_in(make_api, patient):
    client = make_api()
    client.login(patient.email)
    return client


def put(client, sub: dict, **kw):
    return client.request("PUT", "/api/me/push-subscriptions", json=sub, **kw)


def endpoints(patient_id: int) -> list[str]:
    db.session.expire_all()
    return sorted(
        db.session.scalars(
            sa.select(PushSubscription.endpoint).where(PushSubscription.patient_id == patient_id)
        )
    )


@pytest.fixture
def two(clinic, make_api):
    """Two patients of the clinic, each signed in on their own client."""
    a, course_a = make_enrolled_patient(clinic)
    b, course_b = make_enrolled_patient(clinic)
    return (a, course_a, signed_in(make_api, a)), (b, course_b, signed_in(make_api, b))


def test_public_key_is_the_vapid_key(push_app, api):
    response = api.get("/api/push/public-key")
    assert response.status_code == 200
    assert response.get_json() == {"public_key": vapid_keys(push_app).public_key}


def test_put_upserts_by_endpoint_and_keeps_every_device(two, push_service):
    (a, _, api_a), (b, _, api_b) = two
    phone, laptop = push_service.new_subscription(), push_service.new_subscription()
    assert put(api_a, phone).get_json() == {"created": True, "state": "active"}
    # every app start re-sends it
    assert put(api_a, phone).get_json() == {"created": False, "state": "active"}
    assert put(api_a, laptop).get_json() == {"created": True, "state": "active"}
    assert endpoints(a.id) == sorted([phone["endpoint"], laptop["endpoint"]])
    # New keys for the same endpoint replace the old ones (no second row).
    renewed = {**phone, "keys": push_service.new_subscription()["keys"]}
    assert put(api_a, renewed, headers={"User-Agent": "Phone/2"}).status_code == 200
    row = db.session.scalar(sa.select(PushSubscription).where(PushSubscription.endpoint == phone["endpoint"]))
    assert (row.p256dh, row.auth, row.user_agent) == (
        renewed["keys"]["p256dh"],
        renewed["keys"]["auth"],
        "Phone/2",
    )
    # The phone changes hands (another account signs in on it): the endpoint moves.
    assert put(api_b, phone).get_json() == {"created": False, "state": "active"}
    assert endpoints(a.id) == [laptop["endpoint"]]
    assert endpoints(b.id) == [phone["endpoint"]]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PushSubscription)) == 2


def test_browser_subscription_json_with_expiration_time_is_accepted(two, push_service):
    (a, _, api_a), _ = two
    sub = {**push_service.new_subscription(), "expirationTime": None}
    assert put(api_a, sub).status_code == 200
    assert endpoints(a.id) == [sub["endpoint"]]


@pytest.mark.parametrize(
    ("keys", "field"),
    [
        ({"p256dh": "AAAA", "auth": None}, "keys.p256dh"),  # too short
        ({"p256dh": None, "auth": "c2hvcnQ"}, "keys.auth"),  # 5 bytes, not 16
        ({"p256dh": "!!not base64!!", "auth": None}, "keys.p256dh"),
        ({"p256dh": None, "auth": ""}, "keys.auth"),
    ],
)
def test_bad_keys_are_refused_with_the_field(two, push_service, keys, field):
    (a, _, api_a), _ = two
    sub = push_service.new_subscription()
    sub["keys"] = {k: v if v is not None else sub["keys"][k] for k, v in keys.items()}
    response = put(api_a, sub)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input" and field in error["fields"]
    assert endpoints(a.id) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"keys": {"p256dh": "x", "auth": "y"}}, "endpoint"),
        ({"endpoint": "not a url", "keys": {"p256dh": "x", "auth": "y"}}, "endpoint"),
        ({"endpoint": "https://push.example/x"}, "keys"),
        ({"endpoint": "https://push.example/x", "keys": {"p256dh": "x"}}, "keys.auth"),
    ],
)
def test_malformed_subscriptions_are_refused(two, body, field):
    (a, _, api_a), _ = two
    response = put(api_a, body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert endpoints(a.id) == []


def test_plain_http_push_service_is_refused_unless_allowed(two, push_service, push_app):
    (a, _, api_a), _ = two
    push_app.config["PUSH_ALLOW_HTTP"] = False  # the push_app fixture restores it
    response = put(api_a, push_service.new_subscription())
    assert response.status_code == 422
    assert "endpoint" in response.get_json()["error"]["fields"]
    assert endpoints(a.id) == []


def test_signed_out_cannot_subscribe(push_app, api, push_service):
    assert put(api, push_service.new_subscription()).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PushSubscription)) == 0


def test_delete_removes_only_ones_own_subscription(two, push_service):
    (a, _, api_a), (b, _, api_b) = two
    mine, theirs = push_service.new_subscription(), push_service.new_subscription()
    put(api_a, mine)
    put(api_b, theirs)
    # Another patient cannot remove it, even knowing the endpoint.
    assert api_a.delete("/api/me/push-subscriptions", {"endpoint": theirs["endpoint"]}).status_code == 204
    assert endpoints(b.id) == [theirs["endpoint"]]
    assert api_a.delete("/api/me/push-subscriptions", {"endpoint": mine["endpoint"]}).status_code == 204
    assert endpoints(a.id) == []
    assert api_a.delete("/api/me/push-subscriptions", {}).status_code == 422


def test_test_notification_is_queued_and_sent_by_the_dispatcher(two, push_service, sender):
    (a, _, api_a), (b, _, _) = two
    sub = push_service.new_subscription()
    put(api_a, sub)
    response = api_a.post("/api/me/push-subscriptions/test")
    assert response.status_code == 202
    queued = response.get_json()
    occ = fresh(queued["id"])
    assert (occ.kind, occ.patient_id, occ.status, occ.planned_application_id) == (
        "test",
        a.id,
        "pending",
        None,
    )
    stats = dispatcher.dispatch_until_idle(sender)
    assert stats.sent == 1
    (payload,) = received_payloads(push_service)
    assert payload["id"] == str(occ.id) and payload["kind"] == "test" and payload["snooze"] is False
    assert fresh(occ.id).status == "sent"
    assert push_service.received[0].headers["urgency"] == "high"


def test_snooze_creates_the_next_occurrence_an_hour_later(two, push_app):
    (a, course_a, api_a), (b, course_b, api_b) = two
    row = open_application(course_a, 2)
    original = add_occurrence(a, row, "due", status="sent")
    before = utcnow()
    response = api_a.post(f"/api/me/reminders/{original.id}/snooze")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    snoozed = fresh(body["id"])
    assert (snoozed.kind, snoozed.seq, snoozed.planned_application_id, snoozed.patient_id) == (
        "due",
        1,
        row.id,
        a.id,
    )
    assert snoozed.status == "pending"
    assert before + dt.timedelta(minutes=59) <= snoozed.due_at <= utcnow() + dt.timedelta(hours=1)
    assert fresh(original.id).status == "sent"
    # Snoozing the snoozed one (or the original again) goes on counting.
    again = api_a.post(f"/api/me/reminders/{snoozed.id}/snooze")
    assert again.status_code == 201 and fresh(again.get_json()["id"]).seq == 2
    # Another patient's reminder is not found, nor is a test notification or a bad id.
    assert api_b.post(f"/api/me/reminders/{original.id}/snooze").status_code == 404
    test_occ = add_occurrence(a, None, "test")
    assert api_a.post(f"/api/me/reminders/{test_occ.id}/snooze").status_code == 404
    assert api_a.post("/api/me/reminders/999999/snooze").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReminderOccurrence)) == 4


def test_snooze_after_the_application_is_done_is_a_conflict(two, push_app):
    from anagen.course.courses import record_application

    (a, course_a, api_a), _ = two
    row = open_application(course_a, 2)
    original = add_occurrence(a, row, "follow_up", status="sent", seq=5)
    record_application(course_a, 1, completed_at=course_a.first_application_at)
    done_at = max(utcnow(), row.due_at)
    record_application(course_a, 2, completed_at=done_at, now=done_at)
    db.session.commit()
    response = api_a.post(f"/api/me/reminders/{original.id}/snooze")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "already_done"


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1/wpush/x",  # IP literals, any spelling
        "https://[::1]/wpush/x",
        "https://10.0.0.7/wpush/x",
        "https://169.254.169.254/latest/meta-data",
        "https://2130706433/wpush/x",
        "https://0x7f.1/wpush/x",
        "https://localhost/wpush/x",  # local names
        "https://push.localhost/wpush/x",
        "https://printer.local/wpush/x",
        "https://metadata.google.internal/wpush/x",
        "https://pushservice/wpush/x",
        "https://push.example.com:8443/wpush/x",  # not the https port
        "http://push.example.com/wpush/x",  # not https
    ],
)
def test_endpoints_the_server_will_not_call_are_refused(two, push_service, push_app, endpoint):
    (a, _, api_a), _ = two
    push_app.config["PUSH_ALLOW_HTTP"] = False  # the push_app fixture restores it
    sub = {**push_service.new_subscription(), "endpoint": endpoint}
    response = put(api_a, sub)
    assert response.status_code == 422, response.get_json()
    assert "endpoint" in response.get_json()["error"]["fields"]
    assert endpoints(a.id) == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://web.push.apple.com:443/QGuQyavXutnMp",
        "https://wns2-db5p.notify.windows.com/w/?token=BQYAAA",
    ],
)
def test_real_push_services_are_accepted(two, push_service, push_app, endpoint):
    (a, _, api_a), _ = two
    push_app.config["PUSH_ALLOW_HTTP"] = False
    response = put(api_a, {**push_service.new_subscription(), "endpoint": endpoint})
    assert response.status_code == 200, response.get_json()
    assert endpoints(a.id) == [endpoint]


def status_of(client, endpoint: str):
    return client.post("/api/me/push-subscriptions/status", {"endpoint": endpoint})


def test_status_reads_the_servers_record_of_this_device_without_changing_it(two, push_service):
    (a, _, api_a), (b, _, api_b) = two
    mine, theirs = push_service.new_subscription(), push_service.new_subscription()
    never = push_service.new_subscription()
    assert put(api_a, mine).get_json() == {"created": True, "state": "active"}
    put(api_b, theirs)

    assert status_of(api_a, mine["endpoint"]).get_json() == {"state": "active", "failure": None}
    # Another patient's device, and one the server never saw, answer alike: nothing held here.
    other = status_of(api_a, theirs["endpoint"])
    unseen = status_of(api_a, never["endpoint"])
    assert other.status_code == unseen.status_code == 200
    assert other.get_json() == unseen.get_json() == {"state": "unknown", "failure": None}
    assert endpoints(a.id) == [mine["endpoint"]] and endpoints(b.id) == [theirs["endpoint"]]

    # The push service kept refusing it: failed, with its reason; asking does not clear it.
    db.session.execute(
        sa.update(PushSubscription)
        .where(PushSubscription.endpoint == mine["endpoint"])
        .values(failed_at=utcnow(), refusals=3, failure="HTTP 403")
    )
    db.session.commit()
    for _ in range(2):
        assert status_of(api_a, mine["endpoint"]).get_json() == {"state": "failed", "failure": "HTTP 403"}
    row = db.session.scalars(
        sa.select(PushSubscription).where(PushSubscription.endpoint == mine["endpoint"])
    ).one()
    db.session.refresh(row)
    assert row.failed_at is not None and row.refusals == 3

    # Removed on the server: unknown.
    api_a.delete("/api/me/push-subscriptions", {"endpoint": mine["endpoint"]})
    assert status_of(api_a, mine["endpoint"]).get_json() == {"state": "unknown", "failure": None}


def test_status_needs_a_signed_in_patient_and_an_endpoint(two, push_app, api):
    (_, _, api_a), _ = two
    assert status_of(api, "https://push.example/x").status_code == 401
    assert api_a.post("/api/me/push-subscriptions/status", {}).status_code == 422


def test_status_is_in_the_openapi_document(push_app, api):
    spec = api.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/me/push-subscriptions/status"]["post"]
    assert "200" in operation["responses"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    assert spec["components"]["schemas"][name]["properties"]["state"]["enum"] == [
        "active",
        "failed",
        "unknown",
    ]
