"""Today and the guided application say only what is true: when the next application may be
done (and moving it to today), who opened the half vial, counts that include what waits to sync,
and photo dates only while they are ahead."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from .flows import do_application, keep_for_offline, sign_in, wait_for_service_worker
from .helpers import weekdays_from_today

pytestmark = pytest.mark.browser

# "Mon 30 Nov, 04:39": a date with a time to the minute that nobody chose.
MACHINE_TIME = re.compile(r"\w{3} \d{1,2} \w{3}, \d\d:\d\d")


def test_between_due_days_too_soon_there_is_no_start_button(page, enrolled):
    # The clinic visit was yesterday: the next one is days away and the 48-hour gap has not passed.
    _patient, _course, email, password = enrolled(days_ago=1, reminder_weekdays=weekdays_from_today(3, 6))
    sign_in(page, email, password)
    card = page.locator(".next")
    expect(card).to_contain_text("Your next application is on")
    expect(card.get_by_role("button")).to_have_count(0)
    expect(page.get_by_role("button", name="Start application")).to_have_count(0)
    expect(page.get_by_role("button", name="Do it today instead")).to_have_count(0)
    expect(card).to_contain_text(
        re.compile(r"you can do it earlier, from (\w+day (morning|afternoon|evening)|\d\d:00 on \w+day)\.")
    )
    assert not MACHINE_TIME.search(card.inner_text().replace(card.locator(".due").inner_text(), ""))


def test_on_its_day_start_is_offered(page, enrolled):
    # Due today (the 48-hour gap since the clinic visit three days ago has passed).
    _patient, _course, email, password = enrolled(days_ago=3, reminder_weekdays=weekdays_from_today(0, 3))
    sign_in(page, email, password)
    expect(page.get_by_role("button", name="Start application")).to_be_visible()
    expect(page.locator(".next .badge")).to_have_text(re.compile("Due today|Due now"))
    expect(page.get_by_role("button", name="Do it today instead")).to_have_count(0)


def test_moving_the_next_one_to_today_says_what_moves_and_counts_it_as_moved(page, context, enrolled):
    # The clinic visit was 2.2 days ago (the gap has passed); the next is due the day after tomorrow.
    _patient, course, email, password = enrolled(days_ago=2.2, reminder_weekdays=weekdays_from_today(2, 5))
    context.clock.install(time=dt.datetime.now(dt.UTC))
    sign_in(page, email, password)
    # The clinic opened vial 1: the patient took its other half home.
    expect(page.locator(".kit")).to_contain_text(
        "plus the half vial the clinic opened at your first application"
    )
    card = page.locator(".next")
    expect(card.locator(".badge")).to_have_text("Coming up")
    expect(page.get_by_role("button", name="Start application")).to_have_count(0)
    page.check_screen("today-move")
    card.get_by_role("button", name="Do it today instead").click()
    expect(card).to_contain_text("Application 2 moves from")
    expect(card).to_contain_text("to today.")
    expect(card).to_contain_text(
        re.compile(r"Your next ones stay as planned: application 3 on \w{3} \d{1,2} \w{3}")
    )
    expect(card).to_contain_text("it counts as moved, not as on time")
    expect(card.get_by_role("button", name="Start application")).to_be_focused()

    card.get_by_role("button", name="Start application").click()
    page.heading("Get ready")
    page.get_by_role("button", name="Next").click()
    page.heading("Part your hair")
    page.get_by_role("button", name="Next").click()
    page.heading("Stamp each area")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_contain_text("fewer than 4 passes")
    page.get_by_role("button", name="Next").click()
    page.heading("Apply the serum")
    expect(page.locator(".callout")).to_have_text(
        "Use the half vial the clinic opened at your first application (vial 1 of kit 1). "
        "It will then be empty."
    )
    page.goto("/#/today")
    page.heading("Today")
    do_application_from_continue(page)
    expect(page.locator("#main")).to_contain_text("Saved. Your clinic can see it.")
    page.get_by_role("button", name="Back to Today").click()
    page.heading("Today")
    # The next one (#3) uses a new vial, and is not for today: no Start button.
    expect(page.locator(".kit")).to_contain_text("Kit 1: 5 unopened vials left.")
    expect(page.get_by_role("button", name="Start application")).to_have_count(0)
    page.get_by_role("link", name="Plan", exact=True).click()
    page.heading("Your plan")
    expect(page.locator(".adherence")).to_contain_text("1 on time · 1 moved · 0 late · 0 missed")
    expect(page.locator(".calendar .day.done_moved")).to_have_count(1)
    expect(page.locator(".calendar .day.done_moved")).to_contain_text("Application 2")


def do_application_from_continue(page):
    """Continues the session left at the serum step and finishes it (the massage timer run fast)."""
    page.get_by_role("button", name="Continue application").click()
    page.heading("Apply the serum")
    page.get_by_role("button", name="Next").click()
    page.heading("Massage it in")
    page.get_by_role("button", name="Start timer").click()
    page.clock.fast_forward("01:05")
    expect(page.locator(".timer")).to_have_text("Done", timeout=15_000)
    page.get_by_role("button", name="Next").click()
    page.heading("Aftercare")
    page.get_by_role("button", name="Next").click()
    page.heading("How did it go?")
    page.get_by_role("group", name="Redness").get_by_label("None").check()
    page.get_by_role("group", name="Irritation").get_by_label("None").check()
    page.get_by_role("group", name="Pain now").get_by_label("1", exact=True).check()
    page.get_by_role("button", name="Finish application").click()
    page.heading("Application done")


def test_an_offline_application_counts_at_once_marked_as_waiting(page, context, enrolled):
    _patient, _course, email, password = enrolled()  # #2 is overdue
    context.clock.install(time=dt.datetime.now(dt.UTC))
    sign_in(page, email, password)
    wait_for_service_worker(page)
    keep_for_offline(page)
    expect(page.locator(".progress-count")).to_contain_text("1 of 24 applications done.")
    expect(page.locator(".kit")).to_contain_text(
        "Kit 1: 5 unopened vials left, plus the half vial the clinic opened"
    )

    context.set_offline(True)
    do_application(page, fast_forward=lambda: page.clock.fast_forward("01:05"))
    expect(page.locator("#main")).to_contain_text("Saved on this phone")
    page.get_by_role("button", name="Back to Today").click()
    page.heading("Today")
    expect(page.locator(".next")).to_contain_text("waiting to sync")
    expect(page.locator(".progress-count")).to_have_text("2 of 24 applications done (1 waiting to sync).")
    expect(page.locator("#main")).not_to_contain_text("% of those due so far")
    kit = page.locator(".kit")
    expect(kit).to_contain_text("Kit 1: 5 unopened vials left.")
    expect(kit).to_contain_text("10 applications left in this kit.")
    expect(kit).to_contain_text("Counting 1 application waiting to sync.")
    page.get_by_role("link", name="Plan", exact=True).click()
    page.heading("Your plan")
    expect(page.locator(".calendar .day.pending")).to_have_count(1)
    expect(page.locator(".adherence")).to_contain_text("And 1 more done, waiting to sync")

    context.set_offline(False)
    expect(page.locator("#sync")).to_have_text("", timeout=15_000)
    page.get_by_role("link", name="Today", exact=True).click()
    page.heading("Today")
    expect(page.locator(".progress-count")).to_contain_text("2 of 24 applications done.")
    expect(kit).not_to_contain_text("waiting to sync")


def test_photo_dates_are_the_clinics_and_only_while_ahead(page, context, clinic):
    from support.factories import PASSWORD, make_enrolled_patient

    from anagen.clock import utcnow

    visit = (utcnow() + dt.timedelta(hours=1)).replace(microsecond=0)
    patient, _course = make_enrolled_patient(clinic, first_application_at=visit)
    context.clock.install(time=dt.datetime.now(dt.UTC))
    sign_in(page, patient.email, PASSWORD)
    wait_for_service_worker(page)
    photos = page.locator(".checkpoint")
    expect(photos).to_contain_text("Before you start (in clinic): your clinic takes these photos")

    # Two hours later, offline, from the copy kept on the phone: that date has passed.
    context.set_offline(True)
    page.clock.set_system_time(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    page.reload()
    page.heading("Today")
    expect(page.locator("#main")).to_contain_text("You are offline")
    expect(photos).to_have_count(0)
    expect(page.locator("#main")).not_to_contain_text("Before you start")
    context.set_offline(False)


def test_after_the_clinic_visit_its_photos_are_not_promised(page, enrolled):
    _patient, _course, email, password = enrolled()
    sign_in(page, email, password)
    photos = page.locator(".checkpoint")
    expect(photos).to_contain_text("End of kit 1: you take these photos with this app, after application 12")
    expect(page.locator("#main")).not_to_contain_text("Before you start")
