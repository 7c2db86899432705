"""The patient's own data: today, the plan, the protocol, settings and completing applications."""

from __future__ import annotations

import marshmallow as ma
from flask import jsonify, request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import HHMM, Instant, StrictSchema, instant
from anagen.auth.policy import account, requires
from anagen.clinic.schemas import MessageSchema
from anagen.course import idempotency, settings, today
from anagen.course.courses import CLOCK_SKEW, CheckIn, record_application, require_course
from anagen.course.schemas import AdherenceSchema, CheckInSchema, PlanItemSchema, PlanSchema
from anagen.extensions import db
from anagen.protocol import TIMINGS

CLOCK_SKEW_MINUTES = int(CLOCK_SKEW.total_seconds() // 60)

bp = Blueprint("me", __name__, url_prefix="/api/me", description="The signed-in patient's own course")


class KeyLabelSchema(ma.Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)


class FollowingSchema(ma.Schema):
    number = fields.Integer(required=True)
    due_at = Instant(required=True)
    if_moved_at = Instant(
        required=True, metadata={"description": "Its due time if the next application is done now"}
    )


class NextApplicationSchema(PlanItemSchema):
    label = fields.String(required=True)
    timing = fields.String(
        required=True,
        metadata={
            "enum": list(TIMINGS),
            "description": "As of this answer: `start` (its day has come and the minimum gap has "
            "passed), `wait` (its day has come, the gap has not passed: from `earliest_at`), `move` "
            "(before its day, and it may be done today instead: the gap has passed), `planned` "
            "(before its day, and it may not be moved to today)",
        },
    )
    earliest_at = Instant(allow_none=True, metadata={"description": "The minimum gap after the last one"})
    earliest_label = fields.String(
        allow_none=True,
        metadata={"description": "earliest_at rounded up, in the patient's words and zone: 'Monday evening'"},
    )
    following = fields.List(
        fields.Nested(FollowingSchema),
        required=True,
        metadata={"description": "The next ones after it, and where they go if it is moved to today"},
    )


class TodayPatientSchema(ma.Schema):
    first_name = fields.String(required=True)
    time_zone = fields.String(required=True)


class ClinicNameSchema(ma.Schema):
    name = fields.String(required=True)


class CourseProgressSchema(ma.Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    protocol_name = fields.String(required=True)
    applications_total = fields.Integer(required=True)
    applications_done = fields.Integer(required=True)
    kits_total = fields.Integer(required=True)
    applications_per_kit = fields.Integer(required=True)
    vials_per_kit = fields.Integer(required=True)
    doses_per_vial = fields.Integer(required=True)


class KitSchema(ma.Schema):
    kit_number = fields.Integer(required=True)
    vials_left = fields.Integer(required=True, attribute="vials_left_in_kit")
    half_vial_open = fields.Boolean(required=True)
    half_vial_opened_in_clinic = fields.Boolean(
        required=True, metadata={"description": "The open half vial was opened at the clinic"}
    )
    applications_left_in_kit = fields.Integer(required=True)
    last_vial_opened = fields.Boolean(required=True)
    needs_next_kit = fields.Boolean(required=True)


class NextCheckpointSchema(ma.Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    after_application = fields.Integer(required=True)
    due_at = Instant(required=True)
    views = fields.List(fields.Nested(KeyLabelSchema), required=True)


class TodaySchema(ma.Schema):
    patient = fields.Nested(TodayPatientSchema, required=True)
    clinic = fields.Nested(ClinicNameSchema, required=True)
    course = fields.Nested(CourseProgressSchema, required=True)
    next_application = fields.Nested(NextApplicationSchema, allow_none=True)
    kit = fields.Nested(KitSchema, required=True)
    next_checkpoint = fields.Nested(NextCheckpointSchema, allow_none=True)
    adherence = fields.Nested(AdherenceSchema, required=True)
    messages = fields.List(
        fields.Nested(MessageSchema), metadata={"description": "The clinic's latest messages, newest first"}
    )


class StepSchema(ma.Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    text = fields.String(required=True)
    duration_seconds = fields.Integer(allow_none=True)
    cautions = fields.List(fields.String())


class PhotoViewSchema(ma.Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    guidance = fields.String(required=True)


class CheckpointSchema(ma.Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    after_application = fields.Integer(required=True)
    views = fields.List(fields.String(), required=True)


class ProtocolSchema(ma.Schema):
    name = fields.String(required=True, attribute="protocol.name")
    source_note = fields.String()
    stamp_needle_mm = fields.Float(attribute="protocol.stamp_needle_mm")
    passes_per_area = fields.Integer(attribute="protocol.passes_per_area")
    massage_seconds = fields.Integer(attribute="protocol.massage_seconds")
    min_gap_hours = fields.Integer(attribute="protocol.min_gap_hours")
    applications_total = fields.Integer(attribute="protocol.applications_total")
    applications_per_kit = fields.Integer(attribute="protocol.applications_per_kit")
    vials_per_kit = fields.Integer(attribute="protocol.vials_per_kit")
    doses_per_vial = fields.Integer(attribute="protocol.doses_per_vial")
    side_effect_pain_threshold = fields.Integer(attribute="protocol.side_effect_pain_threshold")
    steps = fields.List(fields.Nested(StepSchema))
    aftercare = fields.List(fields.String())
    missed_rule = fields.String(attribute="protocol.missed_rule_text")
    views = fields.List(fields.Nested(PhotoViewSchema), attribute="protocol.views")
    checkpoints = fields.List(fields.Nested(CheckpointSchema), attribute="protocol.checkpoints")
    target_areas = fields.List(fields.Nested(KeyLabelSchema))


class StepEventSchema(StrictSchema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=30))
    completed_at = instant(required=True)


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
    clock_adjusted = fields.Boolean(
        required=True,
        metadata={
            "description": "True when the device's clock was ahead of the server's (by up to "
            f"{CLOCK_SKEW_MINUTES} minutes): "
            "the application was recorded as done at the server's time, its start moved back with it. "
            "Further ahead, the completion is refused as `completed_in_future` (422), and the same "
            "request may be sent again later."
        },
    )


class QuietHoursSchema(StrictSchema):
    start = fields.Time(required=True, format="%H:%M", metadata=HHMM)
    end = fields.Time(required=True, format="%H:%M", metadata=HHMM)


class SettingsSchema(StrictSchema):
    # The count and spacing are the course protocol's (settings.update_settings); the document
    # states the shipped protocol's count, overriding the Length bounds.
    reminder_weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.Range(0, 6)),
        validate=validate.Length(min=1, max=7),
        metadata=settings.reminder_weekdays_doc(),
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
    return settings.reminder_settings(account().user)


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
    return settings.reminder_settings(patient, course)


@bp.post("/applications/<int:number>/complete")
@requires("patient")
@bp.arguments(IdempotencyHeaderSchema, location="headers")
@bp.arguments(CompleteSchema)
@bp.response(201, CompletedSchema)
@bp.alt_response(409, description="Not the next application, or the same request in progress")
@bp.alt_response(
    422,
    description="Invalid body, the Idempotency-Key was used for different data, the completion "
    f"is more than {CLOCK_SKEW_MINUTES} minutes in the future (`completed_in_future`), or it is "
    "sooner than the protocol's minimum gap after the last one (`too_soon`, the message saying from "
    "when). Done on an earlier day than it was due, but keeping the gap, it is recorded as moved "
    "(`done_moved`).",
)
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
        completed = {
            "application": today.application(course, number),
            "flagged": log.flagged,
            "clock_adjusted": log.completed_at != data["completed_at"],
        }
        return 201, CompletedSchema().dump(completed)

    fingerprint = idempotency.request_fingerprint("POST", request.path, raw)
    status, body = idempotency.run_once(
        f"patient:{patient.id}", headers["idempotency_key"], fingerprint, handler
    )
    # The answer as first given (stored already serialised), and a replay of it, alike.
    response = jsonify(body)
    response.status_code = status
    return response
