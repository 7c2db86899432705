"""A clinic's own settings: its name, home time zone and protocol parameters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from anagen.course.protocols import available_protocols, effective_protocol, ensure_builtin_protocols
from anagen.errors import InvalidInput
from anagen.models import Clinic
from anagen.protocol import apply_overrides, validate_zone


@dataclass(frozen=True)
class Parameter:
    """An adjustable protocol parameter: the clinic's value, the shipped default and the safe bounds."""

    key: str
    value: int | float
    default: int | float
    min: int
    max: int


@dataclass(frozen=True)
class ProtocolParameters:
    name: str
    parameters: list[Parameter]


@dataclass(frozen=True)
class ClinicSettings:
    name: str
    time_zone: str
    protocol: ProtocolParameters
    phone: str | None
    locations: list[str]
    default_reminder_time: dt.time


# The reminder time an enrolment proposes when the clinic has not chosen one.
DEFAULT_REMINDER_TIME = dt.time(20, 0)
MAX_LOCATIONS = 20


def default_reminder_time(clinic: Clinic) -> dt.time:
    return clinic.default_reminder_time or DEFAULT_REMINDER_TIME


def clinic_settings(clinic: Clinic) -> ClinicSettings:
    """The clinic's settings, with each adjustable protocol parameter, its bounds and its value."""
    version = ensure_builtin_protocols()
    shipped = effective_protocol(version)
    current = effective_protocol(version, clinic.protocol_overrides)
    parameters = [
        Parameter(key, getattr(current, key), getattr(shipped, key), bounds.min, bounds.max)
        for key, bounds in sorted(shipped.adjustable.items())
    ]
    return ClinicSettings(
        clinic.name,
        clinic.time_zone,
        ProtocolParameters(shipped.name, parameters),
        clinic.phone,
        list(clinic.locations or []),
        default_reminder_time(clinic),
    )


def update_settings(clinic: Clinic, changes: dict) -> None:
    """Apply a partial change; protocol parameters must stay within the protocol's bounds.

    New values apply to patients enrolled from now on; a course keeps the parameters it
    started with, so a patient's instructions never change mid-course without a clinician.
    """
    if "time_zone" in changes:
        validate_zone(changes["time_zone"])
        clinic.time_zone = changes["time_zone"]
    if "name" in changes:
        clinic.name = changes["name"].strip()
    if "phone" in changes:
        clinic.phone = (changes["phone"] or "").strip() or None
    if "locations" in changes:
        names = list(dict.fromkeys(n.strip() for n in changes["locations"] if n and n.strip()))
        if len(names) > MAX_LOCATIONS:
            raise InvalidInput("Too many locations.", {"locations": f"At most {MAX_LOCATIONS}"})
        clinic.locations = names
    if "default_reminder_time" in changes:
        clinic.default_reminder_time = changes["default_reminder_time"]
    if "protocol_overrides" in changes:
        overrides = {k: v for k, v in changes["protocol_overrides"].items() if v is not None}
        version = ensure_builtin_protocols()
        apply_overrides(effective_protocol(version), overrides)  # raises ProtocolError naming the field
        clinic.protocol_overrides = overrides


@dataclass(frozen=True)
class Option:
    key: str
    label: str


@dataclass(frozen=True)
class ProtocolChoice:
    """A protocol the clinic can enrol on, with its parameters as the clinic set them (the
    defaults of a new course) and their bounds (what may be changed for one patient)."""

    id: int
    name: str
    weeks: int
    applications_per_week: int
    applications_total: int
    min_gap_hours: int
    parameters: list[Parameter]


@dataclass(frozen=True)
class ClinicCard:
    name: str
    phone: str | None
    time_zone: str
    locations: list[str]
    default_reminder_time: dt.time


@dataclass(frozen=True)
class EnrolmentOptions:
    clinic: ClinicCard
    indications: list[Option]
    scalp_areas: list[Option]
    protocols: list[ProtocolChoice]


def enrolment_options(clinic: Clinic, indications: dict[str, str], areas: dict[str, str]) -> EnrolmentOptions:
    """What any staff member needs to enrol a patient at the chair."""
    ensure_builtin_protocols()
    choices = []
    for version in available_protocols(clinic.id):
        shipped = effective_protocol(version)
        current = effective_protocol(version, clinic.protocol_overrides)
        choices.append(
            ProtocolChoice(
                id=version.id,
                name=current.name,
                weeks=current.course_weeks,
                applications_per_week=current.applications_per_week,
                applications_total=current.applications_total,
                min_gap_hours=current.min_gap_hours,
                parameters=[
                    Parameter(key, getattr(current, key), getattr(shipped, key), bounds.min, bounds.max)
                    for key, bounds in sorted(shipped.adjustable.items())
                ],
            )
        )
    return EnrolmentOptions(
        clinic=ClinicCard(
            clinic.name,
            clinic.phone,
            clinic.time_zone,
            list(clinic.locations or []),
            default_reminder_time(clinic),
        ),
        indications=[Option(k, v) for k, v in indications.items()],
        scalp_areas=[Option(k, v) for k, v in areas.items()],
        protocols=choices,
    )
