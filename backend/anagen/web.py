"""Serves the static PWA files (no build step) with the right scope and cache headers."""

from __future__ import annotations

from flask import Blueprint, abort, send_from_directory

from anagen.config import REPO_ROOT

FRONTEND = REPO_ROOT / "frontend"
PATIENT = FRONTEND / "patient"

bp = Blueprint("web", __name__)

# The shell changes with each release; the service worker versions its own cache, so
# the HTTP cache must not keep a stale shell or worker around.
NO_CACHE = "no-cache"


def _send(directory, filename, *, cache=NO_CACHE, mimetype=None):
    if not (directory / filename).is_file():
        abort(404)
    response = send_from_directory(directory, filename, mimetype=mimetype, max_age=0)
    response.headers["Cache-Control"] = cache
    return response


@bp.get("/")
def patient_app():
    """The patient PWA shell."""
    return _send(PATIENT, "index.html")


@bp.get("/sw.js")
def service_worker():
    """Served from the root so its scope covers the whole patient app."""
    response = _send(PATIENT, "sw.js", mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    return _send(PATIENT, "manifest.webmanifest", mimetype="application/manifest+json")


@bp.get("/app/<path:filename>")
def patient_static(filename: str):
    """JS, CSS and icons of the patient app."""
    return _send(PATIENT, filename)
