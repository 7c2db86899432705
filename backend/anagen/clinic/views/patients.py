"""Clinic staff: enrol patients, list and read their clinic's patients, issue invites."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import (
    HHMM,
    Instant,
    StrictBoolean,
    StrictSchema,
    instant,
    message_text,
    name_text,
    text,
)
from anagen.auth.policy import account, get_patient, patients_of, record_action, requires
from anagen.clinic import invites, messages
from anagen.clinic.enrolment import DEFAULT_QUIET_HOURS, INDICATIONS, Enrolment, enrol_patient
from anagen.clinic.kits import KitDetails
from anagen.clinic.patient_page import PatientPage, patient_page
from anagen.clinic.schemas import MessageSchema
from anagen.clinic.views.course import CourseStateSchema, KitRecordSchema
from anagen.clinic.views.dashboard import PatientFlagSchema
from anagen.clinic.views.staff import EmailAddress, email_refusals_limited
from anagen.clock import iso, utcnow
from anagen.course.courses import CheckIn, record_application, require_course
from anagen.course.schemas import CheckInSchema, PlanItemSchema, PlanSchema
from anagen.course.settings import reminder_weekdays_doc
from anagen.course.today import SCALP_AREAS, Plan, application, plan
from anagen.extensions import db
from anagen.models import Course, Patient

bp = Blueprint(
    "clinic_patients", __name__, url_prefix="/api/clinic/patients", description="Patients of the clinic"
)


class KitDetailsSchema(StrictSchema):
    batch_number = text(60)
    expires_on = fields.Date(required=True)

    @ma.post_load
    def _details(self, data, **kwargs):
        return KitDetails(**data)


class EnrolSchema(StrictSchema):
    first_name = name_text(100)
    last_name = name_text(100)
    email = EmailAddress(required=True, validate=validate.Length(max=254))
    phone = fields.String(load_default=None, validate=validate.Length(max=40))
    date_of_birth = fields.Date(load_default=None)
    indication = fields.String(required=True, validate=validate.OneOf(list(INDICATIONS)))
    advanced_traction_alopecia = StrictBoolean(required=True)
    miniaturisation_seen = StrictBoolean(required=True)
    exam_notes = fields.String(load_default=None, validate=validate.Length(max=2000))
    target_areas = fields.List(
        fields.String(validate=validate.OneOf(list(SCALP_AREAS))),
        required=True,
        validate=validate.Length(min=1, max=len(SCALP_AREAS)),
    )
    protocol_version_id = fields.Integer(load_default=None, strict=True)
    first_application_at = instant(required=True)
    # The count and spacing are the protocol's (checked when the course is planned); the
    # document states the shipped protocol's count, overriding the Length bounds.
    reminder_weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.Range(0, 6)),
        required=True,
        validate=validate.Length(min=1, max=7),
        metadata=reminder_weekdays_doc(),
    )
    reminder_time = fields.Time(required=True, format="%H:%M", metadata=HHMM)
    time_zone = text(64)
    kit_batch_numbers = fields.List(
        text(60),
        load_default=list,
        validate=validate.Length(max=4),
        metadata={"description": "Deprecated: the kits' batch numbers only; use `kits`"},
    )
    kits = fields.List(
        fields.Nested(KitDetailsSchema),
        load_default=list,
        validate=validate.Length(max=4),
        metadata={"description": "Kit 1 first: each kit's batch number and expiry date"},
    )
    protocol_overrides = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(strict=True),
        load_default=None,
        metadata={"description": "This patient's protocol parameters, within the protocol's bounds"},
    )


class HasValue(fields.Boolean):
    """True when the attribute it reads is set: an account is active once it has a password."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value is not None


class InviteSchema(ma.Schema):
    id = fields.Integer(required=True)
    link = fields.String(required=True)
    expires_at = Instant(required=True)
    qr_svg = fields.String(required=True)
    qr_png = fields.String(required=True)


class PatientSummarySchema(ma.Schema):
    id = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(allow_none=True)
    indication = fields.String()
    time_zone = fields.String()
    account_active = HasValue(attribute="password_hash")
    photo_consent_at = Instant(allow_none=True)


class RecordedBySchema(ma.Schema):
    kind = fields.String(required=True, metadata={"enum": ["patient", "staff"]})
    name = fields.String(required=True)


