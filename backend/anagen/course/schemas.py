"""Shapes of a course that the clinic's answers and requests carry too."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from anagen.api.schemas import Instant, StrictSchema
from anagen.course.courses import SEVERITIES
from anagen.protocol import STATUSES


class PlanItemSchema(ma.Schema):
    number = fields.Integer(required=True)
    due_at = Instant(required=True)
    original_due_at = Instant(required=True)
    status = fields.String(required=True, metadata={"enum": list(STATUSES)})
    completed_at = Instant(allow_none=True)
    kit_number = fields.Integer()
    vial_number = fields.Integer()
    opens_vial = fields.Boolean()
    in_clinic = fields.Boolean()
    vial_opened_in_clinic = fields.Boolean(
        metadata={"description": "The vial this application uses was opened at the clinic"}
    )


class AdherenceSchema(ma.Schema):
    percent = fields.Integer(required=True)
    on_time_percent = fields.Integer(required=True)
    on_time = fields.Integer()
    late = fields.Integer()
    missed = fields.Integer()
    moved = fields.Integer(
        metadata={"description": "Done on a day before the one they were due on (not counted on time)"}
    )
    due_so_far = fields.Integer()


class PlanSchema(ma.Schema):
    time_zone = fields.String(required=True)
    missed_rule = fields.String(required=True)
    adherence = fields.Nested(AdherenceSchema, required=True)
    applications = fields.List(fields.Nested(PlanItemSchema), required=True)


class CheckInSchema(StrictSchema):
    redness = fields.String(load_default=None, validate=validate.OneOf(SEVERITIES))
    irritation = fields.String(load_default=None, validate=validate.OneOf(SEVERITIES))
    pain = fields.Integer(load_default=None, strict=True, validate=validate.Range(0, 10))
    notes = fields.String(load_default=None, validate=validate.Length(max=1000))
