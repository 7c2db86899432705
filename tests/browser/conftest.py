"""Real headless Chromium against the real app, served from a thread of the test process
(so tests create patients through the services, on the same database)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from support.server import serving

CHROMIUM = os.environ.get("ANAGEN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
MOBILE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(app):
    """The session's app on http://localhost:<port> (localhost is a secure context, so the
    service worker registers)."""
    with serving(app, host="localhost") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from the system; a missing browser is a failure, never a skip."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. To install it: "
            "`apt-get install -y chromium` (or point ANAGEN_CHROMIUM at a Chromium binary).",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class Page:
    """A mobile page that records console errors and CSP violations, and checks axe."""

    def __init__(self, context, base_url):
        self.context = context
        self.base_url = base_url
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.set_default_timeout(15_000)

    def _console(self, msg):
        text = msg.text
        if "Content Security Policy" in text or (
            msg.type == "error" and "Failed to load resource" not in text
        ):
            self.errors.append(f"{msg.type}: {text}")

    def __getattr__(self, name):
        return getattr(self.page, name)

    def goto(self, path="/"):
        return self.page.goto(self.base_url + path)

    def heading(self, text, timeout=15_000):
        """Waits for the screen whose h1 contains `text`."""
        from playwright.sync_api import expect

        expect(self.page.locator("h1")).to_contain_text(text, timeout=timeout)

    def check_screen(self, name):
        """axe (WCAG 2.2 AA tags) finds nothing serious or critical; saves a screenshot when
        ANAGEN_SCREENSHOTS=1."""
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(
            self.page,
            options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
        )
        bad = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
        assert not bad, f"{name}: " + "; ".join(
            f"{v['id']} ({v['impact']}): "
            + repr([(n["target"], n.get("failureSummary", "")[:200]) for n in v["nodes"]][:3])
            for v in bad
        )
        if os.environ.get("ANAGEN_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def assert_clean(self):
        assert not self.errors, self.errors


@pytest.fixture
def context(browser, live_server):
    ctx = browser.new_context(base_url=live_server, locale="en-GB", timezone_id="Europe/London", **MOBILE)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, live_server):
    p = Page(context, live_server)
    yield p
    p.assert_clean()


@pytest.fixture
def clinic_admin(app_ctx):
    from support.factories import make_clinic

    return make_clinic("Northfield Hair Clinic")


@pytest.fixture
def clinic(clinic_admin):
    return clinic_admin[0]


@pytest.fixture
def enrolled(app_ctx, clinic_admin):
    """A patient who has already joined, with application 1 done in clinic `days_ago` days
    ago; returns (patient, course, email, password)."""
    from support.factories import PASSWORD, make_enrolled_patient

    from .helpers import course_started, record_in_clinic_application

    def make(days_ago=8.0, **overrides):
        clinic, admin = clinic_admin
        patient, course = make_enrolled_patient(clinic, **course_started(days_ago), **overrides)
        record_in_clinic_application(course, admin)
        return patient, course, patient.email, PASSWORD

    return make


@pytest.fixture
def invite_for(app_ctx):
    """Enrols a patient who has not set a password yet and returns (patient, course, token)."""
    from support.factories import make_enrolled_patient

    from anagen.clinic.invites import issue_invite
    from anagen.extensions import db

    def make(clinic, **overrides):
        patient, course = make_enrolled_patient(clinic, password=None, **overrides)
        _invite, token = issue_invite(patient, None, dt.timedelta(days=7))
        db.session.commit()
        return patient, course, token

    return make


@pytest.fixture
def new_page(browser, live_server):
    """Mobile pages in contexts of their own, for tests that need context options (granted
    permissions) or set-up before the first page (`setup(context)`, e.g. init scripts)."""
    made = []

    def make(setup=None, **options):
        ctx = browser.new_context(
            base_url=live_server, locale="en-GB", timezone_id="Europe/London", **MOBILE, **options
        )
        result = setup(ctx) if setup else None
        p = Page(ctx, live_server)
        made.append((ctx, p))
        return p, result

    yield make
    for ctx, _p in made:
        ctx.close()
    for _ctx, p in made:
        p.assert_clean()


@pytest.fixture
def desk(browser, live_server):
    """A staff member's desktop browser (records console errors and CSP violations)."""
    ctx = browser.new_context(base_url=live_server, locale="en-GB", timezone_id="Europe/London", **DESKTOP)
    p = Page(ctx, live_server)
    yield p
    ctx.close()
    p.assert_clean()
