"""Onboarding reads as one path: one step counter from the invite's welcome to the reminder
days, the clinic's name in sentences that work for any name, and the quiet hours a new patient
starts with, shown and changeable on the way and in Settings."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from anagen.clinic.enrolment import DEFAULT_QUIET_HOURS
from anagen.extensions import db
from anagen.models import Patient

from .flows import NEW_PASSWORD
from .helpers import course_started, record_in_clinic_application

pytestmark = pytest.mark.browser

CLINIC = "Phi Hair Clinic (demo)"


def step_label(page) -> str:
    label = page.locator(".progress-label")
    expect(label).to_have_count(1)
    return label.inner_text()


def test_one_step_counter_and_the_clinic_named_naturally(page, context, app_ctx, invite_for):
    from support.factories import make_clinic

    clinic, admin = make_clinic(CLINIC)
    patient, course, token = invite_for(clinic, quiet_hours=DEFAULT_QUIET_HOURS, **course_started(8))
    record_in_clinic_application(course, admin)
    labels = []

    page.goto(f"/#/invite/{token}")
    page.heading("Welcome, Pat")
    expect(page.locator("#main")).to_contain_text(f"{CLINIC} has invited you to Anagen.")
    labels.append(step_label(page))
    page.get_by_role("button", name="Get started").click()

    page.heading("Set your password")
    labels.append(step_label(page))
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Continue").click()

    page.heading("Sharing your photos")
    labels.append(step_label(page))
    main = page.locator("#main")
    expect(main).to_contain_text(f"Only the staff of {CLINIC} can see your photos.")
    expect(main).not_to_contain_text("'s staff")
    expect(main).not_to_contain_text(")'s")
    page.get_by_label("I agree to share my treatment photos").check()
    page.get_by_role("button", name="Create my account").click()

    page.heading("Add Anagen to your home screen")
    labels.append(step_label(page))
    page.get_by_role("button", name="Next").click()

    page.heading("Reminders on your phone")
    labels.append(step_label(page))
    page.get_by_role("button", name="Next").click()

    page.heading("Your reminder days")
    labels.append(step_label(page))
    assert labels == [f"Setting up · step {n} of 6" for n in range(1, 7)]

    # The quiet hours the clinic's enrolment gave, shown on the way and changeable.
    quiet = page.get_by_label("No notifications during quiet hours")
    expect(quiet).to_be_checked()
    expect(page.get_by_label("From")).to_have_value("21:30")
    expect(page.get_by_label("Until")).to_have_value("08:00")
    page.get_by_label("From").fill("22:00")
    page.get_by_label("Until").fill("07:30")
    page.get_by_role("button", name="Save and finish").click()
    page.heading("Today")

    db.session.expire_all()
    saved = db.session.get(Patient, patient.id)
    assert (saved.quiet_hours_start, saved.quiet_hours_end) == (dt.time(22, 0), dt.time(7, 30))

    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")
    expect(page.get_by_label("No notifications during quiet hours")).to_be_checked()
    expect(page.get_by_label("From")).to_have_value("22:00")
    expect(page.get_by_label("Until")).to_have_value("07:30")
    expect(page.locator("#main")).to_contain_text(
        f"Signed in as Pat {patient.last_name}, a patient of {CLINIC}."
    )


def test_without_quiet_hours_the_new_patient_default_is_offered(page, enrolled):
    from .flows import sign_in

    _patient, _course, email, password = enrolled()  # enrolled with no quiet hours
    sign_in(page, email, password)
    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")
    expect(page.get_by_label("No notifications during quiet hours")).not_to_be_checked()
    page.get_by_label("No notifications during quiet hours").check()
    expect(page.get_by_label("From")).to_have_value("21:30")
    expect(page.get_by_label("Until")).to_have_value("08:00")
