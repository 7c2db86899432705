"""Checks a protocol definition (parsed JSON) field by field and reports every problem by path."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from anagen.errors import InvalidInput

REQUIRED_STEPS = ("prepare", "part", "stamp", "apply", "massage", "aftercare", "check_in")
ADJUSTABLE_FIELDS = (
    "passes_per_area",
    "massage_seconds",
    "min_gap_hours",
    "on_time_window_hours",
    "follow_up_after_hours",
    "side_effect_pain_threshold",
)
COUNT_FIELDS = (
    "version",
    "applications_total",
    "applications_per_kit",
    "vials_per_kit",
    "doses_per_vial",
    "applications_per_week",
    "course_weeks",
    *ADJUSTABLE_FIELDS,
)
# Values patient-facing text may quote as {placeholders}, so a clinic's override shows in the wording.
TEXT_PARAMETERS = (*COUNT_FIELDS[1:], "stamp_needle_mm")
TEXT_FIELDS = ("key", "name", "source", "missed_rule")
TOP_KEYS = (
    *TEXT_FIELDS,
    *COUNT_FIELDS,
    "stamp_needle_mm",
    "aftercare",
    "steps",
    "views",
    "checkpoints",
    "adjustable",
)
_PROTOCOL_KEY = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_ITEM_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_MISSING = object()


class FieldsError(InvalidInput):
    """Input the protocol or the course cannot use, with one message per offending field (dotted path)."""


class ProtocolError(FieldsError):
    """The protocol definition, or a clinic's override of it, is not valid."""


