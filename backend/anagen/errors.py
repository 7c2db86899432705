"""The one error family: a code, a plain message and per-field details.

Flask-free, so the pure packages (`anagen.protocol`) raise it too; the API turns every
member into the one JSON error shape (anagen/api/errors.py), the CLI into a message.
"""

from __future__ import annotations

from collections.abc import Mapping


class AnagenError(Exception):
    """Base for errors a person can act on: a code, a plain message and per-field details."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: Mapping[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        if code:
            self.code = code


class InvalidInput(AnagenError):
    status = 422
    code = "invalid_input"


class Unauthenticated(AnagenError):
    status = 401
    code = "unauthenticated"


class Forbidden(AnagenError):
    status = 403
    code = "forbidden"


class NotFound(AnagenError):
    status = 404
    code = "not_found"


class Conflict(AnagenError):
    status = 409
    code = "conflict"


class Gone(AnagenError):
    status = 410
    code = "gone"
