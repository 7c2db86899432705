"""The patient downloads their own data from Settings (JSON and the FHIR Bundle, which validates),
and Today says plainly when the clinic has paused or ended the course."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from playwright.sync_api import expect

from anagen.course import lifecycle
from anagen.extensions import db

from .flows import sign_in

pytestmark = pytest.mark.browser


def test_settings_downloads_my_data_and_a_fhir_bundle(page, enrolled):
    patient, _course, email, password = enrolled(days_ago=3)
    sign_in(page, email, password)
    page.goto("/#/settings")
    page.heading("Settings")
    expect(page.get_by_role("heading", name="Your data")).to_be_visible()
    page.check_screen("settings-your-data")
    with page.expect_download() as got:
        page.get_by_role("link", name="Download my data").click()
    download = got.value
    assert download.suggested_filename == "my-anagen-data.json"
    data = json.loads(download.path().read_text(encoding="utf-8"))
    assert data["patient"]["email"] == patient.email and len(data["course"]["applications"]) == 24
    with page.expect_download() as got:
        page.get_by_role("link", name="Download for another clinic (FHIR)").click()
    bundle = json.loads(got.value.path().read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} >= {"Patient", "CarePlan", "Procedure"}


@pytest.mark.parametrize(("action", "heading"), [("pause", "Course paused"), ("end", "Course ended")])
def test_today_says_the_clinic_stopped_the_course(page, enrolled, action, heading):
    _patient, course, email, password = enrolled(days_ago=3)
    getattr(lifecycle, action)(course, "Resting the scalp")
    db.session.commit()
    sign_in(page, email, password)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("button", name="Start application")).to_have_count(0)
    page.check_screen(f"today-{action}d")
