"""The staff workspace at /clinic/ in real headless Chromium at a desktop viewport: sign-in,
enrolment at the chair up to the invite QR code (decoded from a screenshot and opened on a
phone, which onboards the patient), the dashboard's flags, pausing a course, the exports, the
admin pages, and axe on every staff screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from support.factories import PASSWORD

from .conftest import Page

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 900}}


@pytest.fixture
def desk(browser, live_server):
    """A staff member's desktop browser (records console errors and CSP violations)."""
    ctx = browser.new_context(base_url=live_server, locale="en-GB", timezone_id="Europe/London", **DESKTOP)
    p = Page(ctx, live_server)
    yield p
    ctx.close()
    p.assert_clean()


def sign_in(page, email, password=PASSWORD):
    page.goto("/clinic/")
    page.heading("Sign in to the clinic workspace")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_admin_screens(desk, clinic_admin):
    _clinic, admin = clinic_admin
    sign_in(desk, admin.email)
    desk.heading("Patients")
    desk.get_by_role("link", name="Admin").click()
    desk.heading("Staff")
    desk.check_screen("clinic-staff")
    desk.get_by_role("link", name="Clinic settings").click()
    desk.heading("Clinic settings")
    desk.check_screen("clinic-settings")
    desk.get_by_role("link", name="Audit log").click()
    desk.heading("Audit log")
    expect(desk.locator("table")).to_contain_text("Sign in")
    desk.check_screen("clinic-audit")
