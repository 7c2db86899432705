"""What a patient sees: today's summary, the plan and the protocol as their clinic set it."""

from __future__ import annotations

import datetime as dt

from anagen.clinic.messages import SHOWN_ON_TODAY, message_body, messages_for
from anagen.clock import iso, utcnow
from anagen.course.courses import PlanItem, course_adherence, plan_items, require_course
from anagen.course.protocols import course_protocol
from anagen.models import Course, Patient
from anagen.protocol import Protocol, checkpoint_dates, kit_status

SCALP_AREAS = {
    "frontal_hairline": "Frontal hairline",
    "left_temple": "Left temple",
    "right_temple": "Right temple",
    "mid_scalp": "Mid-scalp",
    "crown": "Crown",
    "parting_line": "Parting line",
    "occipital": "Back of the head",
}


def application_label(protocol: Protocol, item: PlanItem) -> str:
    return f"Application {item.number} of {protocol.applications_total} · kit {item.kit_number}"


def item_body(item: PlanItem) -> dict:
    return {
        "number": item.number,
        "due_at": iso(item.due_at),
        "original_due_at": iso(item.original_due_at),
        "status": item.status,
        "completed_at": iso(item.completed_at),
        "kit_number": item.kit_number,
        "vial_number": item.vial_number,
        "opens_vial": item.opens_vial,
        "in_clinic": item.in_clinic,
    }


def adherence_body(adh) -> dict:
    return {
        "percent": adh.percent,
        "on_time_percent": adh.on_time_percent,
        "on_time": adh.on_time,
        "late": adh.late,
        "missed": adh.missed,
        "due_so_far": adh.due_so_far,
    }


def today(patient: Patient, now: dt.datetime | None = None) -> dict:
    """The patient's summary: next application, kit, next photo checkpoint, adherence."""
    now = now or utcnow()
    course = require_course(patient.id)
    protocol = course_protocol(course)
    items = plan_items(course, protocol, now)
    done = [i for i in items if i.completed_at is not None]
    upcoming = next((i for i in items if i.completed_at is None), None)
    next_app = None
    if upcoming is not None:
        gap_from = done[-1].completed_at + dt.timedelta(hours=protocol.min_gap_hours) if done else None
        status = upcoming.status if upcoming.status in ("missed", "due") else "upcoming"
        next_app = {
            **item_body(upcoming),
            "label": application_label(protocol, upcoming),
            "earliest_at": iso(gap_from),
            "status": status,
        }
    kit = kit_status(protocol, len(done))
    checkpoint = next_checkpoint(protocol, items, len(done))
    return {
        "patient": {"first_name": patient.first_name, "time_zone": patient.time_zone},
        "clinic": {"name": patient.clinic.name},
        "course": {
            "id": course.id,
            "status": course.status,
            "protocol_name": protocol.name,
            "applications_total": protocol.applications_total,
            "applications_done": len(done),
            "kits_total": protocol.kits_total,
        },
        "next_application": next_app,
        "kit": {
            "kit_number": kit.kit_number,
            "vials_left": kit.vials_left_in_kit,
            "half_vial_open": kit.half_vial_open,
            "applications_left_in_kit": kit.applications_left_in_kit,
            "last_vial_opened": kit.last_vial_opened,
            "needs_next_kit": kit.needs_next_kit,
        },
        "next_checkpoint": checkpoint,
        "adherence": adherence_body(course_adherence(protocol, items, now)),
        "messages": [message_body(m) for m in messages_for(patient.id, SHOWN_ON_TODAY)],
    }


def next_checkpoint(protocol: Protocol, items: list[PlanItem], done_count: int) -> dict | None:
    """The first photo checkpoint not yet reached (or reached by the last application done)."""
    views = {v.key: v.label for v in protocol.views}
    labels = {c.key: c for c in protocol.checkpoints}
    for due in checkpoint_dates(protocol, items):
        if due.after_application >= done_count:
            checkpoint = labels[due.key]
            return {
                "key": due.key,
                "label": checkpoint.label,
                "after_application": due.after_application,
                "due_at": iso(due.due_at),
                "views": [{"key": v, "label": views[v]} for v in checkpoint.views],
            }
    return None


def plan(patient: Patient, now: dt.datetime | None = None) -> dict:
    """The whole course as a calendar, with adherence and the missed-application guidance."""
    now = now or utcnow()
    course = require_course(patient.id)
    protocol = course_protocol(course)
    items = plan_items(course, protocol, now)
    return {
        "time_zone": patient.time_zone,
        "missed_rule": protocol.missed_rule_text,
        "adherence": adherence_body(course_adherence(protocol, items, now)),
        "applications": [item_body(i) for i in items],
    }


def application_body(course: Course, number: int, now: dt.datetime | None = None) -> dict:
    """One application as the plan shows it, from a course already in hand (no second query)."""
    now = now or utcnow()
    return item_body(plan_items(course, course_protocol(course), now)[number - 1])


def protocol_for(patient: Patient) -> dict:
    """The protocol as the patient's clinic set it, with the patient's target areas."""
    course = require_course(patient.id)
    p = course_protocol(course)
    return {
        "name": p.name,
        "source_note": "Set by your clinic",
        "stamp_needle_mm": p.stamp_needle_mm,
        "passes_per_area": p.passes_per_area,
        "massage_seconds": p.massage_seconds,
        "min_gap_hours": p.min_gap_hours,
        "applications_total": p.applications_total,
        "applications_per_kit": p.applications_per_kit,
        "vials_per_kit": p.vials_per_kit,
        "doses_per_vial": p.doses_per_vial,
        "side_effect_pain_threshold": p.side_effect_pain_threshold,
        "steps": [
            {
                "key": s.key,
                "title": p.render(s.title),
                "text": p.render(s.text),
                "duration_seconds": s.duration_seconds,
                "cautions": [p.render(c) for c in s.cautions],
            }
            for s in p.steps
        ],
        "aftercare": [p.render(a) for a in p.aftercare],
        "missed_rule": p.missed_rule_text,
        "views": [{"key": v.key, "label": v.label, "guidance": v.guidance} for v in p.views],
        "checkpoints": [
            {"key": c.key, "label": c.label, "after_application": c.after_application, "views": list(c.views)}
            for c in p.checkpoints
        ],
        "target_areas": [{"key": a, "label": SCALP_AREAS.get(a, a)} for a in patient.target_areas],
    }
