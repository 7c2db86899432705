"""The treatment protocol as versioned data: dataclasses, loading from JSON and clinic overrides."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from anagen.protocol.validation import (
    COUNT_FIELDS,
    TEXT_FIELDS,
    TEXT_PARAMETERS,
    ProtocolError,
    raise_if_any,
    validate_definition,
)

DEFINITIONS_DIR = Path(__file__).parent / "definitions"
DEFAULT_PROTOCOL_FILE = DEFINITIONS_DIR / "calecim-professional-v1.json"


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    title: str
    text: str
    duration_seconds: int | None = None
    cautions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PhotoView:
    key: str
    label: str
    guidance: str


@dataclass(frozen=True, slots=True)
class PhotoCheckpoint:
    key: str
    label: str
    after_application: int
    views: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Bounds:
    min: int
    max: int

    def __contains__(self, value: int) -> bool:
        return self.min <= value <= self.max


@dataclass(frozen=True, slots=True, kw_only=True)
class Protocol:
    key: str
    version: int
    name: str
    source: str
    applications_total: int = 24
    applications_per_kit: int = 12
    vials_per_kit: int = 6
    doses_per_vial: int = 2
    applications_per_week: int = 2
    course_weeks: int = 12
    stamp_needle_mm: float = 0.4
    passes_per_area: int = 4
    massage_seconds: int = 60
    min_gap_hours: int = 48
    on_time_window_hours: int = 24
    follow_up_after_hours: int = 4
    side_effect_pain_threshold: int = 6
    aftercare: tuple[str, ...] = ()
    missed_rule: str = ""
    steps: tuple[Step, ...] = ()
    views: tuple[PhotoView, ...] = ()
    checkpoints: tuple[PhotoCheckpoint, ...] = ()
    adjustable: Mapping[str, Bounds] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # A read-only mapping keeps the cached default protocol safe from accidental edits.
        object.__setattr__(self, "adjustable", MappingProxyType(dict(self.adjustable)))

    @property
    def dose_fraction(self) -> float:
        """The share of a vial used by one application."""
        return 1 / self.doses_per_vial

    @property
    def kits_total(self) -> int:
        """How many kits the whole course uses."""
        return self.applications_total // self.applications_per_kit

    @property
    def missed_rule_text(self) -> str:
        """The missed-application guidance with this protocol's numbers filled in."""
        return self.render(self.missed_rule)

    def render(self, text: str) -> str:
        """Fill a patient-facing text's {placeholders} with this protocol's values."""
        return text.format(**{name: getattr(self, name) for name in TEXT_PARAMETERS})

    def step(self, key: str) -> Step:
        """The step with this key (KeyError if there is none)."""
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)


def load_protocol(data: Any) -> Protocol:
    """Validate a protocol definition (as parsed from JSON) and build the Protocol."""
    values = validate_definition(data)
    values["steps"] = tuple(Step(**step) for step in values["steps"])
    values["views"] = tuple(PhotoView(**view) for view in values["views"])
    values["checkpoints"] = tuple(PhotoCheckpoint(**c) for c in values["checkpoints"])
    values["adjustable"] = {name: Bounds(*pair) for name, pair in values["adjustable"].items()}
    return Protocol(**values)


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key '{key}'")
        result[key] = value
    return result


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def load_protocol_file(path: str | Path) -> Protocol:
    """Load and validate a protocol definition from a JSON file."""
    path = Path(path)
    try:
        data = json.loads(
            path.read_text(encoding="utf-8"),
            object_pairs_hook=_refuse_duplicates,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise ProtocolError(f"{path.name}: invalid JSON at {where}", {"file": where}) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"{path.name}: {exc}", {"file": str(exc)}) from exc
    try:
        return load_protocol(data)
    except ProtocolError as exc:
        raise ProtocolError(f"{path.name}: {exc.message}", exc.fields) from exc


@lru_cache(maxsize=1)
def default_protocol() -> Protocol:
    """The shipped reference protocol (Calecim Professional), loaded once."""
    return load_protocol_file(DEFAULT_PROTOCOL_FILE)


def protocol_to_dict(protocol: Protocol) -> dict[str, Any]:
    """The JSON-ready definition of a protocol; load_protocol() turns it back into an equal Protocol."""
    data: dict[str, Any] = {name: getattr(protocol, name) for name in TEXT_FIELDS + COUNT_FIELDS}
    data["stamp_needle_mm"] = protocol.stamp_needle_mm
    data["aftercare"] = list(protocol.aftercare)
    for name in ("steps", "views", "checkpoints"):
        data[name] = [
            {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(item).items()}
            for item in getattr(protocol, name)
        ]
    data["adjustable"] = {name: {"min": b.min, "max": b.max} for name, b in protocol.adjustable.items()}
    return data


def apply_overrides(protocol: Protocol, overrides: Mapping[str, Any]) -> Protocol:
    """A copy of the protocol with a clinic's values for adjustable fields, each within its bounds."""
    if not isinstance(overrides, Mapping):
        raise ProtocolError("Overrides must be an object", {"overrides": "must be an object"})
    errors: dict[str, str] = {}
    for name, value in overrides.items():
        bounds = protocol.adjustable.get(name)
        if bounds is None:
            errors[str(name)] = "cannot be adjusted by a clinic"
        elif not isinstance(value, int) or isinstance(value, bool):
            errors[name] = "must be a whole number"
        elif value not in bounds:
            errors[name] = f"must be between {bounds.min} and {bounds.max}"
    raise_if_any(errors, "override")
    updated = replace(protocol, **overrides)
    if "massage_seconds" in overrides:
        # The massage step's timer is the massage time; keep the two in step.
        steps = tuple(
            replace(s, duration_seconds=updated.massage_seconds) if s.key == "massage" else s
            for s in updated.steps
        )
        updated = replace(updated, steps=steps)
    return updated
