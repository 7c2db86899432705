"""The clinic's photo review in real headless Chromium at a desktop viewport: photos awaiting
review, the patient page's grid of checkpoint by view, the comparison (slider and side by side)
drawn in the baseline's frame through the stored registration, its quality shown, mark
reviewed, a comment to the patient, a photo the registration was not confident about aligned by
two landmarks, the baseline added at the clinic, and outcome measures with their change from
baseline; axe on every screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .photo_helpers import (
    clinic_photo,
    kit_one_done,
    moved_scalp_jpeg,
    photo,
    register_pending,
    scalp_jpeg,
    sent_photo,
)
from .staff import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def follow_ups(enrolled, clinic_admin):
    """A patient at the end of kit 1 with baselines of the crown and the parting, a crown
    follow-up the registration aligns (the same scalp moved and re-lit) and a parting follow-up
    it cannot (another scalp)."""
    _clinic, admin = clinic_admin
    patient, course, _email, _password = enrolled(days_ago=45, first_name="Ruth", last_name="Ellis")
    kit_one_done(course)
    ids = {
        "crown_base": clinic_photo(patient, admin, "baseline", "crown", data=scalp_jpeg(seed=7)),
        "parting_base": clinic_photo(patient, admin, "baseline", "parting", data=scalp_jpeg(seed=21)),
        "crown": sent_photo(patient, "end_of_kit_1", "crown", moved_scalp_jpeg(seed=7)),
        "parting": sent_photo(patient, "end_of_kit_1", "parting", scalp_jpeg(seed=33)),
    }
    register_pending()
    assert photo(ids["crown"]).registration_status == "registered"
    assert photo(ids["parting"]).registration_status in {"low_confidence", "failed"}
    return patient, admin, ids


def _fills_its_frame(page, where):
    """The baseline, drawn in its own frame at the frame's scale, covers the frame exactly (the
    frame keeps the photo's proportions and the scale follows the frame's width)."""
    frame = page.locator(f"{where} .compare-frame").first.bounding_box()
    base = page.locator(f"{where} img.aligned-img").first.bounding_box()
    assert abs(base["width"] - frame["width"]) <= 1 and abs(base["height"] - frame["height"]) <= 1


def test_review_compare_comment_and_outcomes(desk, follow_ups):
    patient, admin, ids = follow_ups
    sign_in(desk, admin.email)
    desk.heading("Patients")
    desk.get_by_role("link", name="Photos to review").click()
    desk.heading("Photos awaiting review")
    rows = desk.locator("table.awaiting tbody tr")
    # The two photos Ruth sent; the baselines the clinic took are not waiting for anyone.
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="End of kit 1")).to_have_count(2)
    expect(rows.first).to_contain_text("Ruth Ellis")
    desk.check_screen("clinic-photos-awaiting")

    rows.filter(has_text="End of kit 1").get_by_role("link", name="Review Ruth Ellis's photo: Crown").click()
    desk.heading("Crown from above: compare")
    aligned = desk.get_by_label("Aligned to the baseline")
    expect(aligned).to_be_checked()
    expect(aligned).to_be_enabled()
    after = desk.locator("section.photo-panel").nth(1)
    expect(after).to_contain_text("Aligned to the baseline automatically: quality")
    expect(after).to_contain_text("matching points")
    # The follow-up is drawn through its stored homography; the baseline as it is.
    images = desk.locator(".compare-frame img.aligned-img")
    expect(images).to_have_count(2)
    assert "matrix3d" in images.nth(1).evaluate("(img) => img.style.transform")
    assert "matrix3d" not in images.nth(0).evaluate("(img) => img.style.transform")
    # The slider by keyboard and by buttons (no dragging needed).
    slider = desk.get_by_label("Slider: how much of the before photo shows")
    slider.focus()
    desk.keyboard.press("Home")
    expect(slider).to_have_value("0")
    desk.get_by_role("button", name="All before").click()
    expect(slider).to_have_value("100")
    desk.get_by_role("button", name="Half").click()
    _fills_its_frame(desk, ".compare-slider")
    desk.check_screen("clinic-photos-compare-slider")
    desk.get_by_label("Side by side").check()
    expect(desk.locator(".side-by-side figure")).to_have_count(2)
    _fills_its_frame(desk, ".side-by-side")
    desk.check_screen("clinic-photos-compare-side")

    after.get_by_role("button", name="Mark reviewed").click()
    expect(after).to_contain_text("Marked reviewed.")
    after.get_by_label("New comment").fill("Good density at the crown. Keep the same light next time.")
    after.get_by_role("button", name="Send comment").click()
    expect(after.locator(".comment-list")).to_contain_text("Good density at the crown.")
    crown = photo(ids["crown"])
    assert crown.reviewed_at is not None
    assert [c.text for c in crown.comments] == ["Good density at the crown. Keep the same light next time."]

    # The patient page: the grid, and an outcome measure at baseline and at the end of kit 1.
    desk.get_by_role("link", name="Ruth Ellis").click()
    section = desk.locator("section.photos-section")
    expect(section.locator("table.photo-grid")).to_be_visible()
    expect(section.get_by_role("link", name="Parting line, End of kit 1", exact=False)).to_be_visible()
    expect(section).to_contain_text("1 to review")
    form = section.locator("form.outcome-form")
    form.get_by_label("Checkpoint").select_option("baseline")
    form.get_by_label("Target area").select_option("crown")
    form.get_by_label("Hair count per cm²").fill("150")
    form.get_by_label("Cumulative thickness (mm/cm²)").fill("2.0")
    form.get_by_role("button", name="Save measurement").click()
    expect(form).to_contain_text("Saved: Crown, Before you start (in clinic).")
    form.get_by_label("Checkpoint").select_option("end_of_kit_1")
    form.get_by_label("Target area").select_option("crown")
    form.get_by_label("Hair count per cm²").fill("171")
    form.get_by_label("Cumulative thickness (mm/cm²)").fill("2.32")
    form.get_by_role("button", name="Save measurement").click()
    table = section.locator("table.outcomes")
    expect(table).to_contain_text("+14.0 %")
    expect(table).to_contain_text("+16.0 %")
    desk.check_screen("clinic-photos-grid")
    # Beside the photos too: the end-of-kit-1 crown photo with its change from baseline.
    section.get_by_role("link", name="Crown from above", exact=True).click()
    desk.heading("Crown from above: compare")
    measures = (
        desk.locator("section.photo-panel")
        .nth(1)
        .get_by_role("list", name="Outcome measures at this checkpoint")
    )
    expect(measures).to_have_text("Crown: 171 hairs/cm² (+14.0 %), 2.32 mm/cm² (+16.0 %)")


def test_a_photo_the_registration_could_not_align_is_aligned_by_two_landmarks(desk, follow_ups):
    patient, admin, ids = follow_ups
    sign_in(desk, admin.email)
    desk.heading("Patients")
    desk.goto(f"/clinic/patients/{patient.id}/photos/parting?b={ids['parting']}")
    desk.heading("Parting line: compare")
    expect(desk.get_by_label("Aligned to the baseline")).to_be_disabled()
    after = desk.locator("section.photo-panel").nth(1)
    expect(after).to_contain_text("Align it by two landmarks")
    after.get_by_role("button", name="Align by two landmarks").click()
    picker = desk.locator("section.landmarks")
    expect(picker.get_by_role("heading", name="Align by two landmarks")).to_be_focused()
    expect(picker.get_by_role("status")).to_contain_text("Next: Landmark 1 on the baseline.")
    desk.check_screen("clinic-photos-landmarks")
    base, follow = picker.locator(".pick-frame").nth(0), picker.locator(".pick-frame").nth(1)
    base.click(position={"x": 60, "y": 80})
    expect(picker.get_by_role("status")).to_contain_text("Next: Landmark 1 on this photo.")
    follow.click(position={"x": 70, "y": 90})
    # The second pair from the keyboard: the cross moves with the arrows, Enter places it.
    base.focus()
    for _ in range(6):
        desk.keyboard.press("Shift+ArrowDown")
    desk.keyboard.press("Enter")
    follow.focus()
    for _ in range(6):
        desk.keyboard.press("Shift+ArrowDown")
    desk.keyboard.press("Enter")
    expect(picker.get_by_role("status")).to_contain_text("Both landmarks placed.")
    picker.get_by_role("button", name="Save alignment").click()
    expect(desk.locator("section.landmarks")).to_have_count(0)
    expect(desk.get_by_label("Aligned to the baseline")).to_be_enabled()
    expect(after).to_contain_text("Aligned to the baseline by hand from two landmarks")
    parting = photo(ids["parting"])
    assert parting.registration_status == "manual"
    assert len(parting.registration_landmarks) == 2


def test_the_baseline_is_added_at_the_clinic_and_a_withdrawn_photo_is_shown_as_withdrawn(
    desk, enrolled, clinic_admin
):
    from anagen.clock import utcnow
    from anagen.extensions import db
    from anagen.models import Patient, Photo
    from anagen.photos import uploads
    from anagen.photos.storage import photo_storage

    _clinic, admin = clinic_admin
    patient, _course, _email, _password = enrolled(first_name="Omar", last_name="Haddad")
    db.session.get(Patient, patient.id).photo_consent_at = None  # not agreed in the app yet
    db.session.commit()
    sign_in(desk, admin.email)
    desk.heading("Patients")
    desk.goto(f"/clinic/patients/{patient.id}")
    section = desk.locator("section.photos-section")
    expect(section.locator("table.photo-grid")).to_be_visible()
    crown = section.locator("input[type=file]").first
    crown.set_input_files(
        files=[{"name": "crown.jpg", "mimeType": "image/jpeg", "buffer": scalp_jpeg(seed=4)}]
    )
    expect(section.get_by_role("alert")).to_contain_text("agreed in clinic")
    section.get_by_label("Omar agreed here in the clinic to the photos the clinic takes").check()
    crown.set_input_files(
        files=[{"name": "crown.jpg", "mimeType": "image/jpeg", "buffer": scalp_jpeg(seed=4)}]
    )
    expect(section.locator("img[alt^='Crown from above, Before you start']")).to_be_visible()
    db.session.get(Patient, patient.id).photo_consent_at = utcnow()  # agreed in the app since
    db.session.commit()
    withdrawn = sent_photo(patient, "ad_hoc", "crown", scalp_jpeg(seed=9))
    uploads.withdraw(db.session.get(Photo, withdrawn), photo_storage())
    db.session.commit()
    desk.reload()
    expect(section).to_contain_text("Withdrawn by the patient")