class CheckInRecordSchema(ma.Schema):
    redness = fields.String(allow_none=True)
    irritation = fields.String(allow_none=True)
    pain = fields.Integer(allow_none=True)
    notes = fields.String(allow_none=True)
    flagged = fields.Boolean(
        required=True, metadata={"description": "Over the clinic's side-effect threshold"}
    )


class TimelineItemSchema(ma.Schema):
    number = fields.Integer(required=True)
    due_at = Instant(
        required=True, metadata={"description": "When to do it now (a missed one: as soon as possible)"}
    )
    scheduled_at = Instant(required=True, metadata={"description": "The due time in force"})
    original_due_at = Instant(required=True)
    completed_at = Instant(allow_none=True)
    status = fields.String(required=True)
    in_clinic = fields.Boolean(required=True)
    kit_number = fields.Integer(required=True)
    recorded_by = fields.Nested(RecordedBySchema, allow_none=True)
    steps_completed = fields.List(fields.String(), required=True)
    check_in = fields.Nested(CheckInRecordSchema, allow_none=True)


class WeekAdherenceSchema(ma.Schema):
    week = fields.Integer(required=True)
    starts_on = fields.Date(required=True, metadata={"description": "The patient's local date"})
    on_time = fields.Integer(required=True)
    late = fields.Integer(required=True)
    moved = fields.Integer(required=True)
    missed = fields.Integer(required=True)
    upcoming = fields.Integer(required=True)


class PushDeviceSchema(ma.Schema):
    state = fields.String(required=True, metadata={"enum": ["active", "failed"]})
    failure = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    created_at = Instant(required=True)
    last_success_at = Instant(allow_none=True)


class ReminderSettingsSchema(ma.Schema):
    weekdays = fields.List(fields.Integer(), required=True)
    reminder_time = fields.Time(required=True, format="%H:%M", metadata=HHMM)
    time_zone = fields.String(required=True)
    quiet_hours_start = fields.Time(allow_none=True, format="%H:%M", metadata=HHMM)
    quiet_hours_end = fields.Time(allow_none=True, format="%H:%M", metadata=HHMM)
    devices = fields.List(fields.Nested(PushDeviceSchema), required=True)
    last_sent_at = Instant(allow_none=True)
    last_undeliverable_at = Instant(allow_none=True)
    paused = fields.Boolean(
        required=True, metadata={"description": "No reminders: the course is paused or ended"}
    )


class PatientDetailSchema(PatientSummarySchema):
    phone = fields.String(allow_none=True)
    date_of_birth = fields.Date(allow_none=True)
    target_areas = fields.List(fields.String())
    suitability = fields.Dict()
    plan = fields.Nested(PlanSchema)
    course = fields.Nested(CourseStateSchema)
    timeline = fields.List(fields.Nested(TimelineItemSchema))
    adherence_weeks = fields.List(fields.Nested(WeekAdherenceSchema))
    kits = fields.List(fields.Nested(KitRecordSchema))
    reminders = fields.Nested(ReminderSettingsSchema)
    flags = fields.List(fields.Nested(PatientFlagSchema))

    def get_attribute(self, obj: PatientDetail, attr, default):
        # The plan and the page's parts sit beside the patient; every other field is the patient's own.
        if attr == "plan":
            return obj.plan
        if attr in PAGE_FIELDS:
            return getattr(obj.page, attr)
        return super().get_attribute(obj.patient, attr, default)


PAGE_FIELDS = ("course", "timeline", "adherence_weeks", "kits", "reminders", "flags")


class EnrolledSchema(ma.Schema):
    patient = fields.Nested(PatientSummarySchema, required=True)
    course_id = fields.Integer(required=True, attribute="course.id")
    invite = fields.Nested(InviteSchema, required=True)


@dataclass(frozen=True)
class PatientDetail:
    patient: Patient
    plan: Plan
    page: PatientPage


@dataclass(frozen=True)
class Enrolled:
    patient: Patient
    course: Course
    invite: invites.IssuedInvite


