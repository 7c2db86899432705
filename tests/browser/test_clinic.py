"""The staff workspace at /clinic/ in real headless Chromium at a desktop viewport: sign-in,
enrolment at the chair up to the invite QR code (decoded from a screenshot and opened on a
phone, which onboards the patient), the dashboard's flags, pausing a course, the exports, the
admin pages, and axe on every staff screen."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from support.factories import PASSWORD

from .staff import age_sessions, read_qr, sign_in

pytestmark = pytest.mark.browser


def test_admin_screens(desk, clinic_admin):
    _clinic, admin = clinic_admin
    desk.goto("/clinic/")
    desk.heading("Sign in to the clinic workspace")
    desk.check_screen("clinic-login")
    desk.get_by_label("Work email").fill(admin.email)
    desk.get_by_label("Password").fill("not the password")
    desk.get_by_role("button", name="Sign in").click()
    expect(desk.get_by_role("alert")).to_contain_text("don't match an account")
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
    expect(desk.locator("table")).to_contain_text("Sign in failed")
    # Filtered on the server; the address keeps the filters.
    desk.get_by_label("Event").select_option("sign_in")
    expect(desk.page).to_have_url(re.compile(r"/clinic/admin/audit\?event=sign_in$"))
    expect(desk.locator("table tbody tr")).to_have_count(1)
    expect(desk.locator("table tbody")).not_to_contain_text("Sign in failed")
    desk.get_by_label("About").select_option("patient")
    expect(desk.locator("table tbody")).to_contain_text("No events match these filters")
    # A patient's number does not stay behind, hidden, when the clinic itself is chosen.
    desk.get_by_label("Patient number").fill("12")
    expect(desk.page).to_have_url(re.compile(r"target_id=12"))
    desk.get_by_label("About").select_option("clinic")
    expect(desk.page).to_have_url(re.compile(r"target_type=clinic"))
    expect(desk.page).not_to_have_url(re.compile(r"target_id"))
    desk.get_by_label("About").select_option("")
    desk.get_by_label("Who").select_option(label=admin.name)
    expect(desk.locator("table tbody tr")).to_have_count(1)
    desk.check_screen("clinic-audit")

    # Keyboard only: the skip link is the first stop and lands in the page, not on a new route;
    # a link followed with Enter moves focus to the new page's heading.
    desk.goto("/clinic/admin/staff")
    desk.heading("Staff")
    desk.keyboard.press("Tab")
    expect(desk.get_by_role("link", name="Skip to content")).to_be_focused()
    desk.keyboard.press("Enter")
    expect(desk.page).to_have_url(re.compile(r"/clinic/admin/staff#main$"))
    desk.heading("Staff")
    desk.get_by_role("link", name="Clinic settings").focus()
    desk.keyboard.press("Enter")
    desk.heading("Clinic settings")
    expect(desk.locator("h1")).to_be_focused()


def test_idle_sign_out_is_announced_and_stay_signed_in_keeps_the_session(desk, clinic_admin):
    _clinic, admin = clinic_admin
    desk.context.clock.install(time=dt.datetime.now(dt.UTC))
    sign_in(desk, admin.email)
    desk.heading("Patients")
    desk.get_by_role("link", name="Admin").click()
    desk.heading("Staff")
    expect(desk.locator("table")).to_contain_text(admin.email)  # the last request's answer is in

    # Two minutes (and the server's one-minute slack) before the 30 minutes are up: the warning.
    desk.clock.fast_forward("26:00")
    expect(desk.get_by_role("dialog")).to_have_count(0)
    desk.clock.fast_forward("01:30")
    desk.clock.run_for(2000)  # the countdown's next ticks
    dialog = desk.get_by_role("dialog", name="Are you still there?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("signed out after 30 minutes without activity")
    desk.check_screen("clinic-idle-warning")
    expect(dialog.get_by_role("button", name="Stay signed in")).to_be_focused()
    desk.keyboard.press("Enter")
    expect(desk.get_by_role("dialog")).to_have_count(0)

    # Away for good this time: the server ended the session; the sign-in says why and brings
    # the clinician back to the page they were on.
    desk.clock.fast_forward("27:40")
    desk.clock.run_for(2000)
    expect(desk.get_by_role("dialog", name="Are you still there?")).to_be_visible()
    age_sessions(admin.id, last_seen_at=31)
    desk.clock.fast_forward("03:00")
    desk.heading("Sign in to the clinic workspace")
    expect(desk.get_by_role("status").filter(has_text="Signed out")).to_contain_text(
        "30 minutes without activity"
    )
    desk.get_by_label("Work email").fill(admin.email)
    desk.get_by_label("Password").fill(PASSWORD)
    desk.get_by_role("button", name="Sign in").click()
    desk.heading("Staff")


def test_the_workspace_starts_even_when_the_session_answers_before_the_next_frame(desk):
    """The shell listens for the session answer from its first render: with the page's clock
    paused (no animation frame, no timer fires) the sign-in page still appears. (It listened
    after the next paint; an answer that came first left "Loading the clinic workspace" for good.)"""
    desk.context.clock.install(time=dt.datetime.now(dt.UTC))
    desk.clock.pause_at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    desk.goto("/clinic/")
    desk.heading("Sign in to the clinic workspace")


def test_typing_in_a_long_form_keeps_the_session_alive(desk, clinic_admin):
    """The server counts only requests: working in the page without sending anything (the
    enrolment form at the chair) checks the session quietly, so no warning interrupts."""
    _clinic, admin = clinic_admin
    desk.context.clock.install(time=dt.datetime.now(dt.UTC))
    sign_in(desk, admin.email)
    desk.heading("Patients")
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="Enrol a patient").click()
    desk.heading("Enrol a patient")
    expect(desk.get_by_label("Reason for treatment")).to_contain_text("Androgenetic")  # options loaded
    desk.clock.fast_forward("20:00")
    with desk.expect_request(lambda r: r.url.endswith("/api/auth/session")):
        desk.get_by_label("First name").type("Pa")
    desk.clock.fast_forward("20:00")  # 40 minutes since the page's last own request
    expect(desk.get_by_role("dialog")).to_have_count(0)
    desk.clock.fast_forward("08:00")  # then 28 minutes without a key: the warning
    desk.clock.run_for(2000)  # the countdown's next ticks
    expect(desk.get_by_role("dialog", name="Are you still there?")).to_be_visible()


def test_a_staff_change_asks_for_the_password_again_when_the_api_wants_it(desk, clinic_admin):
    _clinic, admin = clinic_admin
    sign_in(desk, admin.email)
    desk.heading("Patients")
    desk.get_by_role("link", name="Admin").click()
    desk.heading("Staff")
    age_sessions(admin.id, reauth_at=20)
    desk.get_by_label("Name").fill("Dr Jo Marsh")
    desk.get_by_label("Work email").fill("jo.marsh@clinic.example")
    desk.get_by_label("First password").fill("a long first password 77")
    desk.get_by_role("button", name="Add staff member").click()
    dialog = desk.get_by_role("dialog", name="Confirm your password")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Your password")).to_be_focused()
    desk.check_screen("clinic-reauth")
    dialog.get_by_label("Your password").fill("not my password")
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog.get_by_role("alert")).to_contain_text("That password is not right")
    dialog.get_by_label("Your password").fill(PASSWORD)
    dialog.get_by_role("button", name="Confirm").click()
    expect(desk.get_by_role("dialog")).to_have_count(0)
    expect(desk.locator("table")).to_contain_text("Dr Jo Marsh")
    expect(desk.locator("main")).to_contain_text("Dr Jo Marsh was added as a clinician")


def test_enrolment_at_the_chair_to_the_patients_phone(desk, new_page, clinic_admin, live_server):
    from support.factories import make_staff

    from .flows import onboard

    clinic, _admin = clinic_admin
    clinician = make_staff(clinic)
    sign_in(desk, clinician.email)
    desk.heading("Patients")
    expect(desk.get_by_role("link", name="Admin")).to_have_count(0)  # admins only
    desk.get_by_role("link", name="Enrol a patient").first.click()
    desk.heading("Enrol a patient")
    desk.check_screen("clinic-enrol")

    # Nothing filled in: the problems are listed, each linked to its field, and focus is on the list.
    desk.get_by_role("button", name="Enrol and show the invite QR code").click()
    summary = desk.get_by_role("alert")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("First name")
    expect(desk.get_by_label("First name")).to_have_attribute("aria-invalid", "true")

    desk.get_by_label("First name").fill("Pat")
    desk.get_by_label("Last name").fill("Okafor")
    desk.get_by_label("Email").fill("pat.okafor@mail.example")
    desk.get_by_label("Reason for treatment").select_option("androgenetic_alopecia")
    desk.locator("fieldset", has_text="Miniaturised hairs seen?").get_by_label("Yes").check()
    # Advanced traction alopecia blocks enrolment, with the reason, before anything is sent.
    traction = desk.locator("fieldset", has_text="Advanced traction alopecia")
    traction.get_by_label("Yes").check()
    expect(desk.get_by_role("alert").filter(has_text="Cannot be enrolled")).to_contain_text(
        "Not suitable: advanced traction alopecia"
    )
    expect(desk.get_by_role("button", name="Enrol and show the invite QR code")).to_be_disabled()
    traction.get_by_label("No").check()

    # The scalp map is clickable; the checkboxes beside it are the same choice.
    desk.locator('svg.scalp-map path.area[data-area="crown"]').click()
    expect(desk.get_by_label("Crown")).to_be_checked()
    desk.get_by_label("Parting line").check()
    expect(desk.locator("svg.scalp-map path.area.target")).to_have_count(2)
    expect(desk.get_by_label("Patient's time zone")).to_have_value("Europe/London")
    # This patient's massage time, within the protocol's bounds, differs from the clinic's.
    desk.get_by_text("Parameters for this patient").click()
    desk.get_by_label("Massage time (seconds)").fill("90")
    expect(desk.locator("#protocol")).to_contain_text("changed for this patient")
    kit = desk.get_by_role("group", name="Kit 1")
    kit.get_by_label("Batch number").fill("CAL-2611-A")
    expiry = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    kit.get_by_label("Expiry date").fill(expiry)
    # Reminder days too close together: the server's rule, shown at the field, nothing enrolled.
    days = desk.get_by_role("group", name="Reminder days")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        days.get_by_label(day).set_checked(day in ("Monday", "Tuesday"))
    desk.get_by_role("button", name="Enrol and show the invite QR code").click()
    expect(desk.get_by_role("alert").filter(has_text="There is a problem")).to_contain_text("Reminder days")
    expect(days.locator(".field-error")).to_contain_text("at least 3 days apart")
    days.get_by_label("Tuesday").uncheck()
    days.get_by_label("Thursday").check()
    desk.get_by_role("button", name="Enrol and show the invite QR code").click()

    desk.heading("Pat, scan this with your phone")
    expect(desk.get_by_role("status").filter(has_text="Enrolled")).to_be_visible()
    desk.check_screen("clinic-invite")
    link = read_qr(desk, ".qr-panel img")
    assert link == desk.locator("#invite-link").inner_text()
    assert "/#/invite/" in link

    # The printed sheet: only the sheet, with the QR code, the link and the first date at home.
    desk.emulate_media(media="print")
    expect(desk.locator(".topbar")).to_be_hidden()
    sheet = desk.locator(".print-sheet")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text(link)
    expect(sheet).to_contain_text("First application at home")
    expect(sheet.locator("img.qr-print")).to_be_visible()
    desk.emulate_media(media="screen")

    # The patient's phone opens the link (the server's public address is this test server's).
    phone, _ = new_page()
    token = link.split("/#/invite/", 1)[1]
    onboard(phone, token)

    # Back at the desk: the patient has joined, application 1 is the clinic's, the next one is planned.
    desk.get_by_role("link", name="Done: open Pat's page").click()
    desk.heading("Pat Okafor")
    expect(desk.locator("main")).to_contain_text("Joined the app")
    first = desk.locator("table.timeline tbody tr").first
    expect(first).to_contain_text("Done on time")
    expect(first).to_contain_text(re.compile("clinic", re.I))
    kits = desk.get_by_role("region", name="Kits")
    expect(kits.locator("tbody tr").first).to_contain_text("CAL-2611-A")
    expect(kits.locator("tbody tr").nth(1)).to_contain_text("Not yet")  # kit 2: dispatch recorded later
    desk.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    desk.heading("Patients")
    row = desk.locator("table.dashboard tbody tr", has_text="Okafor, Pat")
    expect(row).to_contain_text("Week 1 of 12")
    expect(row.locator("td").nth(3)).not_to_have_text("—")  # the next application, at home
