"""Per-request security: the session cookie, CSRF, and response headers.

CSRF is checked by hand rather than with Flask-WTF: Flask-WTF keeps its secret in
Flask's client-side cookie session, which this app deliberately does not use. Here
the token is an HMAC of the server-side session token, so it dies with the session.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from flask import current_app, g, request
from flask_login import current_user

from anagen.auth import accounts, audit
from anagen.errors import Unauthenticated
from anagen.extensions import db, login_manager
from anagen.models import Patient, StaffUser

SESSION_COOKIE = "anagen_session"
CSRF_COOKIE = "anagen_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGN_IN = "Please sign in."

# Strict policy for every HTML page (the app shell, error pages): no inline script, style or
# handlers anywhere.
HTML_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def _policies() -> dict[str, accounts.SessionPolicy]:
    c = current_app.config
    return {
        "staff": accounts.SessionPolicy(
            idle=dt.timedelta(minutes=c["STAFF_IDLE_MINUTES"]),
            absolute=dt.timedelta(hours=c["STAFF_ABSOLUTE_HOURS"]),
        ),
        "patient": accounts.SessionPolicy(
            idle=dt.timedelta(days=c["PATIENT_IDLE_DAYS"]),
            absolute=dt.timedelta(days=c["PATIENT_ABSOLUTE_DAYS"]),
        ),
    }


def load_account_from_cookie(req) -> accounts.Account | None:
    """Flask-Login's request loader: the account of the server-side session the cookie names."""
    token = req.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    return accounts.load_account(token, _policies())


def unauthorized():
    """Flask-Login's answer when `@login_required` finds no one signed in: the JSON 401."""
    from anagen.api.errors import json_error

    return json_error(401, Unauthenticated.code, SIGN_IN)


def csrf_secret() -> str:
    """What the CSRF token is derived from: the session token, else the anonymous CSRF cookie."""
    if getattr(g, "new_session_token", None):
        return g.new_session_token
    token = request.cookies.get(SESSION_COOKIE)
    if token and current_user.is_authenticated:
        return token
    if not getattr(g, "anon_csrf", None):
        g.anon_csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return g.anon_csrf


def current_csrf_token() -> str:
    """This session's CSRF token; the response that carries it is not compressed (see
    `carries_secret`)."""
    g.csrf_in_body = True
    return accounts.csrf_token(current_app.config["SECRET_KEY"], csrf_secret())


def carries_secret() -> bool:
    """Whether this request's response body holds the CSRF token: compressing a secret next to
    text an attacker can influence lets them guess it from the compressed length (BREACH)."""
    return bool(getattr(g, "csrf_in_body", False))


def signed_in(token: str, kind: str) -> None:
    """Mark the response to set a new session cookie (called by login and invite redemption)."""
    g.new_session_token = token
    g.new_session_kind = kind


def _session_cookie_max_age(kind: str) -> int | None:
    # A patient's installed app stays signed in for the server's absolute lifetime; a staff
    # cookie ends with the browser (shared clinic computers), the server's limits still apply.
    if kind == "patient":
        return int(dt.timedelta(days=current_app.config["PATIENT_ABSOLUTE_DAYS"]).total_seconds())
    return None


def signed_out() -> None:
    g.clear_session_cookie = True


def check_csrf():
    """Refuse a state-changing API request that does not carry this session's CSRF token."""
    if request.method not in UNSAFE_METHODS or not request.path.startswith("/api/"):
        return None
    if request.routing_exception is not None:
        return None  # no such route or method: the 404/405 changes nothing
    if not accounts.csrf_valid(
        current_app.config["SECRET_KEY"], csrf_secret(), request.headers.get(CSRF_HEADER)
    ):
        from anagen.api.errors import json_error

        return json_error(
            403, "csrf_failed", "This page is out of date. Reload it and try again; nothing was changed."
        )
    return None


def set_cookies_and_headers(response):
    cfg = current_app.config
    secure = cfg["SESSION_COOKIE_SECURE"] or request.is_secure
    if getattr(g, "new_session_token", None):
        response.set_cookie(
            SESSION_COOKIE,
            g.new_session_token,
            max_age=_session_cookie_max_age(g.new_session_kind),
            httponly=True,
            secure=secure,
            samesite="Lax",
            path="/",
        )
        response.delete_cookie(CSRF_COOKIE, path="/")
    elif getattr(g, "clear_session_cookie", False):
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, secure=secure, samesite="Lax")
    if getattr(g, "anon_csrf", None) and request.cookies.get(CSRF_COOKIE) != g.anon_csrf:
        response.set_cookie(
            CSRF_COOKIE, g.anon_csrf, httponly=True, secure=secure, samesite="Strict", path="/"
        )
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "geolocation=(), microphone=()")
    if request.path.startswith("/api/") or request.path == "/healthz":
        # Health data: never stored by the browser or any proxy (a route may say more, as the
        # photo images' "private, no-store" does).
        if "no-store" not in headers.get("Cache-Control", ""):
            headers["Cache-Control"] = "no-store"
        headers.setdefault("Content-Security-Policy", API_CSP)
    if response.mimetype == "text/html":
        # Every page, whichever route or error handler made it (static files included).
        headers.setdefault("Content-Security-Policy", HTML_CSP)
    if secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _fresh_request_state() -> None:
    # `g` belongs to the app context, which a caller (a test, a CLI command) may keep
    # open across several requests: per-request state must not leak between them.
    for name in (
        "_login_user",
        "new_session_token",
        "new_session_kind",
        "clear_session_cookie",
        "anon_csrf",
        "csrf_in_body",
    ):
        g.pop(name, None)


def init_app(app) -> None:
    """Flask-Login on the server-side session, CSRF before each request, headers after it."""
    login_manager.init_app(app)
    # The account comes from the session cookie alone (no user_loader): Flask's own
    # signed-cookie session, where a user_loader would look, is never used.
    login_manager.request_loader(load_account_from_cookie)
    login_manager.unauthorized_handler(unauthorized)
    login_manager.session_protection = None
    app.before_request(_fresh_request_state)
    app.before_request(check_csrf)
    app.after_request(set_cookies_and_headers)


@dataclass(frozen=True)
class SessionState:
    """A session as the apps see it: the signed-in account (or none) and the CSRF token to send back."""

    account: accounts.Account | None
    csrf_token: str

    @property
    def authenticated(self) -> bool:
        return self.account is not None

    @property
    def idle_timeout_seconds(self) -> int | None:
        """How long the session lives without a request (the staff workspace warns before it ends)."""
        if self.account is None:
            return None
        return int(_policies()[self.account.kind].idle.total_seconds())


def current_session() -> SessionState:
    """This request's session, signed in or not."""
    acct = current_user._get_current_object() if current_user.is_authenticated else None
    return SessionState(account=acct, csrf_token=current_csrf_token())


def begin(kind: str, user: StaffUser | Patient) -> SessionState:
    """Start a fresh session for a user (audited) and answer with it."""
    record, token = accounts.start_session(kind, user, request.headers.get("User-Agent"))
    signed_in(token, kind)
    audit.record(
        "sign_in", clinic_id=user.clinic_id, actor_type=kind, actor_id=user.id, ip=request.remote_addr
    )
    db.session.commit()
    return SessionState(account=accounts.Account(kind, user, record), csrf_token=current_csrf_token())
