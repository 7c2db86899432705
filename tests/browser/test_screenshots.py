"""Every screen renders and passes axe (WCAG 2.2 AA tags: nothing serious or critical),
in light and dark themes, at 390 px and at 320 px with 200 % text. With ANAGEN_SCREENSHOTS=1
each screen is also saved to docs/screenshots/<name>.png (`make screenshots`)."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from .conftest import MOBILE, Page
from .flows import do_application, onboard, sign_in
from .helpers import course_started, record_in_clinic_application

pytestmark = pytest.mark.browser


def test_every_screen(page, context, clinic_admin, invite_for):
    clinic, admin = clinic_admin
    _patient, course, token = invite_for(clinic, **course_started(8))
    record_in_clinic_application(course, admin)
    context.clock.install(time=dt.datetime.now(dt.UTC))

    onboard(page, token, check=page.check_screen)
    page.check_screen("today")
    do_application(
        page, check=page.check_screen, pain=8, fast_forward=lambda: page.clock.fast_forward("01:05")
    )
    expect(page.locator("#main")).to_contain_text("Your clinic will see this")
    page.check_screen("session-done")
    page.get_by_role("button", name="Back to Today").click()
    page.heading("Today")
    page.check_screen("today-after")
    page.get_by_role("link", name="Plan", exact=True).click()
    page.heading("Your plan")
    page.check_screen("plan")
    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")
    page.check_screen("settings")

    # A settings change made offline waits in the outbox and is listed.
    context.set_offline(True)
    page.get_by_label("No notifications during quiet hours").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#main")).to_contain_text("Saved on this phone")
    page.get_by_role("link", name="1 change waiting to sync").click()
    page.heading("Waiting to sync")
    page.check_screen("sync")
    context.set_offline(False)  # the `online` event replays the outbox by itself
    expect(page.locator("#main")).to_contain_text("Everything is saved with your clinic")

    page.get_by_role("link", name="Back to Today").click()
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_label("No notifications during quiet hours")).to_be_checked()
    page.get_by_role("button", name="Sign out").click()
    page.heading("Sign in")
    page.check_screen("login")


def _no_sideways_scroll(page, name):
    width = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 0, f"{name}: {width}px wider than the screen"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_small_screen_large_text_and_themes(browser, live_server, enrolled, scheme):
    _patient, _course, email, password = enrolled()
    small = {**MOBILE, "viewport": {"width": 320, "height": 640}}
    context = browser.new_context(
        base_url=live_server,
        locale="en-GB",
        timezone_id="Europe/London",
        color_scheme=scheme,
        reduced_motion="reduce",
        **small,
    )
    try:
        page = Page(context, live_server)
        sign_in(page, email, password)
        page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")

        def visit(name):
            _no_sideways_scroll(page, f"{name} ({scheme}, 320px, 200% text)")
            page.check_screen(f"{name}-{scheme}-320")

        visit("today")
        page.get_by_role("button", name="Start application").click()
        page.heading("Get ready")
        page.get_by_role("button", name="Next").click()
        page.heading("Part your hair")
        visit("session-part")
        page.get_by_role("button", name="Next").click()
        page.heading("Stamp each area")
        visit("session-stamp")
        page.goto("/#/plan")
        page.heading("Your plan")
        visit("plan")
        page.goto("/#/settings")
        page.heading("Settings")
        visit("settings")
        page.assert_clean()
    finally:
        context.close()
