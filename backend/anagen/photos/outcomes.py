"""Clinician-entered outcome measures: hair count per cm² and cumulative hair thickness (mm/cm²) of
each target area at the course's checkpoints, as trichoscopy tools report them, with the change
from the same area's baseline (the seed's outcome: +14 % count, +16 % thickness at 12 weeks)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from anagen.clock import utcnow
from anagen.course.courses import require_course
from anagen.course.protocols import course_protocol
from anagen.course.today import SCALP_AREAS
from anagen.errors import InvalidInput, NotFound
from anagen.extensions import db
from anagen.models import Course, OutcomeMeasure, Patient, StaffUser
from anagen.protocol import Protocol

BASELINE = "baseline"
# Plausible ranges: a full scalp has about 150-300 hairs per cm², and cumulative thickness (the sum
# of hair diameters per cm²) is a few mm/cm²; the bounds only catch slips of the keyboard.
HAIR_COUNT_RANGE = (0.0, 1000.0)
THICKNESS_RANGE = (0.0, 100.0)
# A measurement may be dated this far ahead of the server's clock.
CLOCK_SKEW = dt.timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Measure:
    row: OutcomeMeasure
    checkpoint_label: str
    hair_count_change_pct: float | None
    thickness_change_pct: float | None

    def __getattr__(self, name):
        # The schema reads the row's own fields through the measure.
        return getattr(self.row, name)


@dataclass(frozen=True, slots=True)
class AreaOutcomes:
    target_area: str
    label: str
    measures: list[Measure]


def change_pct(value: float | None, baseline: float | None) -> float | None:
    """The change from baseline in percent, to one decimal; None without both values."""
    if value is None or baseline is None or baseline <= 0:
        return None
    return round((value - baseline) / baseline * 100, 1)


def outcomes(
    patient: Patient, course: Course | None = None, protocol: Protocol | None = None
) -> list[AreaOutcomes]:
    """The course's measures by target area (the patient's areas first, in their order), each with
    its checkpoints in protocol order and the change from that area's baseline. `course` and
    `protocol`: the patient's current ones when the caller has them already."""
    course = course or require_course(patient.id)
    protocol = protocol or course_protocol(course)
    order = {c.key: i for i, c in enumerate(protocol.checkpoints)}
    labels = {c.key: c.label for c in protocol.checkpoints}
    rows = db.session.scalars(sa.select(OutcomeMeasure).where(OutcomeMeasure.course_id == course.id)).all()
    areas = list(patient.target_areas) + sorted({r.target_area for r in rows} - set(patient.target_areas))
    result = []
    for area in areas:
        mine = sorted((r for r in rows if r.target_area == area), key=lambda r: order.get(r.checkpoint, 99))
        base = next((r for r in mine if r.checkpoint == BASELINE), None)
        result.append(
            AreaOutcomes(
                target_area=area,
                label=SCALP_AREAS.get(area, area),
                measures=[
                    Measure(
                        row=r,
                        checkpoint_label=labels.get(r.checkpoint, r.checkpoint),
                        hair_count_change_pct=None
                        if r is base or base is None
                        else change_pct(r.hair_count_per_cm2, base.hair_count_per_cm2),
                        thickness_change_pct=None
                        if r is base or base is None
                        else change_pct(
                            r.cumulative_thickness_mm_per_cm2, base.cumulative_thickness_mm_per_cm2
                        ),
                    )
                    for r in mine
                ],
            )
        )
    return result


def _check_value(errors: dict, name: str, value: float | None, bounds: tuple[float, float]) -> None:
    if value is not None and not bounds[0] < value <= bounds[1]:
        errors[name] = f"must be more than {bounds[0]:g} and at most {bounds[1]:g}"


def put_measure(
    patient: Patient,
    checkpoint: str,
    target_area: str,
    *,
    measured_at: dt.datetime,
    hair_count_per_cm2: float | None,
    cumulative_thickness_mm_per_cm2: float | None,
    staff: StaffUser,
) -> tuple[OutcomeMeasure, bool]:
    """Record (or replace) the measure of one area at one checkpoint; True when it is new."""
    course = require_course(patient.id)
    protocol = course_protocol(course)
    errors: dict[str, str] = {}
    keys = [c.key for c in protocol.checkpoints]
    if checkpoint not in keys:
        errors["checkpoint"] = f"must be one of: {', '.join(keys)}"
    if target_area not in patient.target_areas:
        errors["target_area"] = (
            f"must be one of the patient's target areas: {', '.join(patient.target_areas)}"
        )
    if hair_count_per_cm2 is None and cumulative_thickness_mm_per_cm2 is None:
        errors["hair_count_per_cm2"] = "give the hair count, the thickness, or both"
    _check_value(errors, "hair_count_per_cm2", hair_count_per_cm2, HAIR_COUNT_RANGE)
    _check_value(errors, "cumulative_thickness_mm_per_cm2", cumulative_thickness_mm_per_cm2, THICKNESS_RANGE)
    if measured_at > utcnow() + CLOCK_SKEW:
        errors["measured_at"] = "must not be in the future"
    if errors:
        raise InvalidInput("Some of the measurement is not valid.", errors)
    values = {
        "measured_at": measured_at,
        "hair_count_per_cm2": hair_count_per_cm2,
        "cumulative_thickness_mm_per_cm2": cumulative_thickness_mm_per_cm2,
        "recorded_by_id": staff.id,
        "updated_at": utcnow(),
    }
    row = _find(course.id, checkpoint, target_area)
    created = row is None
    if created:
        row = OutcomeMeasure(
            patient_id=patient.id,
            course_id=course.id,
            checkpoint=checkpoint,
            target_area=target_area,
            **values,
        )
        db.session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    db.session.flush()
    return row, created


def delete_measure(patient: Patient, checkpoint: str, target_area: str) -> OutcomeMeasure:
    course = require_course(patient.id)
    row = _find(course.id, checkpoint, target_area)
    if row is None:
        raise NotFound("There is no such measurement.")
    db.session.delete(row)
    db.session.flush()
    return row


def _find(course_id: int, checkpoint: str, target_area: str) -> OutcomeMeasure | None:
    return db.session.scalar(
        sa.select(OutcomeMeasure).where(
            OutcomeMeasure.course_id == course_id,
            OutcomeMeasure.checkpoint == checkpoint,
            OutcomeMeasure.target_area == target_area,
        )
    )


def measures_for_export(patient_id: int, course_id: int | None = None) -> list[OutcomeMeasure]:
    """Every measure of the patient (of one course if given), for the FHIR export."""
    query = sa.select(OutcomeMeasure).where(OutcomeMeasure.patient_id == patient_id)
    if course_id is not None:
        query = query.where(OutcomeMeasure.course_id == course_id)
    return list(db.session.scalars(query.order_by(OutcomeMeasure.measured_at, OutcomeMeasure.id)))
