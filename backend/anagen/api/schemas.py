"""Schemas shared by several API resources."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from anagen.services.passwords import MIN_LENGTH as PASSWORD_MIN_LENGTH

# Times of day travel as "HH:MM"; fields.Time alone documents only "string", so the
# document carries the pattern (metadata: the validation stays fields.Time's own).
HHMM = {"pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "20:00"}
# A password being set: the length rule lives in services.passwords (its message is the
# one shown); the document states it so that clients can check before sending.
NEW_PASSWORD = {"minLength": PASSWORD_MIN_LENGTH, "description": f"At least {PASSWORD_MIN_LENGTH} characters"}


class StrictSchema(ma.Schema):
    """Refuses unknown fields (marshmallow's default), documented as such."""

    class Meta:
        unknown = ma.RAISE


def text(max_len: int, *, required: bool = True, min_len: int = 1, **kw) -> ma.fields.String:
    return ma.fields.String(required=required, validate=validate.Length(min=min_len, max=max_len), **kw)


class ClinicRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class AccountSchema(ma.Schema):
    type = ma.fields.String(metadata={"enum": ["patient", "staff"]})
    id = ma.fields.Integer()
    name = ma.fields.String()
    role = ma.fields.String(metadata={"enum": ["patient", "admin", "clinician"]})
    clinic = ma.fields.Nested(ClinicRefSchema)


class SessionSchema(ma.Schema):
    authenticated = ma.fields.Boolean(required=True)
    account = ma.fields.Nested(AccountSchema, allow_none=True)
    csrf_token = ma.fields.String(required=True)


class StrictBoolean(ma.fields.Boolean):
    """Only JSON true/false: "yes", 1 or "on" are a client's mistake, not a consent."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ma.ValidationError("Must be true or false.")
        return value
