"""The patient's course from the staff workspace in real headless Chromium (desktop): pausing
a course stops its reminders and resuming plans them again; the exports download and validate
(the clinic's adherence CSV, the patient's FHIR R4 Bundle)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .staff import sign_in

pytestmark = pytest.mark.browser


def pending_reminders(patient_id: int) -> list:
    from .helpers import reminders_of

    return [r for r in reminders_of(patient_id) if r.status == "pending"]


def test_pausing_a_course_stops_its_reminders_and_resuming_plans_them_again(desk, clinic_admin, enrolled):
    from support.factories import make_staff

    from anagen.extensions import db
    from anagen.reminders.occurrences import materialise_all, materialise_course

    clinic, _admin = clinic_admin
    patient, course, _email, _pw = enrolled(days_ago=2, first_name="Kim", last_name="Pause")
    materialise_course(db.session.merge(course))
    db.session.commit()
    assert pending_reminders(patient.id)

    sign_in(desk, make_staff(clinic).email)
    desk.heading("Patients")
    desk.get_by_role("link", name="Pause, Kim").click()
    desk.heading("Kim Pause")
    desk.get_by_role("button", name="Pause course").click()
    dialog = desk.get_by_role("dialog")
    expect(dialog).to_contain_text("No reminders are sent while it is paused")
    dialog.get_by_role("button", name="Pause course").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Give a reason")
    dialog.get_by_label("Reason").fill("Scalp infection: antibiotics for a week, then review.")
    desk.check_screen("clinic-pause")
    dialog.get_by_role("button", name="Pause course").click()
    expect(desk.get_by_role("dialog")).to_have_count(0)
    expect(desk.locator("main")).to_contain_text("Course paused: reminders stopped.")
    expect(desk.locator("main")).to_contain_text("Scalp infection: antibiotics for a week")
    assert pending_reminders(patient.id) == []
    materialise_all()  # the dispatcher's next tick plans nothing for a paused course
    db.session.commit()
    assert pending_reminders(patient.id) == []

    desk.get_by_role("button", name="Resume course").click()
    desk.get_by_role("dialog").get_by_role("button", name="Resume course").click()
    expect(desk.locator("main")).to_contain_text("Course resumed")
    materialise_all()
    db.session.commit()
    assert pending_reminders(patient.id)

    # Ending it is for good: no more reminders, and no pause or resume offered.
    desk.get_by_role("button", name="End course").click()
    dialog = desk.get_by_role("dialog")
    expect(dialog).to_contain_text("This can't be undone")
    dialog.get_by_label("Reason").fill("Moved abroad; will restart with a clinic there.")
    dialog.get_by_role("button", name="End course").click()
    expect(desk.locator("main")).to_contain_text("Course ended.")
    expect(desk.get_by_role("button", name="Pause course")).to_have_count(0)
    expect(desk.get_by_role("button", name="Resume course")).to_have_count(0)
    assert pending_reminders(patient.id) == []


def test_exports_download_and_validate(desk, clinic_admin, enrolled):
    import csv
    import io
    import json

    from fhir.resources.R4B.bundle import Bundle
    from support.factories import make_staff

    clinic, _admin = clinic_admin
    patient, _course, _email, _pw = enrolled(days_ago=5, first_name="Lee", last_name="Export")
    sign_in(desk, make_staff(clinic).email)
    desk.heading("Patients")

    with desk.expect_download() as info:
        desk.get_by_role("button", name="Download adherence (CSV)").click()
    raw = info.value.path().read_bytes()
    assert info.value.suggested_filename.endswith(".csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, so Excel reads accents right
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len([r for r in rows if "Export" in json.dumps(r)]) == 24  # one row per application

    desk.get_by_role("link", name="Export, Lee").click()
    desk.heading("Lee Export")
    # Kit 2 handed over at this visit: recorded from the kits table.
    kits = desk.get_by_role("region", name="Kits")
    kits.get_by_role("button", name="Record dispatch of kit 2").click()
    dialog = desk.get_by_role("dialog", name="Kit 2")
    dialog.get_by_label("Handed over or sent to the patient now").check()
    dialog.get_by_role("button", name="Save").click()
    expect(desk.locator("main")).to_contain_text("Kit 2 saved.")
    expect(kits.locator("tbody tr").nth(1)).not_to_contain_text("Not yet")
    with desk.expect_download() as info:
        desk.get_by_role("button", name="Download FHIR record").click()
    bundle = Bundle.model_validate_json(info.value.path().read_bytes())
    kinds = {entry.resource.__resource_type__ for entry in bundle.entry}
    assert {"Patient", "CarePlan", "Procedure"} <= kinds
    expect(desk.locator("main")).to_contain_text("Downloaded")
