"""The staff workspace's dashboard in real headless Chromium (desktop): flags in words,
server-side filtering and search, acknowledging a flag, the patient's page showing it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .staff import sign_in

pytestmark = pytest.mark.browser


def test_the_dashboard_flags_two_misses_and_a_clinician_acknowledges_it(desk, clinic_admin, enrolled):
    from support.factories import make_staff

    clinic, _admin = clinic_admin
    behind, _course, _email, _pw = enrolled(days_ago=12, first_name="Sam", last_name="Behind")
    enrolled(days_ago=1, first_name="Alex", last_name="Ontrack")
    sign_in(desk, make_staff(clinic).email)
    desk.heading("Patients")
    row = desk.locator("table.dashboard tbody tr", has_text="Behind, Sam")
    # In words, not colour alone; the most flagged first (the default order).
    expect(row.locator(".flags")).to_contain_text("Two misses in a row")
    expect(desk.locator("table.dashboard tbody tr").first).to_contain_text("Behind, Sam")
    desk.check_screen("clinic-dashboard")
    desk.emulate_media(color_scheme="dark")  # the patient app's dark palette, contrast checked too
    desk.check_screen("clinic-dashboard-dark")
    desk.emulate_media(color_scheme="light")
    desk.set_viewport_size({"width": 820, "height": 1180})  # a tablet held upright
    desk.check_screen("clinic-dashboard-tablet")
    desk.set_viewport_size({"width": 1366, "height": 900})

    # Filtering on a flag is the server's, and the address keeps it.
    desk.get_by_role("navigation", name="Filter by flag").get_by_role(
        "link", name=re.compile("Two misses")
    ).click()
    expect(desk.locator("table.dashboard tbody tr")).to_have_count(1)
    expect(desk.page).to_have_url(re.compile(r"flag=two_misses"))
    desk.get_by_label("Search by name or email").fill("ontrack")
    expect(desk.locator("table.dashboard tbody")).to_contain_text("No patients match")
    desk.get_by_label("Search by name or email").fill("")
    expect(desk.locator("table.dashboard tbody tr")).to_have_count(1)

    row.get_by_role("button", name=re.compile("Acknowledge")).click()
    dialog = desk.get_by_role("dialog")
    expect(dialog).to_contain_text("Acknowledge a flag: Sam Behind")
    desk.check_screen("clinic-acknowledge")
    dialog.get_by_label("Flag").select_option("two_misses")
    dialog.get_by_role("button", name="Acknowledge").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Write a short note")
    dialog.get_by_label("Note").fill("Called Sam: away for a week, restarting on Thursday.")
    dialog.get_by_role("button", name="Acknowledge").click()
    expect(desk.get_by_role("dialog")).to_have_count(0)
    expect(desk.locator("main")).to_contain_text("“Two misses in a row” acknowledged for Sam Behind")
    # Quiet now: no longer under the flag's filter, shown as acknowledged in the full list.
    expect(desk.locator("table.dashboard tbody")).to_contain_text("No patients match")
    desk.get_by_role("link", name="All patients").click()
    expect(row.locator(".flag.quiet")).to_contain_text("Two misses in a row")
    row.get_by_role("link", name="Behind, Sam").click()
    desk.heading("Sam Behind")
    expect(desk.locator("main")).to_contain_text("Called Sam: away for a week")
    desk.check_screen("clinic-patient")

    # Sam comes in: application 2 is done at the clinic, with a check-in.
    desk.get_by_role("button", name="Record an application done here").click()
    dialog = desk.get_by_role("dialog", name="Record application 2, done here today")
    dialog.get_by_label(re.compile(r"^Pain")).fill("3")
    dialog.get_by_label("Redness").select_option("mild")
    desk.check_screen("clinic-record")
    dialog.get_by_role("button", name="Record application 2").click()
    expect(desk.locator("main")).to_contain_text("Application 2 recorded as done at the clinic.")
    second = desk.locator("table.timeline tbody tr").nth(1)
    expect(second).to_contain_text("redness mild, pain 3/10")
    expect(second).to_contain_text(re.compile("clinic", re.I))

    # A message to the patient's Today screen.
    messages = desk.get_by_role("region", name="Messages to Sam")
    messages.get_by_role("button", name="Send message").click()
    expect(messages.get_by_role("alert")).to_contain_text("Write a message")
    messages.get_by_label("New message").fill("Good to see you today, Sam. Next one on Thursday evening.")
    messages.get_by_role("button", name="Send message").click()
    expect(messages.locator(".messages li").first).to_contain_text("Next one on Thursday evening")
    expect(messages.get_by_label("New message")).to_have_value("")

    # A new invite (the earlier one stops working), e.g. for a new phone or a forgotten password.
    desk.get_by_role("link", name="New invite QR code").click()
    desk.heading("Invite for Sam")
    desk.check_screen("clinic-new-invite")
    desk.get_by_role("button", name="Make a new invite").click()
    desk.heading("Sam, scan this with your phone")
    expect(desk.locator(".qr-panel img")).to_be_visible()
