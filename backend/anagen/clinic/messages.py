"""Messages from clinic staff to a patient."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.errors import InvalidInput
from anagen.extensions import db
from anagen.models import ClinicMessage, Patient, StaffUser
from anagen.reminders import occurrences as reminders

MAX_LENGTH = 2000
SHOWN_ON_TODAY = 5


def send_message(patient: Patient, author: StaffUser, text: str) -> ClinicMessage:
    """A message to the patient from a member of their clinic."""
    text = text.strip()
    if not text:
        raise InvalidInput("Write a message first.", {"text": "Must not be empty"})
    message = ClinicMessage(patient_id=patient.id, author_staff_id=author.id, text=text[:MAX_LENGTH])
    db.session.add(message)
    db.session.flush()
    reminders.queue_message_notice(patient)
    return message


def messages_for(patient_id: int, limit: int = 50) -> list[ClinicMessage]:
    """The patient's messages, newest first, with their authors loaded."""
    return list(
        db.session.scalars(
            sa.select(ClinicMessage)
            .where(ClinicMessage.patient_id == patient_id)
            .options(so.joinedload(ClinicMessage.author))
            .order_by(ClinicMessage.created_at.desc(), ClinicMessage.id.desc())
            .limit(limit)
        )
    )
