"""Installability, the service worker and offline start (and what it leaves to the network),
session resume, sign-out."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from .flows import sign_in, wait_for_service_worker

pytestmark = pytest.mark.browser

# The patient shell, as the server sends it for "/": its entry module is the patient app's.
SHELL_MARK = '<script type="module" src="/app/js/app.js">'
# Pages of the origin that are not the patient app: the coming clinic app, and one below it.
OUTSIDE = ("/clinic/", "/clinic/x")
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def test_manifest_icons_and_headers(page, live_server):
    response = page.goto("/")
    assert response.headers["content-security-policy"] == CSP
    manifest = page.request.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    m = manifest.json()
    assert m["name"] == "Anagen" and m["short_name"]
    assert m["start_url"] == "/" and m["scope"] == "/" and m["display"] == "standalone"
    assert m["theme_color"] and m["background_color"]
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in m["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in m["icons"]:
        assert page.request.get(icon["src"]).headers["content-type"] == "image/png"
    assert page.locator("link[rel=apple-touch-icon]").count() == 1
    assert page.request.get(page.locator("link[rel=apple-touch-icon]").get_attribute("href")).ok
    sw = page.request.get("/sw.js")
    assert sw.headers["service-worker-allowed"] == "/"
    assert "__ANAGEN_" not in sw.text()
    # No inline script or style anywhere in the shell.
    html = page.request.get("/").text()
    assert "<script>" not in html and " style=" not in html and " onclick" not in html


def test_app_starts_offline_and_never_caches_the_api(page, context, enrolled):
    _patient, _course, email, password = enrolled()
    sign_in(page, email, password)
    wait_for_service_worker(page)
    page.get_by_role("link", name="Plan", exact=True).click()
    page.heading("Your plan")
    # The plan has arrived (and been kept on the device) before the network goes.
    expect(page.locator(".calendar .day.has")).to_have_count(24)
    cached = _cache_urls(page)
    assert cached and not [u for u in cached if "/api/" in u]

    context.set_offline(True)
    page.goto("/#/today")
    page.reload()
    page.heading("Today")
    expect(page.locator("#main")).to_contain_text("You are offline")
    expect(page.locator(".next .course-label")).to_have_text("Application 2 of 24 · kit 1")
    page.get_by_role("link", name="Plan", exact=True).click()
    page.heading("Your plan")
    expect(page.locator(".calendar .day.has")).to_have_count(24)
    context.set_offline(False)


def _cache_urls(page) -> list[str]:
    return page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
                for (const req of await (await caches.open(name)).keys()) urls.push(req.url);
            }
            return urls;
        }"""
    )


def _fetch_from_page(page, paths):
    """What fetch() in the page gets for each path: [status, body] or "network error"."""
    return page.evaluate(
        """(paths) => Promise.all(paths.map((path) => fetch(path).then(
            async (r) => [r.status, await r.text()],
            () => "network error")))""",
        list(paths),
    )


def test_service_worker_never_answers_outside_the_patient_app(page, context, live_server):
    assert SHELL_MARK in page.request.get("/").text()
    page.goto("/")
    page.heading("Sign in")
    wait_for_service_worker(page)
    # The shared modules are kept with the shell: the app needs them to start offline.
    shared = {f"{live_server}/shared/{name}" for name in ("api.js", "dom.js", "format.js")}
    assert shared <= set(_cache_urls(page))
    for name in ("api.js", "dom.js", "format.js"):
        module = page.request.get(f"/shared/{name}")
        assert module.headers["content-type"].startswith("text/javascript")
        assert module.headers["cache-control"] == "no-cache"

    # Online: the server's own answer (whatever it is), never one from the worker.
    server = {path: page.request.get(path) for path in OUTSIDE}  # no worker in between
    for path in OUTSIDE:
        assert SHELL_MARK not in server[path].text()
        response = page.goto(path)
        assert not response.from_service_worker, path
        assert response.status == server[path].status, path
        assert response.headers["content-type"] == server[path].headers["content-type"], path
        assert SHELL_MARK not in response.text(), path
    # That page is in the worker's scope (the whole origin), yet even a module the apps
    # share does not come from the patient app's cache there.
    wait_for_service_worker(page)
    context.set_offline(True)
    assert _fetch_from_page(page, ["/shared/dom.js"]) == ["network error"]
    context.set_offline(False)
    page.goto("/")
    page.heading("Sign in")
    wait_for_service_worker(page)
    for path, got in zip(OUTSIDE, _fetch_from_page(page, OUTSIDE), strict=True):
        assert got[0] == server[path].status and SHELL_MARK not in got[1], path

    # Offline: a network error, not the patient app.
    context.set_offline(True)
    assert _fetch_from_page(page, OUTSIDE) == ["network error"] * len(OUTSIDE)
    for path in OUTSIDE:
        # A tab of its own each: Chromium reloads an error page by itself, which would
        # interrupt the next navigation in the same tab.
        tab = context.new_page()
        with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
            tab.goto(path)
        tab.wait_for_url("chrome-error://chromewebdata/")  # the browser's own error page
        assert tab.locator('script[src="/app/js/app.js"]').count() == 0, path
        tab.close()
    # The patient app itself still starts from the worker's cache.
    response = page.goto("/")
    assert response.from_service_worker
    expect(page.locator("h1")).to_be_visible()
    assert page.locator('script[src="/app/js/app.js"]').count() == 1
    assert _fetch_from_page(page, ["/shared/dom.js"])[0][0] == 200
    context.set_offline(False)