def largest_min_gap(applications_per_week: int) -> int:
    """The largest minimum gap (hours) that still fits that many applications into every week."""
    # Days d apart keep d*24 - 1 real hours even across a one-hour daylight-saving change.
    return (7 // applications_per_week) * 24 - 1


def raise_if_any(errors: Mapping[str, str], what: str) -> None:
    """Raise one ProtocolError listing every problem, the first one in the message."""
    if errors:
        path, message = next(iter(errors.items()))
        more = len(errors) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ProtocolError(f"Invalid {what}: {path} {message}{suffix}", errors)


class _Checker:
    """Collects every problem in a definition, each under its dotted path."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def obj(self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> bool:
        if not isinstance(value, dict):
            self.error(path, "must be an object")
            return False
        for key in value:
            if key not in required and key not in optional:
                self.error(f"{path}.{key}" if path else str(key), "is not a known field")
        for key in required:
            if key not in value:
                self.error(f"{path}.{key}" if path else key, "is required")
        return True

    def text(self, value: Any, path: str, pattern: re.Pattern[str] | None = None) -> str | None:
        if value is _MISSING:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(path, "must be a non-empty text")
            return None
        if pattern and not pattern.match(value):
            self.error(path, "must use lower-case letters, digits and underscores (or hyphens)")
            return None
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError:
            self.error(path, "has an unmatched { or }; write {{ or }} for a literal brace")
            return None
        unknown = sorted(names - set(TEXT_PARAMETERS))
        if unknown:
            self.error(path, f"uses an unknown placeholder {{{unknown[0]}}}")
            return None
        return value

    def integer(self, value: Any, path: str, minimum: int = 1) -> int | None:
        if value is _MISSING:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(path, "must be a whole number")
            return None
        if value < minimum:
            self.error(path, f"must be at least {minimum}")
            return None
        return value

    def number(self, value: Any, path: str) -> float | None:
        if value is _MISSING:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 10:
            self.error(path, "must be a number above 0 and below 10")
            return None
        return float(value)

    def items(self, value: Any, path: str, allow_empty: bool = False) -> list[tuple[str, Any]]:
        if value is _MISSING:
            return []
        if not isinstance(value, list) or not (value or allow_empty):
            self.error(path, "must be a list" if allow_empty else "must be a non-empty list")
            return []
        return [(f"{path}[{i}]", item) for i, item in enumerate(value)]

    def texts(self, value: Any, path: str, allow_empty: bool = False) -> tuple[str, ...]:
        values = [self.text(item, item_path) for item_path, item in self.items(value, path, allow_empty)]
        return tuple(v for v in values if v is not None)

    def unique(self, keys: list[tuple[str, str | None]], what: str) -> None:
        seen: set[str] = set()
        for path, key in keys:
            if key is not None and key in seen:
                self.error(path, f"repeats the {what} key '{key}'")
            seen.add(key or "")


def validate_definition(data: Any) -> dict[str, Any]:
    """Check a whole definition; return its values (sections as lists of dicts) or raise ProtocolError."""
    check = _Checker()
    if not check.obj(data, "", TOP_KEYS):
        raise ProtocolError("Invalid protocol: it must be a JSON object", {"protocol": "must be an object"})
    get = data.get
    values: dict[str, Any] = {name: check.text(get(name, _MISSING), name) for name in TEXT_FIELDS}
    if values["key"] is not None and not _PROTOCOL_KEY.match(values["key"]):
        check.error("key", "must use lower-case letters, digits and hyphens, e.g. calecim-professional")
    values["stamp_needle_mm"] = check.number(get("stamp_needle_mm", _MISSING), "stamp_needle_mm")
    values["aftercare"] = check.texts(get("aftercare", _MISSING), "aftercare")
    values.update({name: check.integer(get(name, _MISSING), name) for name in COUNT_FIELDS})
    values["steps"] = _steps(check, get("steps", _MISSING), values["massage_seconds"])
    values["views"] = _views(check, get("views", _MISSING))
    values["checkpoints"] = _checkpoints(check, get("checkpoints", _MISSING), values)
    values["adjustable"] = _adjustable(check, get("adjustable", _MISSING))
    _check_counts(check, values)
    _check_defaults(check, values)
    raise_if_any(check.errors, "protocol")
    return values


def _steps(check: _Checker, value: Any, massage_seconds: int | None) -> list[dict[str, Any]]:
    steps = []
    for path, item in check.items(value, "steps"):
        if not check.obj(item, path, ("key", "title", "text"), ("duration_seconds", "cautions")):
            continue
        key = check.text(item.get("key", _MISSING), f"{path}.key", _ITEM_KEY)
        duration = item.get("duration_seconds")
        if duration is not None:
            duration = check.integer(duration, f"{path}.duration_seconds")
        if key == "massage" and massage_seconds is not None and duration != massage_seconds:
            check.error(f"{path}.duration_seconds", f"must equal massage_seconds ({massage_seconds})")
        steps.append(
            {
                "key": key,
                "title": check.text(item.get("title", _MISSING), f"{path}.title"),
                "text": check.text(item.get("text", _MISSING), f"{path}.text"),
                "duration_seconds": duration,
                "cautions": check.texts(item.get("cautions", []), f"{path}.cautions", allow_empty=True),
            }
        )
    check.unique([(f"steps[{i}].key", s["key"]) for i, s in enumerate(steps)], "step")
    present = [s["key"] for s in steps if s["key"] in REQUIRED_STEPS]
    missing = [key for key in REQUIRED_STEPS if key not in present]
    if steps and missing:
        check.error("steps", f"must include the steps {', '.join(missing)}")
    elif steps and present != list(REQUIRED_STEPS):
        check.error("steps", f"must keep the order {', '.join(REQUIRED_STEPS)}")
    return steps


def _views(check: _Checker, value: Any) -> list[dict[str, Any]]:
    views = []
    for path, item in check.items(value, "views"):
        if check.obj(item, path, ("key", "label", "guidance")):
            views.append(
                {
                    "key": check.text(item.get("key", _MISSING), f"{path}.key", _ITEM_KEY),
                    "label": check.text(item.get("label", _MISSING), f"{path}.label"),
                    "guidance": check.text(item.get("guidance", _MISSING), f"{path}.guidance"),
                }
            )
    check.unique([(f"views[{i}].key", v["key"]) for i, v in enumerate(views)], "view")
    return views


def _checkpoints(check: _Checker, value: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
    known_views = {view["key"] for view in values["views"]}
    total = values["applications_total"]
    checkpoints = []
    for path, item in check.items(value, "checkpoints"):
        if not check.obj(item, path, ("key", "label", "after_application", "views")):
            continue
        after = check.integer(item.get("after_application", _MISSING), f"{path}.after_application")
        if after is not None and total is not None and after > total:
            check.error(f"{path}.after_application", f"must be between 1 and {total}")
        views = check.texts(item.get("views", _MISSING), f"{path}.views")
        for i, view in enumerate(views):
            if view not in known_views:
                names = ", ".join(sorted(known_views))
                check.error(f"{path}.views[{i}]", f"is not one of the views: {names}")
            elif view in views[:i]:
                check.error(f"{path}.views[{i}]", f"repeats the view '{view}'")
        checkpoints.append(
            {
                "key": check.text(item.get("key", _MISSING), f"{path}.key", _ITEM_KEY),
                "label": check.text(item.get("label", _MISSING), f"{path}.label"),
                "after_application": after,
                "views": views,
            }
        )
    check.unique([(f"checkpoints[{i}].key", c["key"]) for i, c in enumerate(checkpoints)], "checkpoint")
    return checkpoints


def _adjustable(check: _Checker, value: Any) -> dict[str, tuple[int, int]]:
    if value is _MISSING or not check.obj(value, "adjustable", (), ADJUSTABLE_FIELDS):
        return {}
    bounds = {}
    for name, item in value.items():
        path = f"adjustable.{name}"
        if name not in ADJUSTABLE_FIELDS:
            # Replace the "not a known field" note with the list of what can be adjusted.
            check.errors[path] = f"cannot be adjusted; adjustable fields are {', '.join(ADJUSTABLE_FIELDS)}"
        elif check.obj(item, path, ("min", "max")):
            low = check.integer(item.get("min", _MISSING), f"{path}.min", minimum=0)
            high = check.integer(item.get("max", _MISSING), f"{path}.max", minimum=0)
            if low is not None and high is not None:
                if low > high:
                    check.error(f"{path}.max", f"must be at least min ({low})")
                bounds[name] = (low, high)
    return bounds


def _check_counts(check: _Checker, v: dict[str, Any]) -> None:
    per_kit, vials, doses = v["applications_per_kit"], v["vials_per_kit"], v["doses_per_vial"]
    if None not in (per_kit, vials, doses) and per_kit != vials * doses:
        check.error("applications_per_kit", f"must equal vials_per_kit x doses_per_vial ({vials * doses})")
    total, per_week, weeks = v["applications_total"], v["applications_per_week"], v["course_weeks"]
    if None not in (total, per_kit) and total % per_kit:
        check.error("applications_total", f"must be a whole number of kits of {per_kit} applications")
    if None not in (total, per_week, weeks) and total != per_week * weeks:
        check.error(
            "course_weeks", f"must equal applications_total / applications_per_week ({total / per_week:g})"
        )
    if per_week is not None and per_week > 7:
        check.error("applications_per_week", "must be between 1 and 7")


def _check_defaults(check: _Checker, v: dict[str, Any]) -> None:
    for name, (low, high) in v["adjustable"].items():
        if v[name] is not None and not low <= v[name] <= high:
            check.error(name, f"must be between {low} and {high} (its adjustable bounds)")
    per_week = v["applications_per_week"]
    if per_week is None or per_week > 7:
        return
    largest = largest_min_gap(per_week)
    fits = f"must be at most {largest} so that {per_week} applications fit in a week"
    if v["min_gap_hours"] is not None and v["min_gap_hours"] > largest:
        check.error("min_gap_hours", fits)
    if v["adjustable"].get("min_gap_hours", (0, 0))[1] > largest:
        check.error("adjustable.min_gap_hours.max", fits)
    if v["adjustable"].get("side_effect_pain_threshold", (0, 0))[1] > 10:
        check.error("adjustable.side_effect_pain_threshold.max", "must be at most 10 (pain is scored 0-10)")
