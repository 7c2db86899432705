"""Web push end to end: the page subscribes (a stand-in for PushManager, keys held by the
local push service), the server stores the subscription, the dispatcher encrypts and sends
a reminder, the push service decrypts it, and the page's real service worker shows it once
however often it is delivered. Settings' test button, sign-out and the snooze screen."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .flows import (
    PushDelivery,
    install_push_stub,
    onboard,
    set_notification_permission,
    shown_notifications,
    sign_in,
    wait_for_service_worker,
    wait_until,
)
from .helpers import course_started, due_reminder, push_endpoints, record_in_clinic_application, reminders_of

pytestmark = pytest.mark.browser

PAYLOAD_KEYS = {"id", "kind", "title", "body", "url", "snooze"}


@pytest.fixture
def push_allowed(app):
    """The local push service speaks plain http: the API and the sender must accept it."""
    saved = app.config.get("PUSH_ALLOW_HTTP")
    app.config["PUSH_ALLOW_HTTP"] = True
    yield app
    app.config["PUSH_ALLOW_HTTP"] = saved


@pytest.fixture
def push_page(new_page, push_service, push_allowed):
    """A page with notifications allowed and a push subscription the test's service holds."""

    def make():
        subscription = push_service.new_subscription()
        page, device = new_page(
            setup=lambda ctx: install_push_stub(ctx, subscription), permissions=["notifications"]
        )
        return page, device, subscription

    return make


def dispatch(app, push_service) -> dict[str, dict]:
    """Runs the dispatcher until idle; returns what the push service decrypted, by occurrence id."""
    from anagen.reminders.dispatcher import dispatch_until_idle
    from anagen.reminders.subscriptions import make_sender

    push_service.clear()
    with make_sender(app, timeout=(2.0, 5.0)) as sender:
        dispatch_until_idle(sender)
    out = {}
    for rec in push_service.received:
        assert rec.status == 201, rec.reason
        push_service.check(rec)  # RFC 8030/8291/8292: VAPID, TTL, aes128gcm
        body = json.loads(push_service.decrypt(rec))
        assert rec.headers.get("topic") == body["id"]
        out[body["id"]] = body
    return out


def wait_for_subscription(page, patient_id: int, subscription: dict) -> None:
    """Until the server holds exactly this device's subscription for the patient."""
    wait_until(
        page, lambda: push_endpoints(patient_id) == [subscription["endpoint"]], message="the subscription"
    )


def assert_health_free(payload: dict, *private: str) -> None:
    assert set(payload) == PAYLOAD_KEYS
    text = json.dumps(payload).lower()
    for word in private:
        assert word.lower() not in text, word


def due_text(course_id: int, number: int) -> str:
    """What a due reminder says when sent now: application 2 of a course started days ago was due
    on an earlier day in the patient's zone (tests/reminders/test_texts.py pins every wording)."""
    import sqlalchemy as sa

    from anagen.extensions import db
    from anagen.models import Course, PlannedApplication

    row = db.session.scalar(
        sa.select(PlannedApplication).where(
            PlannedApplication.course_id == course_id, PlannedApplication.number == number
        )
    )
    zone = ZoneInfo(db.session.get(Course, course_id).patient.time_zone)
    due, today = row.due_at.astimezone(zone).date(), dt.datetime.now(zone).date()
    days = (today - due).days
    if days == 0:
        return "Your treatment is due now. Tap to start."
    said = "yesterday" if days == 1 else f"on {due:%a}" if days < 7 else f"on {due:%a} {due.day} {due:%b}"
    return f"Your treatment (due {said}) is still to do. Tap to start."


