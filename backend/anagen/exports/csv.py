"""The clinic's adherence as a CSV file: one row per planned application of every course.

For Excel: UTF-8 with a byte order mark (Excel reads it as UTF-8 only then), CRLF line ends,
dates and times in the patient's own zone as "YYYY-MM-DD HH:MM" (Excel reads them as dates),
the zone in its own column. Cells a spreadsheet would run as a formula (starting with = + - @,
a tab or a carriage return) get a leading apostrophe (OWASP's CSV injection advice).

A fixed number of statements: the clinic's courses with their patients, applications, logs and
kits, and the names of the staff who recorded applications.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import sqlalchemy as sa
from sqlalchemy import orm as so

from anagen.clock import utcnow
from anagen.course.courses import plan_items
from anagen.course.protocols import course_protocol
from anagen.extensions import db
from anagen.models import Course, Patient, PlannedApplication, StaffUser
from anagen.protocol import local_wall_clock

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "patient_id",
    "last_name",
    "first_name",
    "email",
    "course_id",
    "course_status",
    "application",
    "kit",
    "where",
    "due_local",
    "completed_local",
    "time_zone",
    "status",
    "recorded_by",
    "pain",
    "redness",
    "irritation",
    "over_threshold",
)


def safe_cell(value) -> str:
    """The cell as text, defused if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _local(instant: dt.datetime | None, zone: str) -> str:
    return "" if instant is None else local_wall_clock(instant, zone).strftime("%Y-%m-%d %H:%M")


def adherence_rows(clinic_id: int, now: dt.datetime | None = None):
    """(header, rows) of the clinic's adherence, by patient name then course and application."""
    now = now or utcnow()
    courses = db.session.scalars(
        sa.select(Course)
        .join(Patient, Patient.id == Course.patient_id)
        .where(Patient.clinic_id == clinic_id)
        .options(
            so.contains_eager(Course.patient),
            so.selectinload(Course.applications).selectinload(PlannedApplication.log),
            so.joinedload(Course.protocol_version),
        )
        .order_by(Patient.last_name, Patient.first_name, Patient.id, Course.id)
    ).all()
    staff_ids = {a.log.recorded_by_staff_id for c in courses for a in c.applications if a.log}
    staff_ids.discard(None)
    names = {}
    if staff_ids:
        query = sa.select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(staff_ids))
        names = dict(db.session.execute(query).tuples().all())
    rows = []
    for course in courses:
        patient = course.patient
        zone = patient.time_zone
        for row, item in zip(
            course.applications, plan_items(course, course_protocol(course), now), strict=True
        ):
            log = row.log
            by = None
            if log is not None:
                by = names.get(log.recorded_by_staff_id, "clinic") if log.recorded_by_staff_id else "patient"
            rows.append(
                (
                    patient.id,
                    patient.last_name,
                    patient.first_name,
                    patient.email,
                    course.id,
                    str(course.status),
                    item.number,
                    item.kit_number,
                    "clinic" if item.in_clinic else "home",
                    _local(item.scheduled_at, zone),
                    _local(item.completed_at, zone),
                    zone,
                    item.status,
                    by,
                    log.pain if log else None,
                    log.redness if log else None,
                    log.irritation if log else None,
                    log.flagged if log else None,
                )
            )
    return COLUMNS, rows


def adherence_csv(clinic_id: int, now: dt.datetime | None = None) -> str:
    header, rows = adherence_rows(clinic_id, now)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return BOM + out.getvalue()
