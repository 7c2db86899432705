"""A clinic's own settings: its name, home time zone and protocol parameters."""

from __future__ import annotations

from dataclasses import dataclass

from anagen.course.protocols import effective_protocol, ensure_builtin_protocols
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


def clinic_settings(clinic: Clinic) -> ClinicSettings:
    """The clinic's settings, with each adjustable protocol parameter, its bounds and its value."""
    version = ensure_builtin_protocols()
    shipped = effective_protocol(version)
    current = effective_protocol(version, clinic.protocol_overrides)
    parameters = [
        Parameter(key, getattr(current, key), getattr(shipped, key), bounds.min, bounds.max)
        for key, bounds in sorted(shipped.adjustable.items())
    ]
    return ClinicSettings(clinic.name, clinic.time_zone, ProtocolParameters(shipped.name, parameters))


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
    if "protocol_overrides" in changes:
        overrides = {k: v for k, v in changes["protocol_overrides"].items() if v is not None}
        version = ensure_builtin_protocols()
        apply_overrides(effective_protocol(version), overrides)  # raises ProtocolError naming the field
        clinic.protocol_overrides = overrides
