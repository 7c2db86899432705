"""One JSON error shape everywhere under /api/: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

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
    429: "Too many attempts. Please wait a moment and try again.",
    500: "Something went wrong on our side. Please try again; nothing was changed.",
}


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


def init_app(app) -> None:
    app.register_error_handler(AnagenError, handle_anagen_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
