"""The clinic's dashboard and its flags: who is falling behind, and a clinician's acknowledgement."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields, validate

from anagen.api.schemas import Instant, StrictSchema, message_text, name_text
from anagen.auth.policy import account, get_patient, record_action, requires
from anagen.clinic import dashboard as service
from anagen.clinic import flags
from anagen.clock import iso
from anagen.extensions import db

bp = Blueprint("clinic_dashboard", __name__, url_prefix="/api/clinic", description="The clinic's dashboard")


def _flag_keys() -> list[str]:
    return [f.key for f in flags.flags()]


class FlagKey(validate.OneOf):
    """One of the flags registered when asked (other packages register theirs at import, after this
    module is loaded): the OpenAPI document and the validation read the same live list."""

    def __init__(self):
        super().__init__([], error="Choose one of: {choices}")

    @property
    def choices(self):
        return _flag_keys()

    @choices.setter
    def choices(self, _value):
        pass

    @property
    def choices_text(self):
        return ", ".join(self.choices)

    @choices_text.setter
    def choices_text(self, _value):
        pass


class DashboardQuerySchema(StrictSchema):
    sort = fields.String(load_default="flags", validate=validate.OneOf(service.SORTS))
    order = fields.String(load_default=None, validate=validate.OneOf(("asc", "desc")))
    flag = fields.String(
        load_default=None, validate=FlagKey(), metadata={"description": "Only patients with this flag active"}
    )
    q = name_text(
        100,
        required=False,
        load_default=None,
        metadata={"description": "Part of the patient's name or email"},
    )
    status = fields.String(load_default=None, validate=validate.OneOf(service.STATUSES))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=service.MAX_PER_PAGE))


class FlagStateSchema(ma.Schema):
    key = fields.String(required=True)
    since = Instant(required=True, metadata={"description": "When the event that raised it happened"})


class CourseSummarySchema(ma.Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True)
    week = fields.Integer(required=True)
    weeks_total = fields.Integer(required=True)
    applications_done = fields.Integer(required=True)
    applications_total = fields.Integer(required=True)


class DashboardRowSchema(ma.Schema):
    id = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(allow_none=True)
    time_zone = fields.String(required=True)
    invite_redeemed = fields.Boolean(required=True)
    course = fields.Nested(CourseSummarySchema, allow_none=True)
    adherence_percent = fields.Integer(allow_none=True)
    missed = fields.Integer(required=True)
    late = fields.Integer(required=True)
    last_application_at = Instant(allow_none=True)
    next_application_at = Instant(allow_none=True)
    next_overdue = fields.Boolean(required=True)
    flags = fields.List(fields.Nested(FlagStateSchema), required=True)
    acknowledged = fields.List(fields.Nested(FlagStateSchema), required=True)


class FlagDefinitionSchema(ma.Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    description = fields.String(required=True)


class DashboardSchema(ma.Schema):
    total = fields.Integer(required=True, metadata={"description": "Patients matching the filters"})
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    flag_counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    flag_catalogue = fields.List(fields.Nested(FlagDefinitionSchema), required=True)
    patients = fields.List(fields.Nested(DashboardRowSchema), required=True)


class AcknowledgementSchema(ma.Schema):
    note = fields.String(required=True)
    acknowledged_at = Instant(required=True)
    acknowledged_by = fields.String(required=True)
    since = Instant(required=True)


class PatientFlagSchema(FlagDefinitionSchema):
    since = Instant(required=True)
    active = fields.Boolean(required=True)
    acknowledgement = fields.Nested(AcknowledgementSchema, allow_none=True)


class AcknowledgeSchema(StrictSchema):
    note = message_text(1000)


class AcknowledgedSchema(AcknowledgementSchema):
    key = fields.String(required=True)


@bp.get("/dashboard")
@requires("staff")
@bp.arguments(DashboardQuerySchema, location="query")
@bp.response(200, DashboardSchema)
def get_dashboard(args):
    """Every patient of the clinic with adherence, last and next application, course week and flags.

    Sorted, filtered (by an active flag, a course status, part of a name or email) and paged on
    the server; `flag_counts` counts the patients with each flag active under the other filters."""
    return service.dashboard(account().clinic_id, service.Query(**args))


@bp.get("/patients/<int:patient_id>/flags")
@requires("staff")
@bp.response(200, PatientFlagSchema(many=True))
def get_patient_flags(patient_id):
    """The patient's raised flags, active first, each with its latest acknowledgement."""
    acct = account()
    patient = get_patient(acct, patient_id)
    return service.patient_flags(acct.clinic_id, patient.id)


@bp.post("/patients/<int:patient_id>/flags/<flag>/acknowledge")
@requires("staff")
@bp.arguments(AcknowledgeSchema)
@bp.response(201, AcknowledgedSchema)
@bp.alt_response(409, description="The flag is not raised for this patient (code flag_not_raised)")
def acknowledge_flag(data, patient_id, flag):
    """Acknowledge a raised flag with a note: it stays quiet until something new raises it."""
    acct = account()
    patient = get_patient(acct, patient_id)
    ack = service.acknowledge(acct.clinic_id, patient.id, flag, data["note"], acct.user)
    record_action(acct, "flag_acknowledged", "patient", patient.id, flag=flag, since=iso(ack.since))
    db.session.commit()
    return {"key": flag, **ack.__dict__}
