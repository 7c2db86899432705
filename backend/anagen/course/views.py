"""The patient's own data: today, the plan, the protocol, settings and completing applications."""

from __future__ import annotations

import marshmallow as ma
from flask import jsonify, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import HHMM, StrictSchema, instant
from anagen.auth.policy import account, requires
from anagen.course import idempotency, settings, today
from anagen.course.courses import SEVERITIES, CheckIn, record_application, require_course
from anagen.extensions import db

bp = Blueprint("me", __name__, url_prefix="/api/me", description="The signed-in patient's own course")

STATUS_ENUM = ["done_on_time", "done_late", "missed", "due", "upcoming"]


class PlanItemSchema(ma.Schema):
    number = fields.Integer(required=True)
    due_at = fields.String(required=True)
    original_due_at = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": STATUS_ENUM})
    completed_at = fields.String(allow_none=True)
    kit_number = fields.Integer()
    vial_number = fields.Integer()
    opens_vial = fields.Boolean()
    in_clinic = fields.Boolean()


class NextApplicationSchema(PlanItemSchema):
    label = fields.String(required=True)
    earliest_at = fields.String(allow_none=True)


class AdherenceSchema(ma.Schema):
    percent = fields.Integer(required=True)
    on_time_percent = fields.Integer(required=True)
    on_time = fields.Integer()
    late = fields.Integer()
    missed = fields.Integer()
    due_so_far = fields.Integer()


class TodaySchema(ma.Schema):
    patient = fields.Dict(required=True)
    clinic = fields.Dict(required=True)
    course = fields.Dict(required=True)
    next_application = fields.Nested(NextApplicationSchema, allow_none=True)
    kit = fields.Dict(required=True)
    next_checkpoint = fields.Dict(allow_none=True)
    adherence = fields.Nested(AdherenceSchema, required=True)
    messages = fields.List(
        fields.Dict(), metadata={"description": "The clinic's latest messages, newest first"}
    )


class PlanSchema(ma.Schema):
    time_zone = fields.String(required=True)
    missed_rule = fields.String(required=True)
    adherence = fields.Nested(AdherenceSchema, required=True)
    applications = fields.List(fields.Nested(PlanItemSchema), required=True)


class StepSchema(ma.Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    text = fields.String(required=True)
    duration_seconds = fields.Integer(allow_none=True)
    cautions = fields.List(fields.String())


class ProtocolSchema(ma.Schema):
    name = fields.String(required=True)
    source_note = fields.String()
    stamp_needle_mm = fields.Float()
    passes_per_area = fields.Integer()
    massage_seconds = fields.Integer()
    min_gap_hours = fields.Integer()
    applications_total = fields.Integer()
    applications_per_kit = fields.Integer()
    vials_per_kit = fields.Integer()
    doses_per_vial = fields.Integer()
    side_effect_pain_threshold = fields.Integer()
    steps = fields.List(fields.Nested(StepSchema))
    aftercare = fields.List(fields.String())
    missed_rule = fields.String()
    views = fields.List(fields.Dict())
    checkpoints = fields.List(fields.Dict())
    target_areas = fields.List(fields.Dict())


class StepEventSchema(StrictSchema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=30))
    completed_at = instant(required=True)


class CheckInSchema(StrictSchema):
    redness = fields.String(load_default=None, validate=validate.OneOf(SEVERITIES))
    irritation = fields.String(load_default=None, validate=validate.OneOf(SEVERITIES))
    pain = fields.Integer(load_default=None, strict=True, validate=validate.Range(0, 10))
    notes = fields.String(load_default=None, validate=validate.Length(max=1000))


class CompleteSchema(StrictSchema):
    started_at = instant(load_default=None)
    completed_at = instant(required=True)
    steps = fields.List(fields.Nested(StepEventSchema), load_default=list, validate=validate.Length(max=20))
    passes = fields.Dict(
        keys=fields.String(validate=validate.Length(max=30)),
        values=fields.Integer(strict=True, validate=validate.Range(0, 50)),
        load_default=dict,
        validate=validate.Length(max=10),
    )
    vial = fields.String(load_default=None, validate=validate.OneOf(["opened_new", "used_open_half"]))
    check_in = fields.Nested(CheckInSchema, load_default=None)


