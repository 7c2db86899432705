"""Schemas shared by several API resources."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from anagen.auth.passwords import MIN_LENGTH as PASSWORD_MIN_LENGTH
from anagen.clock import iso

# Times of day travel as "HH:MM"; fields.Time alone documents only "string", so the
# document carries the pattern (metadata: the validation stays fields.Time's own).
HHMM = {"pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "20:00"}
# A password being set: the length rule lives in services.passwords (its message is the
# one shown); the document states it so that clients can check before sending.
NEW_PASSWORD = {"minLength": PASSWORD_MIN_LENGTH, "description": f"At least {PASSWORD_MIN_LENGTH} characters"}


class StrictSchema(ma.Schema):
    """Refuses unknown fields, and text no database can store, with a 422 naming the field."""

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def refuse_unstorable_text(self, data, **kwargs):
        problems = _unstorable_text(data)
        if problems:
            raise ma.ValidationError(problems)
        return data


def text(max_len: int, *, required: bool = True, min_len: int = 1, **kw) -> ma.fields.String:
    return ma.fields.String(required=required, validate=validate.Length(min=min_len, max=max_len), **kw)


class ClinicRefSchema(ma.Schema):
    """A clinic, by id and name."""

    id = ma.fields.Integer()
    name = ma.fields.String()


class AccountSchema(ma.Schema):
    """A signed-in account (anagen.auth.accounts.Account)."""

    type = ma.fields.String(attribute="kind", metadata={"enum": ["patient", "staff"]})
    id = ma.fields.Integer()
    name = ma.fields.String()
    role = ma.fields.String(metadata={"enum": ["patient", "admin", "clinician"]})
    clinic = ma.fields.Nested(ClinicRefSchema)


class SessionSchema(ma.Schema):
    """A session as the apps see it (anagen.auth.views.SessionState)."""

    authenticated = ma.fields.Boolean(required=True)
    account = ma.fields.Nested(AccountSchema, allow_none=True)
    csrf_token = ma.fields.String(required=True)


class StrictBoolean(ma.fields.Boolean):
    """Only JSON true/false: "yes", 1 or "on" are a client's mistake, not a consent."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ma.ValidationError("Must be true or false.")
        return value


def _unstorable_text(value, path: str = "") -> dict[str, str]:
    """Strings no database column can hold: NUL (PostgreSQL refuses it) or a lone surrogate."""
    problems: dict[str, str] = {}
    if isinstance(value, str):
        if "\x00" in value:
            problems[path or "_schema"] = "Contains a character that can't be stored."
        else:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                problems[path or "_schema"] = "Contains a character that can't be stored."
    elif isinstance(value, dict):
        for key, item in value.items():
            problems.update(
                # Reported as marshmallow reports a bad key: "<field>.<key>.key".
                _unstorable_text(key, f"{path}.{key}.key".lstrip(".") if isinstance(key, str) else path)
            )
            problems.update(_unstorable_text(item, f"{path}.{key}".lstrip(".")))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            problems.update(_unstorable_text(item, f"{path}.{i}".lstrip(".")))
    return problems


# Instants a person could mean: anything else is a typo, and Python's date range ends
# close to year 1 and 9999, where converting between zones overflows.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def reasonable_instant(value) -> None:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ma.ValidationError(f"Must be a date between {EARLIEST_YEAR} and {LATEST_YEAR}.")


class Instant(ma.fields.AwareDateTime):
    """An instant: read as ISO 8601 with its UTC offset, given as ISO 8601 in UTC with a Z, to the second."""

    # The document states the form the API gives; instant() fields, which read, state their own.
    GIVEN = {
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
        "example": "2025-12-04T20:00:00Z",
    }

    def __init__(self, **kw):
        super().__init__(**{**kw, "metadata": {**self.GIVEN, **kw.get("metadata", {})}})

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value)


def instant(**kw) -> Instant:
    """An instant the client sends: ISO 8601 with its UTC offset, within a sensible range."""
    # The pattern documents the year range, which OpenAPI 3.0 cannot state for date-times.
    metadata = {"pattern": r"^(20[0-9]{2}|2100)-", **kw.pop("metadata", {})}
    return Instant(validate=reasonable_instant, metadata=metadata, **kw)
