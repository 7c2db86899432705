"""Schemas shared by several API resources."""

from __future__ import annotations

import re

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
    """A string of min_len to max_len characters."""
    return ma.fields.String(required=required, validate=validate.Length(min=min_len, max=max_len), **kw)


# Unicode's format characters (category Cf, as of Unicode 14, Python 3.11's unicodedata): zero-width
# spaces and joiners, the bidirectional marks, embeddings, overrides and isolates, the byte order
# mark, the soft hyphen, tag characters. They show nothing, or reorder the text around them, so a
# name holding one can pass for another. tests/api/test_bad_input.py checks this list against
# unicodedata.
FORMAT_CHARACTERS = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)  # fmt: skip
# Control characters (category Cc): a line of text has none (nor a line or paragraph separator);
# a message keeps tab and line breaks.
LINE_CONTROLS = ((0x00, 0x1F), (0x7F, 0x9F), (0x2028, 0x2029))
TEXT_CONTROLS = ((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F))


def _class_item(code: int) -> str:
    # Astral characters are written as themselves: `\U…` is Python's spelling only, and the
    # document's patterns are read as ECMA 262 (with its `u` flag) as well as by Python.
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def _character_class(ranges) -> str:
    return "".join(
        _class_item(low) if low == high else f"{_class_item(low)}-{_class_item(high)}" for low, high in ranges
    )


class VisibleText(validate.Validator):
    """Text of min_len to max_len characters without invisible or bidirectional control characters,
    nor control characters but, in multi-line text, tab and line breaks; names the first one found.

    The OpenAPI document states the rule as one pattern that carries the length too
    (api/__init__.py: visible_text), so the field documents no separate minLength/maxLength:
    schemathesis folds those into a pattern by rewriting it, and spells the astral characters
    of FORMAT_CHARACTERS as Python's `\\U…` escapes, which are no ECMA 262, so the rewritten
    document would not validate (tests/api/test_openapi_fuzz.py).
    """

    def __init__(self, max_len: int, *, multiline: bool, min_len: int = 1) -> None:
        self.min_len, self.max_len, self.multiline = min_len, max_len, multiline
        self.refused = _character_class((TEXT_CONTROLS if multiline else LINE_CONTROLS) + FORMAT_CHARACTERS)
        self.pattern = f"^[^{self.refused}]{{{min_len},{max_len}}}$"
        self._find = re.compile(f"[{self.refused}]").search

    def __call__(self, value: str) -> str:
        if not self.min_len <= len(value) <= self.max_len:
            # marshmallow's own Length message, as every other text field gives.
            raise ma.ValidationError(f"Length must be between {self.min_len} and {self.max_len}.")
        found = self._find(value)
        if found:
            raise ma.ValidationError(
                f"Contains an invisible or control character (U+{ord(found.group()):04X}); please remove it."
            )
        return value

    def _repr_args(self) -> str:
        return f"min_len={self.min_len!r}, max_len={self.max_len!r}, multiline={self.multiline!r}"


def name_text(max_len: int, *, required: bool = True, **kw) -> ma.fields.String:
    """A person's or a clinic's name: one line of 1 to max_len visible characters."""
    return ma.fields.String(required=required, validate=VisibleText(max_len, multiline=False), **kw)


def message_text(max_len: int, *, required: bool = True, **kw) -> ma.fields.String:
    """A message between people: 1 to max_len visible characters, with line breaks and tabs."""
    return ma.fields.String(required=required, validate=VisibleText(max_len, multiline=True), **kw)


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
    idle_timeout_seconds = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "The session ends after this long without a request (null when signed out)"},
    )


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
