"""Domain errors raised by services; the API turns each into the one JSON error shape."""

from __future__ import annotations


class AnagenError(Exception):
    """Base for errors a person can act on: a code, a plain message and per-field details."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class InvalidInput(AnagenError):
    status = 422
    code = "invalid_input"


class NotFound(AnagenError):
    status = 404
    code = "not_found"


class Conflict(AnagenError):
    status = 409
    code = "conflict"


class Unauthenticated(AnagenError):
    status = 401
    code = "unauthenticated"


class Gone(AnagenError):
    status = 410
    code = "gone"
