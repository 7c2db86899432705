"""Everything the service holds about a patient, for the patient (a right of access / portability
download): their details, clinic, course with every application and check-in, kits, reminder
settings, devices and the clinic's messages. Other packages add sections with `register(name, fn)`
(photos adds the photos' details)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa

from anagen.clinic.messages import messages_for
from anagen.clinic.patient_page import course_state, kit_records, timeline
from anagen.clock import iso, utcnow
from anagen.course.courses import plan_items, require_course
from anagen.course.protocols import course_protocol
from anagen.extensions import db
from anagen.models import Patient, PushSubscription

Section = Callable[[Patient, dt.datetime], object]
_SECTIONS: dict[str, Section] = {}


def register(name: str, section: Section) -> None:
    """Add a section (JSON-ready data) to every patient's export."""
    _SECTIONS[name] = section


def _plain(value):
    """Dataclasses, dates and times as JSON values (instants in UTC with Z)."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat(timespec="minutes") if isinstance(value, dt.time) else value.isoformat()
    return value


def patient_data(patient: Patient, now: dt.datetime | None = None) -> dict:
    now = now or utcnow()
    course = require_course(patient.id)
    protocol = course_protocol(course)
    items = plan_items(course, protocol, now)
    devices = db.session.scalars(
        sa.select(PushSubscription)
        .where(PushSubscription.patient_id == patient.id)
        .order_by(PushSubscription.id)
    ).all()
    data = {
        "exported_at": iso(now),
        "patient": {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "email": patient.email,
            "phone": patient.phone,
            "date_of_birth": patient.date_of_birth,
            "time_zone": patient.time_zone,
            "quiet_hours": {"start": patient.quiet_hours_start, "end": patient.quiet_hours_end},
            "indication": patient.indication,
            "target_areas": patient.target_areas,
            "scalp_exam": {
                k: v for k, v in (patient.suitability or {}).items() if k != "examined_by_staff_id"
            },
            "photo_consent_at": patient.photo_consent_at,
            "enrolled_at": patient.created_at,
        },
        "clinic": {"name": patient.clinic.name, "phone": patient.clinic.phone},
        "course": {
            **_plain(course_state(course, now)),
            "protocol": protocol.name,
            "reminder_weekdays": course.weekdays,
            "reminder_time": course.reminder_time,
            "applications": timeline(course, items),
            "kits": kit_records(course),
        },
        "messages": [
            {"text": m.text, "sent_at": m.created_at, "from": m.author.name}
            for m in messages_for(patient.id, limit=None)
        ],
        "devices": [
            {
                "user_agent": d.user_agent,
                "added_at": d.created_at,
                "state": d.state,
                "last_success_at": d.last_success_at,
            }
            for d in devices
        ],
    }
    for name, section in _SECTIONS.items():
        data[name] = section(patient, now)
    return _plain(data)
