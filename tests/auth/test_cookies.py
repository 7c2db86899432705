"""The session cookie's lifetime (a patient's installed app stays signed in, a staff sign-in ends
with the browser, sign-out expires it) and the Content-Security-Policy of every HTML page."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime

import pytest
from support.factories import make_clinic, make_enrolled_patient

from anagen.auth.security import HTML_CSP, SESSION_COOKIE
from anagen.clinic.invites import issue_invite
from anagen.extensions import db

# A new password no common-password list holds.
NEW_PASSWORD = "quartz-ferry-lantern-41"


def session_cookie(response) -> dict[str, str]:
    """The attributes of the session cookie the response sets, by lower-case name."""
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{SESSION_COOKIE}="))
    attributes = {}
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return attributes


def test_a_patient_session_cookie_lasts_the_servers_absolute_lifetime(app, app_ctx, api):
    clinic, _admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cookie = session_cookie(api.login(patient.email))
    lifetime = dt.timedelta(days=app.config["PATIENT_ABSOLUTE_DAYS"])
    assert int(cookie["max-age"]) == lifetime.total_seconds()
    expires = parsedate_to_datetime(cookie["expires"])
    assert before + lifetime <= expires <= before + lifetime + dt.timedelta(seconds=5)


def test_the_patient_cookie_follows_the_configured_lifetime(app, app_ctx, api, monkeypatch):
    monkeypatch.setitem(app.config, "PATIENT_ABSOLUTE_DAYS", 30)
    clinic, _admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    assert session_cookie(api.login(patient.email))["max-age"] == str(30 * 86400)


def test_redeeming_an_invite_signs_the_patient_in_for_the_same_lifetime(app, app_ctx, api):
    clinic, _admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic, password=None)
    _invite, token = issue_invite(patient, None, dt.timedelta(days=7))
    db.session.commit()
    response = api.post(
        "/api/invites/redeem", {"token": token, "password": NEW_PASSWORD, "photo_consent": False}
    )
    assert response.status_code == 200, response.get_json()
    assert session_cookie(response)["max-age"] == str(app.config["PATIENT_ABSOLUTE_DAYS"] * 86400)


def test_a_staff_session_cookie_ends_with_the_browser(app_ctx, api):
    _clinic, admin = make_clinic()
    cookie = session_cookie(api.login(admin.email, account="staff"))
    assert "max-age" not in cookie and "expires" not in cookie
    assert "httponly" in cookie and cookie["samesite"] == "Lax" and cookie["path"] == "/"


@pytest.mark.parametrize("account", ["patient", "staff"])
def test_signing_out_expires_the_cookie(app_ctx, api, account):
    clinic, admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    api.login(patient.email if account == "patient" else admin.email, account=account)
    assert api.client.get_cookie(SESSION_COOKIE) is not None
    response = api.post("/api/auth/logout")
    assert response.status_code == 204
    cookie = session_cookie(response)
    assert cookie["max-age"] == "0"
    assert parsedate_to_datetime(cookie["expires"]) < dt.datetime.now(dt.UTC)
    assert api.client.get_cookie(SESSION_COOKIE) is None


def html_get_routes(app) -> list[str]:
    """A concrete URL for every GET route that is not the JSON API or the health check."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/healthz")):
            continue
        urls.append(rule.rule.replace("<path:filename>", "index.html"))
    return sorted(urls)


def test_every_html_response_carries_the_strict_csp(app, client):
    urls = html_get_routes(app)
    assert {"/", "/app/index.html", "/sw.js", "/shared/index.html"} <= set(urls)
    # Error pages outside the API are HTML too (the coming clinic app's address among them).
    urls += ["/clinic/", "/clinic/x", "/no-such-page", "/app/no-such-file.js"]
    html = []
    for url in urls:
        response = client.get(url)
        if response.mimetype == "text/html":
            html.append(url)
            assert response.headers.get("Content-Security-Policy") == HTML_CSP, url
            assert response.headers["X-Frame-Options"] == "DENY"
    assert {"/", "/app/index.html", "/clinic/", "/no-such-page"} <= set(html)


def test_an_html_error_from_a_failing_page_carries_the_csp(app, client, monkeypatch):
    import anagen.web

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(anagen.web, "send_from_directory", broken)
    response = client.get("/")
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == HTML_CSP


def test_the_csp_stays_strict():
    directives = dict(part.strip().split(" ", 1) for part in HTML_CSP.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in HTML_CSP and "*" not in HTML_CSP
