"""Steps the browser tests share: onboarding from an invite and one guided application."""

from __future__ import annotations

from playwright.sync_api import expect

NEW_PASSWORD = "a calm new password 42"


def onboard(page, token, *, check=None):
    """Redeems the invite through the screens, ending on Today. `check(name)` runs per screen."""
    check = check or (lambda name: None)
    page.goto(f"/#/invite/{token}")
    page.heading("Welcome, Pat")
    check("onboarding-welcome")
    page.get_by_role("button", name="Get started").click()
    page.heading("Set your password")
    expect(page.get_by_label("Your email")).to_have_attribute("autocomplete", "username")
    expect(page.get_by_label("Your email")).to_have_attribute("readonly", "")
    expect(page.get_by_label("Choose a password")).to_have_attribute("autocomplete", "new-password")
    check("onboarding-password")
    page.get_by_label("Choose a password").fill("too short")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 10 characters")
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.heading("Sharing your photos")
    check("onboarding-consent")
    page.get_by_label("I agree to share my treatment photos").check()
    page.get_by_role("button", name="Create my account").click()
    page.heading("Add Anagen to your home screen")
    check("onboarding-install")
    page.get_by_role("button", name="Next").click()
    page.heading("Reminders on your phone")
    check("onboarding-notifications")
    page.get_by_role("button", name="Next").click()
    page.heading("Your reminder days")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/London")
    check("onboarding-reminders")
    # Monday and Tuesday are too close: the clinic's rule is shown before the server is asked.
    page.get_by_label("Monday").check()
    page.get_by_label("Thursday").uncheck()
    page.get_by_label("Tuesday").check()
    page.get_by_role("button", name="Save and finish").click()
    expect(page.get_by_role("alert")).to_contain_text("too close together")
    page.get_by_label("Tuesday").uncheck()
    page.get_by_label("Thursday").check()
    page.get_by_role("button", name="Save and finish").click()
    page.heading("Today")


def do_application(page, *, check=None, pain=2, fast_forward=None):
    """From Today, runs every step of the guided application and finishes it."""
    check = check or (lambda name: None)
    page.get_by_role("button", name="Start application").click()
    page.heading("Get ready")
    expect(page.locator(".course-label").first).to_contain_text("of 24")
    check("session-prepare")
    page.get_by_role("button", name="Next").click()
    page.heading("Part your hair")
    expect(page.locator("svg.scalp-map path.area.target")).to_have_count(2)
    check("session-part")
    page.get_by_role("button", name="Next").click()
    page.heading("Stamp each area")
    check("session-stamp")
    for area in ("Crown", "Parting line"):
        for _ in range(4):
            page.get_by_role("button", name=f"Add a pass to {area}").click()
    expect(page.locator("#count-crown")).to_have_text("4 of 4 passes ✓")
    page.get_by_role("button", name="Next").click()
    page.heading("Apply the serum")
    check("session-apply")
    page.get_by_role("button", name="Next").click()
    page.heading("Massage it in")
    page.get_by_role("button", name="Start timer").click()
    expect(page.locator(".timer")).to_contain_text("left")
    check("session-massage")
    if fast_forward:
        fast_forward()
    expect(page.locator(".timer")).to_have_text("Done", timeout=75_000)
    page.get_by_role("button", name="Next").click()
    page.heading("Aftercare")
    check("session-aftercare")
    page.get_by_role("button", name="Next").click()
    page.heading("How did it go?")
    page.get_by_role("group", name="Redness").get_by_label("Mild").check()
    page.get_by_role("group", name="Irritation").get_by_label("None").check()
    page.get_by_role("group", name="Pain now").get_by_label(str(pain), exact=True).check()
    page.get_by_label("Anything else").fill("Slight tingling, gone after ten minutes.")
    check("session-check-in")
    page.get_by_role("button", name="Finish application").click()
    page.heading("Application done")


def sign_in(page, email, password):
    """The returning patient's sign-in, ending on Today."""
    page.goto("/#/login")
    page.heading("Sign in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.heading("Today")


def wait_for_service_worker(page):
    """Until the service worker controls the page (clients.claim on its first activation)."""
    # A function, not an expression string: the page's CSP forbids eval of strings.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
