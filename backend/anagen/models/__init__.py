"""Database models, one module per aggregate. Importing this package registers them all."""

from anagen.models.audit import AuditEvent
from anagen.models.clinic import Clinic, StaffRole, StaffUser
from anagen.models.course import ApplicationLog, Course, Kit, PlannedApplication
from anagen.models.invite import Invite
from anagen.models.message import ClinicMessage
from anagen.models.patient import Patient
from anagen.models.photo import Photo
from anagen.models.protocol import ProtocolVersion
from anagen.models.push import PushSubscription, ReminderOccurrence
from anagen.models.session import IdempotencyRecord, UserSession

__all__ = [
    "ApplicationLog",
    "AuditEvent",
    "Clinic",
    "ClinicMessage",
    "Course",
    "IdempotencyRecord",
    "Invite",
    "Kit",
    "Patient",
    "Photo",
    "PlannedApplication",
    "ProtocolVersion",
    "PushSubscription",
    "ReminderOccurrence",
    "StaffRole",
    "StaffUser",
    "UserSession",
]
