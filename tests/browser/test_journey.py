"""A new patient joins from an invite, does an application online, another offline that
syncs on reconnect (recorded exactly once), and sees adherence change."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from .flows import do_application, offer_accepted_if_made, onboard, wait_for_service_worker
from .helpers import course_started, logs_for, record_in_clinic_application

pytestmark = pytest.mark.browser


def test_invite_to_offline_application(page, context, clinic_admin, invite_for):
    clinic, admin = clinic_admin
    # Application 1 was done in clinic 8 days ago; 2 and 3 are now overdue.
    patient, course, token = invite_for(clinic, **course_started(8))
    record_in_clinic_application(course, admin)
    course_id = course.id

    # The phone's clock starts 5 days back, so application 2 is done at a time that keeps the
    # clinic's 48-hour gap before application 3 is done "now".
    now = dt.datetime.now(dt.UTC)
    context.clock.install(time=now - dt.timedelta(days=5))

    onboard(page, token, check=page.check_screen)
    expect(page.locator(".next .course-label")).to_have_text("Application 2 of 24 · kit 1")
    expect(page.locator(".due .badge")).to_have_text("Overdue")

    do_application(page, fast_forward=lambda: page.clock.fast_forward("01:05"))
    expect(page.locator("#main")).to_contain_text("Saved. Your clinic can see it.")
    assert logs_for(course_id, 2) == 1

    page.clock.set_system_time(now)
    page.get_by_role("button", name="Back to Today").click()
    page.heading("Today")
    expect(page.locator(".next .course-label")).to_have_text("Application 3 of 24 · kit 1")
    page.get_by_role("link", name="Plan", exact=True).click()
    page.heading("Your plan")
    before = page.locator(".adherence").inner_text()
    # Application 2, done on the phone's clock, may fall on a day before its due date: moved.
    done = ".calendar .day.done_on_time, .calendar .day.done_moved, .calendar .day.done_late"
    expect(page.locator(done)).to_have_count(2)
    wait_for_service_worker(page)

    # Offline: the application is kept in the outbox and shown as waiting.
    page.get_by_role("link", name="Today", exact=True).click()
    page.heading("Today")
    context.set_offline(True)
    # Depending on the weekday, application 3 is due today or may be moved to today.
    offer_accepted_if_made(page)
    do_application(page, fast_forward=lambda: page.clock.fast_forward("01:05"))
    expect(page.locator("#main")).to_contain_text("Saved on this phone")
    expect(page.locator("#sync")).to_have_text("1 change waiting to sync")
    page.get_by_role("button", name="Back to Today").click()
    expect(page.locator(".next")).to_contain_text("waiting to sync")
    assert logs_for(course_id, 3) == 0

    # Back online: the `online` event replays the outbox, once.
    context.set_offline(False)
    expect(page.locator("#sync")).to_have_text("", timeout=15_000)
    assert logs_for(course_id, 3) == 1
    page.get_by_role("link", name="Plan", exact=True).click()
    page.heading("Your plan")
    expect(page.locator(".adherence")).not_to_have_text(before)
    expect(page.locator(".big-number")).to_contain_text(re.compile(r"\d+ % done"))
    page.reload()
    page.heading("Your plan")
    assert logs_for(course_id, 3) == 1