def test_interrupted_session_resumes_with_back_and_forward(page, enrolled):
    _patient, _course, email, password = enrolled()
    sign_in(page, email, password)
    page.get_by_role("button", name="Start application").click()
    page.heading("Get ready")
    page.get_by_role("button", name="Next").click()
    page.heading("Part your hair")
    page.get_by_role("button", name="Next").click()
    page.heading("Stamp each area")
    assert page.url.endswith("#/session/3")
    page.get_by_role("button", name="Add a pass to Crown").click()
    page.get_by_role("button", name="Add a pass to Crown").click()
    page.go_back()
    page.heading("Part your hair")
    page.go_forward()
    page.heading("Stamp each area")
    expect(page.locator("#count-crown")).to_have_text("2 of 4 passes")

    # Closing the app mid-session: Today offers to continue where the patient stopped.
    page.goto("/#/today")
    page.reload()
    page.heading("Today")
    expect(page.locator(".next")).to_contain_text("You stopped at step 3")
    page.get_by_role("button", name="Continue application").click()
    page.heading("Stamp each area")
    expect(page.locator("#count-crown")).to_have_text("2 of 4 passes")
    # Going further than the patient has been is not possible by editing the address.
    page.goto("/#/session/7")
    page.heading("Stamp each area")


def test_sign_out_leaves_nothing_personal(page, enrolled):
    _patient, _course, email, password = enrolled()
    sign_in(page, email, password)
    wait_for_service_worker(page)
    page.get_by_role("link", name="Settings", exact=True).click()
    page.heading("Settings")
    page.get_by_role("button", name="Sign out").click()
    page.heading("Sign in")
    left = page.evaluate(
        """async () => ({
            dbs: (await indexedDB.databases()).map((d) => d.name),
            local: localStorage.length,
            session: sessionStorage.length,
            caches: await caches.keys(),
        })"""
    )
    assert left["dbs"] == [] and left["local"] == 0 and left["session"] == 0
    assert all(name.startswith("anagen-shell-") for name in left["caches"])
    session = page.request.get("/api/auth/session").json()
    assert session["authenticated"] is False


def test_login_errors_are_plain(page, enrolled):
    _patient, _course, email, _password = enrolled()
    page.goto("/#/login")
    page.heading("Sign in")
    page.check_screen("login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")


def test_every_page_carries_the_csp_and_the_first_load_arrives_compressed(page, live_server):
    received = []
    page.on("response", lambda r: received.append(r))
    response = page.goto("/")
    assert response.headers["content-security-policy"] == CSP
    wait_for_service_worker(page)
    page.wait_for_load_state("networkidle")
    text = [
        r
        for r in received
        if r.url.startswith(live_server) and r.request.resource_type in {"document", "script", "stylesheet"}
    ]
    assert {urlparse(r.url).path for r in text} >= {"/", "/app/app.css", "/app/js/app.js", "/shared/api.js"}
    # Chromium asks for brotli, so every piece of the shell it loads is sent as brotli.
    assert [r.url for r in text if r.headers.get("content-encoding") != "br"] == []
    assert all("accept-encoding" in r.headers.get("vary", "").lower() for r in text)
    # The app's page at its other address, and an error page, are held to the same policy.
    for path in ("/app/index.html", "/clinic/"):
        other = page.request.get(path)
        assert other.headers["content-type"].startswith("text/html")
        assert other.headers["content-security-policy"] == CSP, path