def test_reminder_reaches_the_service_worker_once(push_page, push_service, app, clinic_admin, invite_for):
    from anagen.reminders.subscriptions import vapid_keys

    clinic, admin = clinic_admin
    patient, course, token = invite_for(clinic, **course_started(8))
    record_in_clinic_application(course, admin)
    patient_id, course_id, email = patient.id, course.id, patient.email
    page, device, subscription = push_page()

    # Onboarding with notifications allowed: the subscription reaches the server.
    def check(name):
        if name == "onboarding-notifications":
            expect(page.locator("#main")).to_contain_text("Notifications are on")
            page.check_screen("push-onboarding-notifications-on")

    onboard(page, token, check=check)
    wait_for_subscription(page, patient_id, subscription)
    assert device.server_key == vapid_keys(app).public_key

    # A reminder is due: the dispatcher encrypts it for this device and the service gets it.
    occurrence_id = str(due_reminder(course_id, 2))
    received = dispatch(app, push_service)
    payload = received[occurrence_id]
    assert payload == {
        "id": occurrence_id,
        "kind": "due",
        "title": "Anagen",
        "body": due_text(course_id, 2),
        "url": f"/#/reminder/{occurrence_id}",
        "snooze": True,
    }
    for other in received.values():
        assert_health_free(other, "Pat", email, clinic.name, "minoxidil", "serum", "pain", "redness")
    assert {o.id: o.status for o in reminders_of(patient_id, "due")}[int(occurrence_id)] == "sent"

    # The same payload, delivered twice to the real service worker: one notification.
    wait_for_service_worker(page)
    push = PushDelivery(page, page.base_url)
    data = json.dumps(payload)
    push.deliver(data)
    first = wait_until(page, lambda: shown_notifications(page), message="the notification")
    assert len(first) == 1
    page.wait_for_timeout(20)  # a replacement gets a later timestamp
    push.deliver(data)
    shown = wait_until(
        page,
        lambda: [n for n in shown_notifications(page) if n["timestamp"] != first[0]["timestamp"]],
        message="the repeated delivery to replace the notification",
    )
    assert len(shown_notifications(page)) == 1
    note = shown[0]
    assert note["tag"] == f"occurrence-{occurrence_id}"
    assert note["title"] == payload["title"] and note["body"] == payload["body"]
    assert note["data"] == {"url": f"/#/reminder/{occurrence_id}", "id": occurrence_id, "snooze": True}
    assert note["actions"] == [{"action": "snooze", "title": "Snooze 1 h"}]
    assert note["renotify"] is False
    assert note["icon"].endswith("/app/icons/icon-192.png")

    # A payload the worker cannot read still shows a notification (iOS revokes silent pushes).
    push.deliver("not json")
    wait_until(page, lambda: len(shown_notifications(page)) == 2, message="the generic notification")
    generic = next(n for n in shown_notifications(page) if n["tag"] != note["tag"])
    assert generic["title"] == "Anagen reminder" and generic["tag"] == "anagen-reminder"
    assert generic["data"]["url"] == "/#/today" and generic["actions"] == []
    # A payload pointing outside the app is opened at Today instead.
    push.deliver(json.dumps({**payload, "id": "77", "url": "https://evil.example/"}))
    wait_until(page, lambda: len(shown_notifications(page)) == 3, message="the third notification")
    third = next(n for n in shown_notifications(page) if n["tag"] == "occurrence-77")
    assert third["data"]["url"] == "/#/today"

    # What a tap does, run in the worker itself (a notification cannot be clicked headless):
    # "Snooze 1 h" asks the server for the CSRF token, then snoozes for an hour.
    worker = next(w for w in page.context.service_workers if w.url.endswith("/sw.js"))
    worker.evaluate("(id) => snoozeFromWorker(id)", occurrence_id)
    snoozed = [o for o in reminders_of(patient_id, "due") if o.seq >= 1 and o.status == "pending"]
    assert len(snoozed) == 1
    due = snoozed[0].due_at if snoozed[0].due_at.tzinfo else snoozed[0].due_at.replace(tzinfo=dt.UTC)
    assert 3500 <= (due - dt.datetime.now(dt.UTC)).total_seconds() <= 3600
    # The body tap with the app open: it is routed in place (no reload).
    page.evaluate("() => (window.__sameDocument = true)")
    worker.evaluate("() => openApp('/#/settings')")
    page.heading("Settings")
    assert page.evaluate("() => window.__sameDocument") is True


def test_settings_test_notification_resync_and_sign_out(push_page, push_service, app, enrolled):
    from anagen.reminders import subscriptions as push_service_module

    patient, _course, email, password = enrolled()
    patient_id = patient.id
    page, device, subscription = push_page()

    sign_in(page, email, password)
    wait_for_subscription(page, patient_id, subscription)
    assert device.calls.count("subscribe") == 1

    # The server lost it (or the push service rotated it): the next start sends it again,
    # without subscribing anew.
    push_service_module.remove_subscription(patient, subscription["endpoint"])
    from anagen.extensions import db

    db.session.commit()
    assert push_endpoints(patient_id) == []
    page.reload()
    page.heading("Today")
    wait_until(page, lambda: push_endpoints(patient_id) == [subscription["endpoint"]], message="the re-sync")
    assert device.calls.count("subscribe") == 1

    # Settings: the state in plain words, and a test notification with its status.
    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")
    expect(page.locator("#main")).to_contain_text("Notifications are on for this phone.")
    page.get_by_role("button", name="Send me a test notification").click()
    expect(page.locator("#main")).to_contain_text("Sent — it should arrive within a minute")
    page.check_screen("push-settings-test-sent")
    tests = reminders_of(patient_id, "test")
    assert len(tests) == 1
    received = dispatch(app, push_service)
    payload = received[str(tests[0].id)]
    assert payload["kind"] == "test" and payload["url"] == "/#/settings" and payload["snooze"] is False
    assert_health_free(payload, email)

    # Sign-out: the server forgets this phone first, then the browser unsubscribes.
    page.get_by_role("button", name="Sign out").click()
    page.heading("Sign in")
    assert push_endpoints(patient_id) == []
    assert device.server_key is None and device.calls[-1] == "unsubscribe"
    assert page.evaluate("() => localStorage.length") == 0
    # Signed out, a restart does not subscribe again.
    page.reload()
    page.heading("Sign in")
    page.wait_for_timeout(300)
    assert push_endpoints(patient_id) == [] and device.server_key is None


