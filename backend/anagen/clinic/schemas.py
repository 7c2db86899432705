"""Shapes of the clinic's records that other packages' answers carry too."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from anagen.api.schemas import Instant


class MessageSchema(ma.Schema):
    id = fields.Integer(required=True)
    text = fields.String(required=True)
    created_at = Instant(required=True)
    author = fields.String(required=True, attribute="author.name")
