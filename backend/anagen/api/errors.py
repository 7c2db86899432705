"""One JSON error shape everywhere under /api/: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import contextlib
import logging
import threading

import sqlalchemy as sa
from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from anagen.errors import AnagenError

log = logging.getLogger(__name__)

# Werkzeug's exception names, turned into stable machine-readable codes.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

PLAIN_MESSAGES = {
    404: "Nothing was found at this address.",
    405: "This address does not accept that method.",
    413: "The request is larger than this address accepts.",
    429: "Too many attempts. Please wait a moment and try again.",
    500: "Something went wrong on our side. Please try again; nothing was changed.",
    503: "The service is briefly unavailable. Please try again in a moment; nothing was changed.",
}

# What a database out of reach raises (see database_unreachable); other errors of these classes,
# such as a deadlock or a cancelled statement, stay unexpected errors (500, logged in full).
DATABASE_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
RETRY_AFTER_SECONDS = 15


def json_error(status: int, code: str, message: str, fields: dict | None = None, headers=None):
    response = jsonify(error={"code": code, "message": message, "fields": fields or {}})
    response.status_code = status
    for name, value in headers or []:
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def flatten_messages(messages, prefix: str = "") -> dict[str, str]:
    """Turn marshmallow/webargs nested messages into {"a.b": "first message"}."""
    fields: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            # webargs nests by location ("json", "query"): the location is not a field.
            if not prefix and key in {"json", "query", "form", "files", "headers", "path"}:
                fields.update(flatten_messages(value, ""))
                continue
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "_schema"
            fields.update(flatten_messages(value, name))
    elif isinstance(messages, list | tuple) and messages:
        if all(isinstance(m, str) for m in messages):
            fields[prefix or "_schema"] = messages[0]
        else:
            for m in messages:
                fields.update(flatten_messages(m, prefix))
    elif isinstance(messages, str):
        fields[prefix or "_schema"] = messages
    return fields


def error_body(error: HTTPException):
    """The JSON response for any HTTP exception (including webargs' 422)."""
    status = error.code or 500
    fields: dict[str, str] = {}
    message = PLAIN_MESSAGES.get(status) or error.description or "The request could not be handled."
    data = getattr(error, "data", None) or {}
    if data.get("messages"):
        fields = flatten_messages(data["messages"])
        message = "Some fields are missing or not valid."
    elif data.get("message"):
        message = data["message"]
    if status == 400 and not fields and "JSON" in (error.description or ""):
        message = "The request body is not valid JSON."
    headers = error.get_headers() if status != 500 else None
    return json_error(status, HTTP_CODES.get(status, "error"), message, fields, headers)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _rollback() -> None:
    """A refused request changes nothing: drop whatever the request had flushed."""
    from anagen.extensions import db

    db.session.rollback()


def handle_anagen_error(error: AnagenError):
    """Any error of the family (the protocol's `FieldsError` included): its status, code and fields."""
    _rollback()
    return json_error(error.status, error.code, error.message, error.fields)


def handle_http_exception(error: HTTPException):
    if not _wants_json():
        return error
    return error_body(error)


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    _rollback()
    if not _wants_json():
        return InternalServerError()
    return json_error(500, "internal_error", PLAIN_MESSAGES[500])


class DatabaseWatch:
    """Whether this app's database is out of reach: an outage logs one line as it starts and one
    as it ends, however many requests it refuses in between."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down = False

    def failed(self, error: Exception) -> None:
        with self._lock:
            if self.down:
                return
            self.down = True
        log.error("database unavailable, answering 503 until it is back: %s", _first_line(error))

    def connected(self, *args) -> None:
        """SQLAlchemy's engine_connect event: a connection was made, so the database is back."""
        if not self.down:
            return
        with self._lock:
            if not self.down:
                return
            self.down = False
        log.warning("database is back")


def _first_line(error: Exception) -> str:
    """The driver's own message, without the statement or SQLAlchemy's background link."""
    reason = getattr(error, "orig", None) or error
    lines = str(reason).strip().splitlines()
    return f"{type(reason).__name__}: {lines[0] if lines else ''}"


def database_unreachable(error: Exception) -> bool:
    """No connection could be made (no statement ran), one was lost (SQLAlchemy invalidated it),
    or none was free in the pool in time."""
    if isinstance(error, sa.exc.TimeoutError):
        return True
    return isinstance(error, sa.exc.DBAPIError) and (error.connection_invalidated or error.statement is None)


def handle_database_error(error: Exception):
    """503 with Retry-After, and no traceback, while the database is out of reach: the outage is
    logged once by DatabaseWatch."""
    if not database_unreachable(error):
        return handle_unexpected(error)
    current_app.extensions["anagen_database_watch"].failed(error)
    from anagen.extensions import db

    # The session's connection may be gone with the database: nothing is left to undo then.
    with contextlib.suppress(sa.exc.SQLAlchemyError):
        db.session.rollback()
    headers = [("Retry-After", str(RETRY_AFTER_SECONDS))]
    if not _wants_json():
        return ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS)
    return json_error(503, HTTP_CODES[503], PLAIN_MESSAGES[503], headers=headers)


def init_app(app) -> None:
    """The JSON error handlers, and the watch on the database's reachability."""
    from anagen.extensions import db

    watch = DatabaseWatch()
    app.extensions["anagen_database_watch"] = watch
    with app.app_context():
        for engine in db.engines.values():
            sa.event.listen(engine, "engine_connect", watch.connected)
    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, handle_database_error)
    app.register_error_handler(AnagenError, handle_anagen_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
