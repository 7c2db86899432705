"""Builders shared by the reminder tests: patients with devices, occurrences in bulk."""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import PlannedApplication, ReminderOccurrence
from anagen.reminders import subscriptions as push
from support.factories import make_enrolled_patient


def subscribe(patient, push_service, user_agent: str = "pytest") -> dict:
    """A new device of the patient, subscribed at the local push service."""
    sub = push_service.new_subscription()
    push.save_subscription(patient, sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"], user_agent)
    db.session.commit()
    return sub


def patient_with_device(clinic, push_service, devices: int = 1, **overrides):
    """(patient, course, [subscription dicts]) with `devices` subscriptions."""
    patient, course = make_enrolled_patient(clinic, **overrides)
    subs = [subscribe(patient, push_service) for _ in range(devices)]
    return patient, course, subs


def open_application(course, number: int = 2) -> PlannedApplication:
    """A planned application not done yet (application 1 is the in-clinic one)."""
    return course.applications[number - 1]


def add_occurrence(
    patient, row, kind: str = "due", *, due_at=None, seq: int = 0, status: str = "pending", **extra
) -> ReminderOccurrence:
    occ = ReminderOccurrence(
        patient_id=patient.id,
        planned_application_id=row.id if row is not None else None,
        kind=kind,
        seq=seq,
        due_at=due_at or utcnow() - dt.timedelta(seconds=1),
        status=status,
        **extra,
    )
    db.session.add(occ)
    db.session.commit()
    return occ


def bulk_occurrences(courses, total: int, due_at=None) -> list[int]:
    """`total` due occurrences spread over the courses' open applications; returns their ids.

    Round-robin over the courses (application j of every course before application j + 1),
    so that any run of consecutive rows, and so any batch, holds many patients' devices.
    Each is a snooze (seq >= 1) of its application's reminder: unique, and left where it is
    by the dispatcher's own materialising (which moves only the scheduled seq-0 ones)."""
    due_at = due_at or utcnow() - dt.timedelta(seconds=1)
    open_rows = [[r.id for r in c.applications if not r.in_clinic] for c in courses]
    slots = [
        (course.patient_id, rows[j])
        for j in range(max(map(len, open_rows)))
        for course, rows in zip(courses, open_rows, strict=True)
        if j < len(rows)
    ]
    created = utcnow()
    rows = [
        {
            "patient_id": slots[i % len(slots)][0],
            "planned_application_id": slots[i % len(slots)][1],
            "kind": "due",
            "seq": 1 + i // len(slots),
            "due_at": due_at,
            "status": "pending",
            "attempts": 0,
            "created_at": created,
        }
        for i in range(total)
    ]
    db.session.execute(sa.insert(ReminderOccurrence), rows)
    db.session.commit()
    return list(
        db.session.scalars(
            sa.select(ReminderOccurrence.id).where(ReminderOccurrence.due_at == due_at).order_by("id")
        )
    )


def received_payloads(push_service) -> list[dict]:
    return [json.loads(push_service.decrypt(rec)) for rec in push_service.received if rec.status == 201]


def fresh(occ_id: int) -> ReminderOccurrence:
    db.session.expire_all()
    return db.session.get(ReminderOccurrence, occ_id)
