"""Serves the static apps (no build step) with the right scope and cache headers: the patient
PWA at /, /app/… and /sw.js, the staff workspace at /clinic/… and the modules the apps share at
/shared/…."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, request, send_from_directory

from anagen.auth.security import HTML_CSP
from anagen.config import REPO_ROOT

FRONTEND = REPO_ROOT / "frontend"
PATIENT = FRONTEND / "patient"
CLINIC = FRONTEND / "clinic"
SHARED = FRONTEND / "shared"

bp = Blueprint("web", __name__)

# The shell changes with each release; the service worker versions its own cache, so
# the HTTP cache must not keep a stale shell or worker around.
NO_CACHE = "no-cache"

# What the service worker precaches: the page, the manifest, everything under the app and
# the shared modules it imports (so it starts offline).
SHELL_SUFFIXES = {".html", ".js", ".css", ".png", ".svg", ".webmanifest"}
SHELL_ROOTS = ((PATIENT, "/app/"), (SHARED, "/shared/"))
NOT_UNDER_APP = {"index.html", "sw.js", "manifest.webmanifest"}


def _send(directory, filename, *, cache=NO_CACHE, mimetype=None):
    if not (directory / filename).is_file():
        abort(404)
    response = send_from_directory(directory, filename, mimetype=mimetype, max_age=0)
    response.headers["Cache-Control"] = cache
    if response.status_code == 200:
        # Read the (small) file into the response so Flask-Compress compresses it whole and
        # answers If-None-Match against the compressed ETag with a 304 (it skips both for a
        # streamed file).
        response.make_sequence()
    return response  # CSP, nosniff, no-referrer etc.: auth.security adds them to every response


def _send_static(directory, filename):
    if filename.endswith(".js"):
        return _send(directory, filename, mimetype="text/javascript")
    return _send(directory, filename)


def _shell_files() -> list[tuple[str, str, Path]]:
    """(URL prefix, path relative to its root, path) of every shell file, in a stable order."""
    return [
        (prefix, path.relative_to(root).as_posix(), path)
        for root, prefix in SHELL_ROOTS
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix in SHELL_SUFFIXES
    ]


@lru_cache(maxsize=4)
def _shell(stamp: tuple) -> tuple[str, list[str]]:
    """(version, URLs) of the app shell; the version is a hash of the files' contents."""
    digest = hashlib.sha256()
    urls = ["/", "/manifest.webmanifest"]
    for prefix, rel, path in _shell_files():
        digest.update(prefix.encode() + rel.encode() + b"\0" + path.read_bytes())
        if prefix != "/app/" or rel not in NOT_UNDER_APP:
            urls.append(prefix + rel)
    return digest.hexdigest()[:16], urls


def _shell_now() -> tuple[str, list[str]]:
    # Keyed on modification times so an edited file gives a new version without a restart.
    files = [path for _prefix, _rel, path in _shell_files()]
    stamp = tuple(sorted((p.as_posix(), p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    return _shell(stamp)


@bp.get("/")
def patient_app():
    """The patient PWA shell."""
    return _send(PATIENT, "index.html")  # its CSP: auth.security, as for every HTML response


@bp.get("/sw.js")
def service_worker():
    """Served from the root so its scope covers the whole patient app; the precache list
    and cache version are filled in here, so no build step is needed."""
    version, urls = _shell_now()
    source = (PATIENT / "sw.js").read_text(encoding="utf-8")
    source = source.replace("__ANAGEN_VERSION__", version).replace('["__ANAGEN_SHELL__"]', json.dumps(urls))
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = NO_CACHE
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Content-Security-Policy"] = HTML_CSP  # the worker's own policy
    response.add_etag()  # revalidated with a 304 while the shell is unchanged
    response.make_conditional(request)
    current_app.logger.debug("service worker version %s", version)
    return response  # nosniff, no-referrer etc.: auth.security adds them to every response


@bp.get("/manifest.webmanifest")
def manifest():
    return _send(PATIENT, "manifest.webmanifest", mimetype="application/manifest+json")


@bp.get("/app/<path:filename>")
def patient_static(filename: str):
    """JS, CSS and icons of the patient app."""
    return _send_static(PATIENT, filename)


@bp.get("/shared/<path:filename>")
def shared_static(filename: str):
    """The modules both apps import: the API client, the DOM helper, formatting."""
    return _send_static(SHARED, filename)


@bp.get("/clinic")
def clinic_root():
    return redirect("/clinic/", code=308)


@bp.get("/clinic/")
@bp.get("/clinic/<path:page>")
def clinic_app(page: str = ""):
    """The staff workspace's shell for every page under /clinic/ (its router draws the page,
    so a reloaded or bookmarked /clinic/patients/12 opens that patient). No service worker:
    staff work online, on shared computers, and nothing of theirs is kept for offline use."""
    return _send(CLINIC, "index.html")


@bp.get("/clinic/assets/<path:filename>")
def clinic_static(filename: str):
    """JS, CSS and the vendored UI library of the staff workspace; revalidated (no-cache, ETag)
    like the patient app's files, so a release is picked up on the next load."""
    return _send_static(CLINIC, filename)
