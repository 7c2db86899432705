"""The clinic acts on a patient's course: pause, resume or end it with a reason; kits and their dispatch."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import Instant, StrictSchema, message_text
from anagen.auth.policy import account, get_patient, record_action, requires
from anagen.clinic import kits
from anagen.clinic.patient_page import course_state, kit_records
from anagen.course import lifecycle
from anagen.course.courses import require_course
from anagen.extensions import db

bp = Blueprint(
    "clinic_course", __name__, url_prefix="/api/clinic/patients", description="A patient's course and kits"
)


class CourseStateSchema(ma.Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": ["active", "paused", "completed", "ended"]})
    reason = fields.String(
        allow_none=True, metadata={"description": "The clinic's reason for the last change"}
    )
    paused_at = Instant(allow_none=True)
    ended_at = Instant(allow_none=True)
    first_application_at = Instant(required=True)
    week = fields.Integer(required=True)
    weeks_total = fields.Integer(required=True)
    applications_done = fields.Integer(required=True)
    applications_total = fields.Integer(required=True)


class KitRecordSchema(ma.Schema):
    number = fields.Integer(required=True)
    batch_number = fields.String(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    dispatched_at = Instant(allow_none=True)
    needed_from = Instant(allow_none=True, metadata={"description": "The due time of its first application"})


class ReasonSchema(StrictSchema):
    reason = message_text(lifecycle.MAX_REASON)


class OptionalReasonSchema(StrictSchema):
    reason = fields.String(load_default=None, validate=validate.Length(max=lifecycle.MAX_REASON))


class KitChangeSchema(StrictSchema):
    batch_number = fields.String(validate=validate.Length(min=1, max=60))
    expires_on = fields.Date()
    dispatched_at = Instant(
        allow_none=True, metadata={"description": "When it was sent or handed over; null: not yet"}
    )


def _change(patient_id: int, event: str, change, reason):
    acct = account()
    patient = get_patient(acct, patient_id)
    course = require_course(patient.id)
    change(course, reason)
    record_action(acct, event, "patient", patient.id, status=str(course.status))
    db.session.commit()
    return course_state(course)


@bp.post("/<int:patient_id>/course/pause")
@requires("staff")
@bp.arguments(ReasonSchema)
@bp.response(200, CourseStateSchema)
@bp.alt_response(409, description="The course is not active (code course_not_active)")
def pause_course(data, patient_id):
    """Pause the course: no reminders and nothing to record until it resumes; nothing is missed meanwhile."""
    return _change(patient_id, "course_paused", lifecycle.pause, data["reason"])


@bp.post("/<int:patient_id>/course/resume")
@requires("staff")
@bp.arguments(OptionalReasonSchema)
@bp.response(200, CourseStateSchema)
@bp.alt_response(409, description="The course is not paused (code course_not_paused)")
def resume_course(data, patient_id):
    """Resume a paused course: the applications still to do are re-planned from now, with reminders."""
    return _change(patient_id, "course_resumed", lifecycle.resume, data["reason"])


@bp.post("/<int:patient_id>/course/end")
@requires("staff")
@bp.arguments(ReasonSchema)
@bp.response(200, CourseStateSchema)
@bp.alt_response(409, description="The course is already completed or ended (code course_ended)")
def end_course(data, patient_id):
    """End the course for good: no more reminders or applications."""
    return _change(patient_id, "course_ended", lifecycle.end, data["reason"])


@bp.patch("/<int:patient_id>/kits/<int:kit>")
@requires("staff")
@bp.arguments(KitChangeSchema)
@bp.response(200, KitRecordSchema)
@bp.alt_response(404, description="No such patient, or no such kit in the course")
def change_kit(data, patient_id, kit):
    """Record a kit's batch and expiry date, or its dispatch (kit 2 is sent during the course)."""
    acct = account()
    patient = get_patient(acct, patient_id)
    course = require_course(patient.id)
    kits.change_kit(course, kit, data)
    record_action(acct, "kit_changed", "patient", patient.id, kit=kit)
    db.session.commit()
    return next(k for k in kit_records(course) if k.number == kit)
