"""Serving the staff workspace: every page under /clinic/ is the shell (its router draws the
page), its files revalidate, nothing is inline (strict CSP), and nothing reaches the patient
app's service worker."""

from __future__ import annotations

import re

import pytest

from anagen.auth.security import HTML_CSP
from anagen.web import CLINIC


@pytest.mark.parametrize("path", ["/clinic/", "/clinic/patients/12", "/clinic/admin/audit?event=sign_in"])
def test_every_workspace_page_is_the_shell_under_the_strict_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == HTML_CSP
    assert response.headers["Cache-Control"] == "no-cache"
    assert b'src="/clinic/assets/js/app.js"' in response.data


def test_the_bare_address_moves_to_the_workspace(client):
    response = client.get("/clinic")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/clinic/")


def test_workspace_files_are_revalidated_and_a_missing_one_is_a_404(client):
    response = client.get("/clinic/assets/vendor/preact.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    again = client.get("/clinic/assets/vendor/preact.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/clinic/assets/js/no-such-file.js").status_code == 404
    assert client.get("/clinic/assets/../../backend/anagen/config.py").status_code == 404


def test_the_shell_has_no_inline_script_or_style():
    """The CSP forbids them; the browser tests record any violation on the pages they open."""
    text = (CLINIC / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", text)
    assert "<style" not in text and " style=" not in text
    assert not re.search(r"\son[a-z]+=", text)


def test_the_patient_apps_service_worker_does_not_precache_the_workspace(app):
    from anagen.web import _shell_now

    with app.app_context():
        _version, urls = _shell_now()
    assert urls and not [u for u in urls if u.startswith("/clinic")]


@pytest.mark.parametrize("shell", ["/", "/clinic/"])
def test_both_apps_take_the_palette_from_the_shared_tokens(client, shell):
    """One palette for the patient app and the workspace: each shell links the shared tokens
    before its own stylesheet, and the tokens are served (light and dark)."""
    page = client.get(shell).get_data(as_text=True)
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)
    assert sheets[0] == "/shared/tokens.css" and len(sheets) >= 2, sheets
    for href in sheets:
        response = client.get(href)
        assert response.status_code == 200 and response.mimetype == "text/css", href
    tokens = client.get("/shared/tokens.css").get_data(as_text=True)
    assert "--accent:" in tokens and "prefers-color-scheme: dark" in tokens
