"""Database models, one module per aggregate. Importing this package registers them all."""

from anagen.models.audit import AuditEvent
from anagen.models.clinic import Clinic, StaffRole, StaffUser
from anagen.models.course import ApplicationLog, Course, CourseStatus, Kit, PlannedApplication
from anagen.models.flag import FlagAcknowledgement
from anagen.models.invite import Invite
from anagen.models.message import ClinicMessage
from anagen.models.ops import DispatcherHeartbeat
from anagen.models.patient import Patient
from anagen.models.photo import OutcomeMeasure, Photo, PhotoComment, PhotoStatus, RegistrationStatus
from anagen.models.protocol import ProtocolVersion
from anagen.models.push import PushSubscription, ReminderKind, ReminderOccurrence, ReminderStatus
from anagen.models.session import AccountType, IdempotencyRecord, UserSession

__all__ = [
    "AccountType",
    "ApplicationLog",
    "AuditEvent",
    "Clinic",
    "ClinicMessage",
    "Course",
    "CourseStatus",
    "DispatcherHeartbeat",
    "FlagAcknowledgement",
    "IdempotencyRecord",
    "Invite",
    "Kit",
    "OutcomeMeasure",
    "Patient",
    "Photo",
    "PhotoComment",
    "PhotoStatus",
    "PlannedApplication",
    "ProtocolVersion",
    "PushSubscription",
    "RegistrationStatus",
    "ReminderKind",
    "ReminderOccurrence",
    "ReminderStatus",
    "StaffRole",
    "StaffUser",
    "UserSession",
]