class CompletedSchema(ma.Schema):
    application = fields.Nested(PlanItemSchema, required=True)
    flagged = fields.Boolean(required=True)


class QuietHoursSchema(StrictSchema):
    start = fields.Time(required=True, format="%H:%M", metadata=HHMM)
    end = fields.Time(required=True, format="%H:%M", metadata=HHMM)


class SettingsSchema(StrictSchema):
    reminder_weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.Range(0, 6)), validate=validate.Length(min=1, max=7)
    )
    reminder_time = fields.Time(format="%H:%M", metadata=HHMM)
    time_zone = fields.String(validate=validate.Length(min=1, max=64))
    quiet_hours = fields.Nested(QuietHoursSchema, allow_none=True)


class IdempotencyHeaderSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        required=True,
        # Visible ASCII only: a UUID, as the PWA sends.
        validate=validate.Regexp(r"^[\x21-\x7e]{1,100}$", error="1 to 100 visible ASCII characters."),
    )


@bp.get("/today")
@requires("patient")
@bp.response(200, TodaySchema)
def get_today():
    """The next application and when it is due, the kit, the next photo checkpoint."""
    return today.today(account().user)


@bp.get("/plan")
@requires("patient")
@bp.response(200, PlanSchema)
def get_plan():
    """The whole course: done on time, done late, missed, due and upcoming, with adherence."""
    return today.plan(account().user)


@bp.get("/protocol")
@requires("patient")
@bp.response(200, ProtocolSchema)
def get_protocol():
    """The steps and parameters of the patient's protocol, as their clinic set it."""
    return today.protocol_for(account().user)


@bp.get("/settings")
@requires("patient")
@bp.response(200, SettingsSchema)
def get_settings():
    """Reminder days and time, time zone and quiet hours."""
    return settings.settings_body(account().user)


@bp.patch("/settings")
@requires("patient")
# Every field is optional and an empty change changes nothing: the body may be left out.
@bp.arguments(SettingsSchema, required=False)
@bp.response(200, SettingsSchema)
def patch_settings(data):
    """Change reminder days/time, time zone or quiet hours; upcoming applications move to match."""
    patient = account().user
    course = settings.update_settings(patient, data)
    db.session.commit()
    return settings.settings_body(patient, course)


@bp.post("/applications/<int:number>/complete")
@requires("patient")
@bp.arguments(IdempotencyHeaderSchema, location="headers")
@bp.arguments(CompleteSchema)
@bp.response(201, CompletedSchema)
@bp.alt_response(409, description="Not the next application, too soon, or the same request in progress")
@bp.alt_response(422, description="Invalid body, or the Idempotency-Key was used for different data")
def complete_application(headers, data, number):
    """Record an application as done (exactly once per Idempotency-Key)."""
    patient = account().user
    raw = request.get_json(silent=True)

    def handler():
        course = require_course(patient.id)
        check_in = CheckIn(**data["check_in"]) if data["check_in"] else None
        steps = [{"key": s["key"], "completed_at": s["completed_at"].isoformat()} for s in data["steps"]]
        if data["passes"]:
            steps.append({"key": "passes", "passes": data["passes"]})
        log = record_application(
            course,
            number,
            completed_at=data["completed_at"],
            started_at=data["started_at"],
            steps=steps,
            check_in=check_in,
        )
        return 201, {"application": today.application_body(course, number), "flagged": log.flagged}

    fingerprint = idempotency.request_fingerprint("POST", request.path, raw)
    status, body = idempotency.run_once(
        f"patient:{patient.id}", headers["idempotency_key"], fingerprint, handler
    )
    if status >= 400:
        # A stored refusal is replayed as the error it was, not through the success schema.
        response = jsonify(body)
        response.status_code = status
        return response
    return body, status