def test_offline_sign_out_unsubscribes_here_and_tells_the_server_later(push_page, enrolled):
    patient, _course, email, password = enrolled()
    patient_id = patient.id
    page, device, subscription = push_page()
    sign_in(page, email, password)
    wait_for_service_worker(page)
    wait_for_subscription(page, patient_id, subscription)
    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")

    page.context.set_offline(True)
    page.get_by_role("button", name="Sign out").click()
    page.heading("Sign in")
    assert device.server_key is None  # unsubscribed on this phone at once
    assert push_endpoints(patient_id) == [subscription["endpoint"]]

    page.context.set_offline(False)
    page.reload()
    page.heading("Sign in")
    wait_until(page, lambda: push_endpoints(patient_id) == [], message="the deferred removal")
    assert page.request.get("/api/auth/session").json()["authenticated"] is False


def test_snooze_screen_and_notification_states(page, enrolled):
    patient, course, email, password = enrolled()
    patient_id = patient.id
    occurrence_id = due_reminder(course.id, 2)

    sign_in(page, email, password)
    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")
    expect(page.locator("#main")).to_contain_text("Notifications are off.")
    expect(page.get_by_role("button", name="Turn on notifications")).to_be_visible()
    expect(page.get_by_role("button", name="Send me a test notification")).to_have_count(0)

    set_notification_permission(page, "denied")
    page.reload()
    page.heading("Settings")
    expect(page.locator("#main")).to_contain_text("Notifications are blocked in your browser's settings")
    expect(page.get_by_role("button", name="I have allowed them")).to_be_visible()
    page.check_screen("push-settings-blocked")

    # Allowed in the browser's settings, but this browser has no working push (headless
    # Chromium refuses to subscribe): said plainly, not hidden.
    set_notification_permission(page, "granted")
    page.get_by_role("button", name="I have allowed them").click()
    expect(page.locator("#main")).to_contain_text("could not be registered for reminders")
    # Chromium itself logs why it refused (incognito-like headless profile): not the app's error.
    page.errors[:] = [e for e in page.errors if "does not support the Push API" not in e]

    # Where notifications have no action buttons: the app's own snooze screen.
    page.goto(f"/#/snooze/{occurrence_id}")
    page.heading("Remind me later")
    page.check_screen("push-snooze")
    page.get_by_role("button", name="Remind me in 1 hour").click()
    expect(page.locator("#main")).to_contain_text(re.compile(r"Done\. We will remind you again at \d\d:\d\d"))
    expect(page.get_by_role("button", name="Remind me in 1 hour")).to_be_hidden()
    snoozed = [o for o in reminders_of(patient_id, "due") if o.seq >= 1 and o.status == "pending"]
    assert snoozed, reminders_of(patient_id, "due")

    # What a tapped application reminder opens (iOS shows no action buttons): start, or snooze.
    page.goto(f"/#/reminder/{occurrence_id}")
    page.heading("Time for your treatment")
    page.check_screen("push-reminder")
    before = len(reminders_of(patient_id, "due"))
    page.get_by_role("button", name="Remind me in 1 hour").click()
    expect(page.locator("#main")).to_contain_text(re.compile(r"Done\. We will remind you again at \d\d:\d\d"))
    assert len(reminders_of(patient_id, "due")) == before + 1
    page.get_by_role("button", name="Start application").click()
    page.heading("Today")

    page.goto("/#/snooze/999999")
    page.heading("Remind me later")
    page.get_by_role("button", name="Remind me in 1 hour").click()
    expect(page.locator("#main")).to_contain_text("can no longer be snoozed")
