"""Progress photos in the patient app, in real headless Chromium: the checkpoint screen, capture
through the phone's camera app (the file input) taken offline and sent when the phone is back
online, the live camera (Chromium's fake camera) with the outline, the last photo as a ghost and
the upload's progress bar, a refused file and its retry, the clinic's comments and withdrawing a
photo; axe on every screen, at 390 px, 320 px with large text and in landscape."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import CHROMIUM, CHROMIUM_ARGS, MOBILE, Page
from .flows import sign_in, wait_for_service_worker
from .photo_helpers import add_comment, clinic_photo, kit_one_done, patient_photos, scalp_heic, scalp_jpeg

pytestmark = pytest.mark.browser

FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
LANDSCAPE = {**MOBILE, "viewport": {"width": 844, "height": 390}}
SMALL = {**MOBILE, "viewport": {"width": 320, "height": 640}, "color_scheme": "dark"}


@pytest.fixture(scope="module")
def camera_browser(browser):
    """A second Chromium (from the same Playwright) whose getUserMedia gets a synthetic camera."""
    camera = browser.browser_type.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS + FAKE_CAMERA, headless=True
    )
    yield camera
    camera.close()


@pytest.fixture
def camera_page(camera_browser, live_server):
    made = []

    def make(**options):
        ctx = camera_browser.new_context(
            base_url=live_server,
            locale="en-GB",
            timezone_id="Europe/London",
            permissions=["camera"],
            **{**MOBILE, **options},
        )
        p = Page(ctx, live_server)
        made.append((ctx, p))
        return p

    yield make
    for ctx, p in made:
        ctx.close()
        p.assert_clean()


def _due_patient(enrolled):
    """A patient at the end of kit 1: application 12 done, so its photos are due."""
    patient, course, email, password = enrolled(days_ago=45)
    kit_one_done(course)
    return patient, course, email, password


def _open_photos(page):
    page.get_by_role("link", name="Photos", exact=True).click()
    page.heading("Progress photos")
    expect(page.locator("#cp-end_of_kit_1")).to_be_visible()


def test_photo_taken_offline_waits_on_the_phone_and_is_sent_when_back_online(page, context, enrolled):
    patient, _course, email, password = _due_patient(enrolled)
    sign_in(page, email, password)
    wait_for_service_worker(page)
    expect(page.locator(".due-photos")).to_contain_text("End of kit 1: 5 views to take")
    _open_photos(page)
    card = page.locator("section.checkpoint", has=page.locator("#cp-end_of_kit_1"))
    expect(card).to_contain_text("0 of 5 views done")
    page.check_screen("photos")

    context.set_offline(True)
    card.get_by_role("link", name="Start: Crown from above").click()
    page.heading("Crown from above")
    expect(page.locator(".course-label")).to_have_text("End of kit 1 · view 1 of 5")
    expect(page.locator("svg.outline path.outline-over").first).to_be_attached()
    page.locator("#photo-file").set_input_files(
        files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": scalp_jpeg()}]
    )
    expect(page.locator(".callout")).to_have_text("Check your photo")
    expect(page.locator("img.review")).to_be_visible()
    page.get_by_role("button", name="Send to Northfield Hair Clinic").click()
    expect(page.get_by_role("status").filter(has_text="Saved on this phone")).to_contain_text(
        "You are offline"
    )
    expect(page.locator("#sync")).to_have_text("1 change waiting to sync")
    assert patient_photos(patient.id) == []

    # Still offline: the photo is listed with what waits to sync, and on the Photos screen, and
    # the item belongs to this patient.
    page.get_by_role("link", name="1 change waiting to sync").click()
    page.heading("Waiting to sync")
    expect(page.locator("#main")).to_contain_text("Photo: Crown from above (End of kit 1)")
    page.check_screen("photos-waiting")
    page.go_back()
    page.heading("Crown from above")
    page.get_by_role("link", name="Back to your photos").click()
    page.heading("Progress photos")
    expect(card).to_contain_text("Saved on this phone, waiting to send.")
    expect(card).to_contain_text("1 of 5 views done")
    owners = page.evaluate(
        """() => import('/app/js/outbox.js').then((o) => o.pending()).then((items) => items.map(
            (i) => [i.kind, i.owner, i.fields.checkpoint, i.fields.view, i.file.data.byteLength]))"""
    )
    assert owners == [["photo", f"patient:{patient.id}", "end_of_kit_1", "crown", len(scalp_jpeg())]]

    # Back online: the outbox sends it by itself, once, and the screen shows it sent.
    context.set_offline(False)
    expect(page.locator("#sync")).to_have_text("", timeout=20_000)
    expect(card).to_contain_text("Sent ", timeout=10_000)
    expect(card.locator("img.thumb")).to_have_count(1)
    photos = patient_photos(patient.id)
    assert [(p.checkpoint, p.view, p.status) for p in photos] == [("end_of_kit_1", "crown", "active")]
    page.get_by_role("link", name="Today", exact=True).click()
    expect(page.locator(".due-photos")).to_contain_text("End of kit 1: 1 of 5 views taken.")


def test_live_camera_with_outline_ghost_and_upload_progress(camera_page, enrolled, clinic_admin):
    _clinic, admin = clinic_admin
    patient, _course, email, password = _due_patient(enrolled)
    clinic_photo(patient, admin, "baseline", "parting")  # the ghost to line up against
    page = camera_page()
    sign_in(page, email, password)
    _open_photos(page)
    page.locator("section.checkpoint", has=page.locator("#cp-end_of_kit_1")).get_by_role(
        "link", name="Take Parting line"
    ).click()
    page.heading("Parting line")
    ghost = page.locator("img.ghost")
    expect(ghost).to_be_visible()
    # The last photo, fetched with the session and shown from a blob: URL (the CSP allows blob: images).
    page.wait_for_function("() => document.querySelector('img.ghost').naturalWidth > 0")
    assert ghost.get_attribute("src").startswith("blob:")
    page.get_by_label("Show my last photo of this view to line up with").uncheck()
    expect(ghost).to_be_hidden()
    page.get_by_label("Show my last photo of this view to line up with").check()
    page.check_screen("photos-capture")

    page.get_by_role("button", name="Start the camera").click()
    expect(page.get_by_role("button", name="Take photo")).to_be_visible()
    page.wait_for_function("() => document.querySelector('video.live').videoWidth > 0")
    page.check_screen("photos-camera")
    page.get_by_role("button", name="Take photo").click()
    expect(page.locator(".callout")).to_have_text("Check your photo")
    # The camera is off once the photo is taken.
    assert page.evaluate("() => document.querySelector('video.live').srcObject?.active ?? false") is False
    page.check_screen("photos-review")

    # A slow uplink (DevTools throttling): the bar moves as the bytes leave, then the photo is sent.
    cdp = page.context.new_cdp_session(page.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 30_000},
    )
    page.evaluate(
        """() => {
            window.__bar = [];
            new MutationObserver((changes) => {
                for (const c of changes)
                    if (c.target.localName === 'progress') window.__bar.push(Number(c.target.value));
            }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['value'] });
        }"""
    )
    page.get_by_role("button", name="Send to Northfield Hair Clinic").click()
    expect(page.locator(".progress-label")).to_contain_text("%")
    expect(page.get_by_role("status").filter(has_text="Sent to Northfield Hair Clinic.")).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_role("link", name="Next: Frontal hairline")).to_be_focused()
    page.check_screen("photos-sent")
    seen = page.evaluate("() => window.__bar")
    assert any(0 < v < 100 for v in seen) and seen[-1] == 100, seen
    photos = patient_photos(patient.id)
    sent = [p for p in photos if p.checkpoint == "end_of_kit_1"]
    assert [(p.view, p.width * 4 == p.height * 3) for p in sent] == [("parting", True)]  # a 3:4 frame


def test_a_refused_file_says_why_and_can_be_taken_again(page, enrolled):
    patient, _course, email, password = _due_patient(enrolled)
    sign_in(page, email, password)
    _open_photos(page)
    page.goto("/#/photos/end_of_kit_1/frontal_hairline")
    page.heading("Frontal hairline")
    page.locator("#photo-file").set_input_files(
        files=[
            {
                "name": "notes.jpg",
                "mimeType": "image/jpeg",
                "buffer": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            }
        ]
    )
    page.get_by_role("button", name="Send to Northfield Hair Clinic").click()
    expect(page.get_by_role("alert")).to_contain_text("Not accepted:")
    expect(page.locator("#sync")).to_have_text("1 change could not be saved")
    page.get_by_role("button", name="Take it again").click()
    expect(page.locator("#sync")).to_have_text("")
    page.locator("#photo-file").set_input_files(
        files=[{"name": "IMG_0002.jpg", "mimeType": "image/jpeg", "buffer": scalp_jpeg(seed=3)}]
    )
    page.get_by_role("button", name="Send to Northfield Hair Clinic").click()
    expect(page.get_by_role("status").filter(has_text="Sent to Northfield Hair Clinic.")).to_be_visible()
    assert [p.view for p in patient_photos(patient.id)] == ["frontal_hairline"]


def test_clinic_comments_and_withdrawing_a_photo_sent_by_mistake(page, enrolled, clinic_admin):
    _clinic, admin = clinic_admin
    patient, _course, email, password = _due_patient(enrolled)
    clinic_photo(patient, admin, "baseline", "crown")
    sign_in(page, email, password)
    _open_photos(page)
    page.goto("/#/photos/end_of_kit_1/crown")
    page.heading("Crown from above")
    page.locator("#photo-file").set_input_files(
        files=[{"name": "IMG_0003.jpg", "mimeType": "image/jpeg", "buffer": scalp_jpeg(seed=5)}]
    )
    page.get_by_role("button", name="Send to Northfield Hair Clinic").click()
    expect(page.get_by_role("status").filter(has_text="Sent to Northfield Hair Clinic.")).to_be_visible()
    sent = next(p for p in patient_photos(patient.id) if p.checkpoint == "end_of_kit_1")
    add_comment(sent.id, admin, "Lovely and sharp. Next time part a little further back.")

    page.get_by_role("link", name="See your photos").click()
    page.heading("Progress photos")
    baseline = page.locator("section.checkpoint", has=page.locator("#cp-baseline"))
    expect(baseline).to_contain_text("Taken at the clinic")
    expect(baseline.get_by_role("button", name="Withdraw this photo")).to_have_count(0)
    card = page.locator("section.checkpoint", has=page.locator("#cp-end_of_kit_1"))
    expect(card.get_by_role("list", name="Comments from Northfield Hair Clinic")).to_contain_text(
        "Lovely and sharp. Next time part a little further back."
    )
    page.check_screen("photos-comment")

    card.get_by_role("button", name="Withdraw this photo").click()
    dialog = page.get_by_role("dialog", name="Withdraw this photo?")
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    dialog.get_by_role("button", name="Withdraw", exact=True).click()
    expect(card).to_contain_text("Withdrawn")
    expect(card).to_contain_text("can see that a photo was withdrawn, not the photo")
    expect(card.get_by_role("link", name="Take Crown from above")).to_be_visible()
    assert [(p.checkpoint, p.status) for p in patient_photos(patient.id)] == [
        ("baseline", "active"),
        ("end_of_kit_1", "withdrawn"),
    ]


def test_an_iphone_heic_photo_the_browser_cannot_preview_is_still_sent(page, enrolled):
    patient, _course, email, password = _due_patient(enrolled)
    sign_in(page, email, password)
    page.goto("/#/photos/end_of_kit_1/left_temple")
    page.heading("Left temple")
    page.locator("#photo-file").set_input_files(
        files=[{"name": "IMG_0005.HEIC", "mimeType": "image/heic", "buffer": scalp_heic()}]
    )
    expect(page.locator(".stage-hint")).to_contain_text("cannot be shown here. It will be sent as it is")
    page.get_by_role("button", name="Send to Northfield Hair Clinic").click()
    expect(page.get_by_role("status").filter(has_text="Sent to Northfield Hair Clinic.")).to_be_visible()
    [sent] = patient_photos(patient.id)
    assert (sent.view, sent.source_media_type, sent.media_type) == ("left_temple", "image/heic", "image/jpeg")


def test_an_extra_photo_between_checkpoints(page, enrolled):
    patient, _course, email, password = enrolled()  # early in the course: no checkpoint due
    sign_in(page, email, password)
    page.get_by_role("link", name="Photos", exact=True).click()
    page.heading("Progress photos")
    page.get_by_role("link", name="Extra photo: Left temple").click()
    page.heading("Left temple")
    expect(page.locator(".course-label")).to_have_text("Extra photos")
    page.locator("#photo-file").set_input_files(
        files=[{"name": "IMG_0004.jpg", "mimeType": "image/jpeg", "buffer": scalp_jpeg(seed=6)}]
    )
    page.get_by_role("button", name="Send to Northfield Hair Clinic").click()
    expect(page.get_by_role("status").filter(has_text="Sent to Northfield Hair Clinic.")).to_be_visible()
    expect(page.locator("#main")).to_contain_text("Thank you.")
    assert [(p.checkpoint, p.view) for p in patient_photos(patient.id)] == [("ad_hoc", "left_temple")]


def test_without_consent_the_photos_screen_asks_first(page, enrolled):
    from anagen.extensions import db
    from anagen.models import Patient

    patient, _course, email, password = _due_patient(enrolled)
    db.session.get(Patient, patient.id).photo_consent_at = None
    db.session.commit()
    sign_in(page, email, password)
    page.goto("/#/photos/end_of_kit_1/crown")
    page.heading("Crown from above")
    expect(page.locator("#main")).to_contain_text("You have not agreed to share your photos")
    page.get_by_role("link", name="Decide on the Photos screen").click()
    page.heading("Progress photos")
    # A photo queued before (as when the agreement was taken back meanwhile): refused, kept.
    page.evaluate(
        """(bytes) => import('/app/js/outbox.js').then((o) => o.enqueue({
            kind: 'photo', method: 'POST', path: '/api/me/photos', label: 'Photo: Crown from above',
            file: { data: new Uint8Array(bytes).buffer, type: 'image/jpeg', name: 'crown.jpg' },
            fields: { checkpoint: 'end_of_kit_1', view: 'crown' },
        }).then(() => o.replay()))""",
        list(scalp_jpeg(width=300, height=400)),
    )
    expect(page.locator("#sync")).to_have_text("1 change could not be saved")
    consent = page.locator("form.consent")
    page.check_screen("photos-consent")
    consent.get_by_label("I agree to share my treatment photos with Northfield Hair Clinic.").check()
    consent.get_by_role("button", name="Save").click()
    expect(consent).to_have_count(0)
    # Agreed: the photo refused for want of it is sent by itself.
    expect(page.locator("#sync")).to_have_text("")
    assert [p.view for p in patient_photos(patient.id)] == ["crown"]
    db.session.rollback()
    assert db.session.get(Patient, patient.id).photo_consent_at is not None
    page.goto("/#/photos/end_of_kit_1/crown")
    expect(page.get_by_role("button", name="Take or choose a photo")).to_be_visible()


def test_the_checkpoint_reminder_opens_the_photos(page, enrolled):
    from anagen.reminders.dispatcher import SCREENS

    _patient, _course, email, password = _due_patient(enrolled)
    sign_in(page, email, password)
    # A tapped notification with the app open: the worker asks the page for the reminder's screen.
    page.evaluate(
        """(url) => navigator.serviceWorker.dispatchEvent(
            new MessageEvent('message', { data: { type: 'anagen:open', url } }))""",
        SCREENS["checkpoint"],
    )
    page.heading("Progress photos")
    # Opened from the notification with the app closed: the same screen.
    page.goto(SCREENS["checkpoint"])
    page.heading("Progress photos")


@pytest.mark.parametrize("options", [SMALL, LANDSCAPE], ids=["320px-large-text-dark", "landscape"])
def test_camera_screen_fits_small_and_landscape(camera_page, enrolled, options):
    _patient, _course, email, password = _due_patient(enrolled)
    page = camera_page(**options)
    sign_in(page, email, password)
    page.goto("/#/photos/end_of_kit_1/crown")
    page.heading("Crown from above")
    if options is SMALL:
        page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
        page.goto("/#/photos")
        page.heading("Progress photos")
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.check_screen("photos-dark-320")
        page.goto("/#/photos/end_of_kit_1/crown")
        page.heading("Crown from above")
    page.get_by_role("button", name="Start the camera").click()
    take = page.get_by_role("button", name="Take photo")
    expect(take).to_be_visible()
    name = "photos-camera-" + ("dark-320" if options is SMALL else "landscape")
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
    stage = page.locator(".stage").bounding_box()
    view = options["viewport"]
    assert stage["width"] <= view["width"] and stage["height"] <= view["height"]
    if options is LANDSCAPE:
        # Beside the frame, not under it: the button is on screen without scrolling.
        box = take.bounding_box()
        assert box["x"] >= stage["x"] + stage["width"] and box["y"] + box["height"] <= view["height"]
    page.check_screen(name)
