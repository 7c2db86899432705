"""Settings tells whether reminders reach this phone from the browser's own subscription and
the server's record of it (not from the notification permission alone), and offers a retry
that registers the phone again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from .flows import install_push_stub, sign_in, wait_until
from .helpers import push_endpoints

pytestmark = pytest.mark.browser

ON = "Notifications are on for this phone."
UNREGISTERED = "Not working: Anagen's server has no record of this phone"
FAILED = "Not working: the phone's notification service keeps refusing Anagen's reminders"


@pytest.fixture
def signed_in_with_push(new_page, push_service, app, enrolled):
    """A patient signed in on a page whose subscription (held by the test's push service) the
    server has received; returns (page, device, subscription, patient)."""
    saved = app.config.get("PUSH_ALLOW_HTTP")
    app.config["PUSH_ALLOW_HTTP"] = True

    def make():
        patient, _course, email, password = enrolled()
        subscription = push_service.new_subscription()
        page, device = new_page(
            setup=lambda ctx: install_push_stub(ctx, subscription), permissions=["notifications"]
        )
        sign_in(page, email, password)
        wait_until(
            page,
            lambda: push_endpoints(patient.id) == [subscription["endpoint"]],
            message="the subscription",
        )
        return page, device, subscription, patient

    yield make
    app.config["PUSH_ALLOW_HTTP"] = saved


def open_settings(page):
    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")


def notifications_card(page):
    return page.locator(".card").filter(has=page.get_by_role("heading", name="Notifications"))


def test_on_when_the_server_holds_this_phone(signed_in_with_push):
    page, _device, _subscription, _patient = signed_in_with_push()
    open_settings(page)
    card = notifications_card(page)
    expect(card).to_contain_text(ON)
    expect(card).to_contain_text("This phone: Chrome on Linux.")
    expect(card.get_by_role("button", name="Send me a test notification")).to_be_visible()
    expect(card.get_by_role("button", name="Try again")).to_have_count(0)


def test_not_on_when_the_server_has_no_record_and_try_again_registers_it(signed_in_with_push):
    from anagen.extensions import db
    from anagen.reminders import subscriptions

    page, device, subscription, patient = signed_in_with_push()
    # The server lost this phone after the app's start-up sync (the browser still has it).
    subscriptions.remove_subscription(patient, subscription["endpoint"])
    db.session.commit()
    assert push_endpoints(patient.id) == []

    open_settings(page)
    card = notifications_card(page)
    expect(card).to_contain_text(UNREGISTERED)
    expect(card).not_to_contain_text(ON)
    expect(card.get_by_role("button", name="Send me a test notification")).to_have_count(0)
    page.check_screen("notifications-not-registered")
    assert push_endpoints(patient.id) == []  # asking did not register it

    before = len(device.calls)
    card.get_by_role("button", name="Try again").click()
    expect(card).to_contain_text(ON)
    assert push_endpoints(patient.id) == [subscription["endpoint"]]
    # A new subscription: the old one ended in the browser, then a fresh one was made and sent.
    assert device.calls[before:].count("unsubscribe") == 1
    assert device.calls[before:].count("subscribe") == 1
    expect(card.get_by_role("button", name="Send me a test notification")).to_be_visible()


def test_failed_when_the_push_service_keeps_refusing_it(signed_in_with_push):
    from anagen.clock import utcnow
    from anagen.extensions import db
    from anagen.models import PushSubscription

    page, _device, subscription, patient = signed_in_with_push()
    db.session.execute(
        sa.update(PushSubscription)
        .where(PushSubscription.endpoint == subscription["endpoint"])
        .values(failed_at=utcnow(), refusals=3, failure="HTTP 403")
    )
    db.session.commit()

    # The app's start-up sync sends the same subscription again; it stays failed.
    page.reload()
    page.heading("Today")
    open_settings(page)
    card = notifications_card(page)
    expect(card).to_contain_text(FAILED)
    expect(card).not_to_contain_text(ON)
    expect(card.get_by_role("button", name="Try again")).to_be_visible()
    page.check_screen("notifications-failed")
    assert push_endpoints(patient.id) == [subscription["endpoint"]]
