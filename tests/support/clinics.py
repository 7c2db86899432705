"""A clinic full of patients, inserted in bulk (tests of query counts, the dashboard benchmark).

One patient is enrolled through the enrolment service, so the schedule, kits and vials are the
engine's; the others copy that course row for row with plain INSERTs (a few statements whatever
the number of patients), each with a history that puts them in one dashboard state.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa

from anagen.clock import utcnow
from anagen.course.courses import record_application
from anagen.extensions import db
from anagen.models import (
    ApplicationLog,
    Course,
    Invite,
    Kit,
    Patient,
    PlannedApplication,
    PushSubscription,
)
from support.factories import make_enrolled_patient

# Each state a dashboard shows; patient i of a bulk clinic is in STATES[i % len(STATES)].
STATES = ("on_track", "two_misses", "side_effects", "drifting", "notifications", "kit", "invite", "paused")
# The lateness (after the due time) of the last three applications of a drifting patient.
DRIFT = (dt.timedelta(minutes=20), dt.timedelta(hours=1, minutes=10), dt.timedelta(hours=3))


def _rows(table, rows: list[dict]) -> list[int]:
    """INSERT many rows; their ids in the order given."""
    if not rows:
        return []
    result = db.session.execute(
        sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
        rows,
    )
    return [r.id for r in result]


def bulk_patients(
    clinic, count: int, *, weeks_in: int = 7, now: dt.datetime | None = None, tag: str = ""
) -> list[int]:
    """`count` patients of `clinic`, `weeks_in` weeks into their courses, in the STATES in turn,
    signing in with the factories' password; returns the patients' ids."""
    now = now or utcnow()
    start = (now - dt.timedelta(weeks=weeks_in, hours=1)).replace(microsecond=0)
    template, course = make_enrolled_patient(clinic, first_application_at=start, last_name=f"OnTrack{tag}")
    window = dt.timedelta(hours=24)
    for row in course.applications:  # the template is on track, like STATES[0]
        at = row.due_at + (dt.timedelta(minutes=10) if row.number > 1 else dt.timedelta(0))
        if row.due_at + window > now:
            break
        record_application(course, row.number, completed_at=at, now=at)
    course.kits[1].dispatched_at = start
    db.session.add(
        PushSubscription(
            patient_id=template.id,
            endpoint=f"https://push.example.com/bulk{tag}/t{template.id}",
            p256dh="B" * 87,
            auth="A" * 22,
        )
    )
    db.session.commit()
    password = template.password_hash
    apps = [
        dict(
            number=r.number,
            due_at=r.original_due_at,
            kit_number=r.kit_number,
            vial_number=r.vial_number,
            opens_vial=r.opens_vial,
            in_clinic=r.in_clinic,
        )
        for r in course.applications
    ]
    closed = sum(1 for a in apps if a["due_at"] + window <= now)
    states = [STATES[(i + 1) % len(STATES)] for i in range(count - 1)]
    patient_ids = _rows(
        Patient.__table__,
        [
            dict(
                clinic_id=clinic.id,
                first_name=f"Bulk{i}",
                last_name=f"{state.replace('_', ' ').title().replace(' ', '')}{tag}",
                email=f"bulk{tag}-{clinic.id}-{i}@mail.example",
                indication="androgenetic_alopecia",
                suitability={"advanced_traction_alopecia": False, "miniaturisation_seen": True},
                target_areas=["crown"],
                time_zone="Europe/London",
                password_hash=None if state == "invite" else password,
                active=True,
                created_at=start,
            )
            for i, state in enumerate(states)
        ],
    )
    course_ids = _rows(
        Course.__table__,
        [
            dict(
                patient_id=pid,
                protocol_version_id=course.protocol_version_id,
                protocol_overrides={},
                first_application_at=start,
                weekdays=course.weekdays,
                reminder_time=course.reminder_time,
                status="paused" if state == "paused" else "active",
                paused_at=now - dt.timedelta(days=3) if state == "paused" else None,
                status_reason="Scalp irritation: resting for a week" if state == "paused" else None,
                created_at=start,
            )
            for pid, state in zip(patient_ids, states, strict=True)
        ],
    )
    done_by_course = {}
    kits, planned = [], []
    for cid, state in zip(course_ids, states, strict=True):
        done = {"two_misses": closed - 2, "invite": 1, "paused": closed - 1}.get(state, closed)
        done_by_course[cid] = done
        for number in (1, 2):
            dispatched = number == 1 or (state != "kit" and done >= 8)
            kits.append(
                dict(
                    course_id=cid,
                    number=number,
                    batch_number=f"B{number}-{cid}",
                    vials=6,
                    dispatched_at=start if dispatched else None,
                )
            )
        for a in apps:
            completed = None
            if a["number"] <= done:
                late = dt.timedelta(minutes=10)
                if state == "drifting" and a["number"] > done - len(DRIFT):
                    late = DRIFT[a["number"] - (done - len(DRIFT)) - 1]
                completed = a["due_at"] + late if a["number"] > 1 else a["due_at"]
            planned.append({**a, "course_id": cid, "original_due_at": a["due_at"], "completed_at": completed})
    _rows(Kit.__table__, kits)
    app_ids = _rows(PlannedApplication.__table__, planned)
    logs = []
    index = 0
    for cid, state in zip(course_ids, states, strict=True):
        done = done_by_course[cid]
        for a in planned[index : index + len(apps)]:
            if a["completed_at"] is not None:
                flagged = state == "side_effects" and a["number"] == done
                logs.append(
                    dict(
                        planned_application_id=app_ids[index + a["number"] - 1],
                        completed_at=a["completed_at"],
                        steps=[],
                        redness="mild",
                        irritation="none",
                        pain=8 if flagged else 2,
                        flagged=flagged,
                        created_at=a["completed_at"],
                    )
                )
        index += len(apps)
    _rows(ApplicationLog.__table__, logs)
    _rows(
        PushSubscription.__table__,
        [
            dict(
                patient_id=pid,
                endpoint=f"https://push.example.com/bulk{tag}/{pid}",
                p256dh="B" * 87,
                auth="A" * 22,
                refusals=0,
                created_at=start,
            )
            for pid, state in zip(patient_ids, states, strict=True)
            if state not in ("notifications", "invite")
        ],
    )
    _rows(
        Invite.__table__,
        [
            dict(
                patient_id=pid,
                token_hash=hashlib.sha256(f"bulk{tag}-{pid}".encode()).hexdigest(),
                expires_at=start + dt.timedelta(days=14),
                used_at=None if state == "invite" else start + dt.timedelta(hours=2),
                created_at=start,
            )
            for pid, state in zip(patient_ids, states, strict=True)
        ],
    )
    db.session.commit()
    return [template.id, *patient_ids]