def _new_invite(patient: Patient) -> invites.IssuedInvite:
    acct = account()
    issued = invites.hand_over(
        patient,
        acct.user,
        current_app.config["PUBLIC_BASE_URL"],
        dt.timedelta(days=current_app.config["INVITE_TTL_DAYS"]),
    )
    record_action(acct, "invite_issued", "patient", patient.id, expires_at=iso(issued.expires_at))
    return issued


@bp.get("")
@requires("staff")
@bp.response(200, PatientSummarySchema(many=True))
def list_patients():
    """The clinic's patients, by name."""
    query = patients_of(account()).order_by(Patient.last_name, Patient.first_name, Patient.id)
    return db.session.scalars(query).all()


@bp.post("")
@requires("staff")
@bp.arguments(EnrolSchema)
@bp.response(201, EnrolledSchema)
@bp.alt_response(
    409,
    description="The email is one of the clinic's patients', or can't be used (the same answer "
    "for every address outside the clinic)",
)
@bp.alt_response(429, description="Too many refused emails; see Retry-After")
@bp.doc(
    description="The new patient starts with quiet hours from {:%H:%M} to {:%H:%M} (their local "
    "time), which they see and can change at onboarding and in Settings.".format(*DEFAULT_QUIET_HOURS)
)
def enrol(data):
    """Enrol a patient after the scalp exam; schedules the course and issues the first invite."""
    acct = account()
    with email_refusals_limited(acct, "enrol"):
        details = Enrolment(**data, quiet_hours=DEFAULT_QUIET_HOURS)
        patient, course = enrol_patient(acct.user.clinic, details, staff=acct.user)
    record_action(acct, "patient_enrolled", "patient", patient.id)
    invite = _new_invite(patient)
    db.session.commit()
    return Enrolled(patient, course, invite)


@bp.get("/<int:patient_id>")
@requires("staff")
@bp.response(200, PatientDetailSchema)
def get_patient_detail(patient_id):
    """One patient of the clinic: details, plan, course state, timeline of applications, adherence
    week by week, kits, reminder settings and devices, and flags."""
    patient = get_patient(account(), patient_id)
    now = utcnow()
    return PatientDetail(patient, plan(patient, now), patient_page(patient, now))


@bp.post("/<int:patient_id>/invites")
@requires("staff")
@bp.response(201, InviteSchema)
def new_invite(patient_id):
    """A new invite for the patient (the earlier one stops working). Also the password-reset path."""
    patient = get_patient(account(), patient_id)
    invite = _new_invite(patient)
    db.session.commit()
    return invite


class StaffRecordSchema(StrictSchema):
    completed_at = instant(required=True)
    check_in = fields.Nested(CheckInSchema, load_default=None)


@bp.post("/<int:patient_id>/applications/<int:number>/complete")
@requires("staff")
@bp.arguments(StaffRecordSchema)
@bp.response(201, PlanItemSchema)
@bp.alt_response(409, description="Already recorded, not the next application, or too soon")
def record_in_clinic(data, patient_id, number):
    """Record an application done in the clinic (the first one, or any done at a visit)."""
    acct = account()
    patient = get_patient(acct, patient_id)
    course = require_course(patient.id)
    check_in = CheckIn(**data["check_in"]) if data["check_in"] else None
    record_application(
        course, number, completed_at=data["completed_at"], check_in=check_in, recorded_by_staff_id=acct.id
    )
    record_action(acct, "application_recorded", "patient", patient.id)
    recorded = application(course, number)
    db.session.commit()
    return recorded


class NewMessageSchema(StrictSchema):
    text = message_text(messages.MAX_LENGTH)


@bp.get("/<int:patient_id>/messages")
@requires("staff")
@bp.response(200, MessageSchema(many=True))
def list_messages(patient_id):
    """Messages the clinic has sent the patient, newest first."""
    patient = get_patient(account(), patient_id)
    return messages.messages_for(patient.id)


@bp.post("/<int:patient_id>/messages")
@requires("staff")
@bp.arguments(NewMessageSchema)
@bp.response(201, MessageSchema)
def send_message(data, patient_id):
    """Send the patient a message; it shows on their Today screen."""
    acct = account()
    patient = get_patient(acct, patient_id)
    message = messages.send_message(patient, acct.user, data["text"])
    record_action(acct, "message_sent", "patient", patient.id)
    db.session.commit()
    return message
