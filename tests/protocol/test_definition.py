"""The protocol definition: the shipped file, the validator's errors, and clinic overrides."""

from __future__ import annotations

import copy
import json

import pytest

from anagen.errors import AnagenError
from anagen.protocol import (
    ADJUSTABLE_FIELDS,
    DEFAULT_PROTOCOL_FILE,
    REQUIRED_STEPS,
    Bounds,
    FieldsError,
    ProtocolError,
    apply_overrides,
    default_protocol,
    largest_min_gap,
    load_protocol,
    load_protocol_file,
    protocol_to_dict,
)

SHIPPED = json.loads(DEFAULT_PROTOCOL_FILE.read_text(encoding="utf-8"))


def definition() -> dict:
    """A fresh, editable copy of the shipped definition."""
    return copy.deepcopy(SHIPPED)


def errors_for(data) -> dict[str, str]:
    with pytest.raises(ProtocolError) as caught:
        load_protocol(data)
    return caught.value.fields


def test_shipped_protocol_loads_with_the_seed_facts():
    protocol = default_protocol()

    assert (protocol.key, protocol.version) == ("calecim-professional", 1)
    assert protocol.source == "Calecim Professional Advanced Hair System"
    assert protocol.applications_total == 24
    assert protocol.applications_per_kit == 12
    assert (protocol.vials_per_kit, protocol.doses_per_vial) == (6, 2)
    assert (protocol.applications_per_week, protocol.course_weeks) == (2, 12)
    assert protocol.stamp_needle_mm == 0.4
    assert protocol.dose_fraction == 0.5
    assert protocol.kits_total == 2
    assert (protocol.passes_per_area, protocol.massage_seconds, protocol.min_gap_hours) == (4, 60, 48)
    assert (protocol.on_time_window_hours, protocol.follow_up_after_hours) == (24, 4)
    assert protocol.side_effect_pain_threshold == 6
    assert tuple(step.key for step in protocol.steps) == REQUIRED_STEPS
    assert [view.key for view in protocol.views] == [
        "crown",
        "parting",
        "frontal_hairline",
        "left_temple",
        "right_temple",
    ]
    assert [(c.key, c.after_application) for c in protocol.checkpoints] == [
        ("baseline", 1),
        ("end_of_kit_1", 12),
        ("end_of_course", 24),
    ]
    assert protocol.adjustable["massage_seconds"] == Bounds(30, 300)
    assert set(protocol.adjustable) == set(ADJUSTABLE_FIELDS)


def test_shipped_texts_render_with_the_protocol_values():
    protocol = default_protocol()

    assert protocol.missed_rule_text.startswith("If you miss an application, do it as soon as you can")
    assert "at least 48 hours since the last one" in protocol.missed_rule_text
    assert "4 times" in protocol.render(protocol.step("stamp").text)
    assert "Press, lift, move \u2014 never drag the stamp." in protocol.step("stamp").cautions
    assert any("bleeds or breaks" in caution for caution in protocol.step("stamp").cautions)
    assert protocol.step("massage").duration_seconds == 60
    texts = [protocol.missed_rule, *protocol.aftercare]
    texts += [part for step in protocol.steps for part in (step.title, step.text, *step.cautions)]
    for text in texts:
        assert "{" not in protocol.render(text)


def test_default_protocol_is_loaded_once_and_read_only():
    protocol = default_protocol()

    assert default_protocol() is protocol
    with pytest.raises(TypeError):
        protocol.adjustable["massage_seconds"] = Bounds(1, 1000)  # type: ignore[index]
    assert hash(protocol) == hash(load_protocol(definition()))


def test_round_trip_through_dict_and_json():
    protocol = default_protocol()
    data = protocol_to_dict(protocol)

    assert data == SHIPPED
    assert load_protocol(data) == protocol
    assert load_protocol(json.loads(json.dumps(data))) == protocol


def test_a_whole_number_needle_size_is_accepted():
    data = definition()
    data["stamp_needle_mm"] = 1

    assert load_protocol(data).stamp_needle_mm == 1.0


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda d: d.pop("steps"), "steps", "is required"),
        (lambda d: d.pop("missed_rule"), "missed_rule", "is required"),
        (lambda d: d["steps"][2].pop("text"), "steps[2].text", "is required"),
        (lambda d: d.update(name=5), "name", "must be a non-empty text"),
        (lambda d: d.update(name="  "), "name", "must be a non-empty text"),
        (lambda d: d.update(version="1"), "version", "must be a whole number"),
        (lambda d: d.update(massage_seconds=60.0), "massage_seconds", "must be a whole number"),
        (
            lambda d: d["steps"][2].update(duration_seconds="ten"),
            "steps[2].duration_seconds",
            "must be a whole number",
        ),
        (lambda d: d.update(applications_total=True), "applications_total", "must be a whole number"),
        (
            lambda d: d["checkpoints"][1].update(after_application=True),
            "checkpoints[1].after_application",
            "must be a whole number",
        ),
        (lambda d: d.update(vials_per_kit=0), "vials_per_kit", "must be at least 1"),
        (lambda d: d.update(stamp_needle_mm="0.4"), "stamp_needle_mm", "must be a number"),
        (lambda d: d.update(stamp_needle_mm=False), "stamp_needle_mm", "must be a number"),
        (lambda d: d.update(colour="blue"), "colour", "is not a known field"),
        (lambda d: d["views"][0].update(zoom=2), "views[0].zoom", "is not a known field"),
        (lambda d: d.update(key="Calecim Pro"), "key", "lower-case"),
        (lambda d: d["steps"][0].update(key="Get-Ready"), "steps[0].key", "lower-case"),
        (lambda d: d.update(aftercare=[]), "aftercare", "must be a non-empty list"),
        (lambda d: d.update(aftercare="Do not wash"), "aftercare", "must be a non-empty list"),
        (lambda d: d["aftercare"].append(3), "aftercare[5]", "must be a non-empty text"),
        (lambda d: d["steps"][1].update(cautions="none"), "steps[1].cautions", "must be a list"),
        (lambda d: d.update(views={}), "views", "must be a non-empty list"),
        (lambda d: d["views"].__setitem__(1, "parting"), "views[1]", "must be an object"),
        # Counts that do not add up.
        (
            lambda d: d.update(applications_per_kit=10),
            "applications_per_kit",
            "vials_per_kit x doses_per_vial",
        ),
        (
            lambda d: d.update(applications_total=30, course_weeks=15),
            "applications_total",
            "whole number of kits",
        ),
        (lambda d: d.update(course_weeks=10), "course_weeks", "applications_total / applications_per_week"),
        (
            lambda d: d.update(applications_per_week=8, applications_total=96, course_weeks=12),
            "applications_per_week",
            "between 1 and 7",
        ),
        # Steps.
        (lambda d: d["steps"][1].update(key="prepare"), "steps[1].key", "repeats the step key 'prepare'"),
        (lambda d: d["steps"].pop(), "steps", "must include the steps check_in"),
        (lambda d: d["steps"].insert(2, d["steps"].pop(3)), "steps", "must keep the order"),
        (lambda d: d["steps"][4].update(duration_seconds=90), "steps[4].duration_seconds", "massage_seconds"),
        (lambda d: d["steps"][4].pop("duration_seconds"), "steps[4].duration_seconds", "massage_seconds"),
        (lambda d: d["steps"][2].update(text="Go {passes} times"), "steps[2].text", "unknown placeholder"),
        (lambda d: d.update(missed_rule="Wait {min_gap_hours hours"), "missed_rule", "unmatched"),
        # Views and checkpoints.
        (lambda d: d["views"][1].update(key="crown"), "views[1].key", "repeats the view key 'crown'"),
        (
            lambda d: d["checkpoints"][1]["views"].__setitem__(0, "back"),
            "checkpoints[1].views[0]",
            "is not one of the views",
        ),
        (
            lambda d: d["checkpoints"][1]["views"].__setitem__(1, "crown"),
            "checkpoints[1].views[1]",
            "repeats the view 'crown'",
        ),
        (lambda d: d["checkpoints"][0].update(views=[]), "checkpoints[0].views", "must be a non-empty list"),
        (
            lambda d: d["checkpoints"][2].update(after_application=25),
            "checkpoints[2].after_application",
            "between 1 and 24",
        ),
        (
            lambda d: d["checkpoints"][0].update(after_application=0),
            "checkpoints[0].after_application",
            "must be at least 1",
        ),
        (
            lambda d: d["checkpoints"][2].update(key="baseline"),
            "checkpoints[2].key",
            "repeats the checkpoint key",
        ),
        # Adjustable bounds and the defaults inside them.
        (
            lambda d: (d.update(massage_seconds=20), d["steps"][4].update(duration_seconds=20)),
            "massage_seconds",
            "must be between 30 and 300",
        ),
        (lambda d: d.update(passes_per_area=9), "passes_per_area", "must be between 2 and 8"),
        (
            lambda d: d["adjustable"].update(applications_total={"min": 12, "max": 36}),
            "adjustable.applications_total",
            "cannot be adjusted",
        ),
        (
            lambda d: d["adjustable"].update(passes_per_area={"min": 8, "max": 2}),
            "adjustable.passes_per_area.max",
            "must be at least min (8)",
        ),
        (
            lambda d: d["adjustable"].update(passes_per_area={"min": 2}),
            "adjustable.passes_per_area.max",
            "is required",
        ),
        (
            lambda d: d["adjustable"]["passes_per_area"].update(max=True),
            "adjustable.passes_per_area.max",
            "must be a whole number",
        ),
        (
            lambda d: d["adjustable"]["min_gap_hours"].update(max=96),
            "adjustable.min_gap_hours.max",
            "must be at most 71 so that 2 applications fit in a week",
        ),
        (
            lambda d: (d.update(min_gap_hours=72), d["adjustable"].pop("min_gap_hours")),
            "min_gap_hours",
            "must be at most 71",
        ),
        (
            lambda d: d["adjustable"]["side_effect_pain_threshold"].update(max=11),
            "adjustable.side_effect_pain_threshold.max",
            "must be at most 10",
        ),
    ],
)
def test_a_bad_definition_names_the_field(change, path, message):
    data = definition()
    change(data)

    fields = errors_for(data)

    assert path in fields, fields
    assert message in fields[path]


def test_every_problem_is_reported_at_once_and_the_first_is_in_the_message():
    data = definition()
    data.pop("name")
    data["views"][0]["label"] = ""
    data["adjustable"]["colour"] = {"min": 1, "max": 2}

    with pytest.raises(ProtocolError) as caught:
        load_protocol(data)

    error = caught.value
    assert isinstance(error, FieldsError)
    assert isinstance(error, AnagenError)
    assert (error.status, error.code) == (422, "invalid_input")
    assert set(error.fields) == {"name", "views[0].label", "adjustable.colour"}
    assert error.message == str(error)
    assert error.message.startswith("Invalid protocol: ")
    assert "(and 2 more problems)" in error.message


@pytest.mark.parametrize("data", [[], "protocol", None, 3])
def test_a_definition_must_be_an_object(data):
    assert errors_for(data) == {"protocol": "must be an object"}


def test_an_empty_object_lists_every_required_field():
    fields = errors_for({})

    assert fields["key"] == "is required"
    assert fields["steps"] == "is required"
    assert fields["adjustable"] == "is required"
    assert len(fields) == len(SHIPPED)


def test_invalid_json_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "clinic-protocol.json"
    path.write_text('{\n  "key": "clinic",\n  "version": 1,,\n}\n', encoding="utf-8")

    with pytest.raises(ProtocolError) as caught:
        load_protocol_file(path)

    assert "clinic-protocol.json" in caught.value.message
    assert "line 3" in caught.value.message
    assert caught.value.fields["file"].startswith("line 3, column")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"key": "a", "key": "b"}', "duplicate key 'key'"),
        ('{"stamp_needle_mm": NaN}', "NaN"),
        (b"\xff\xfe not utf-8", "utf-8"),
    ],
)
def test_json_that_is_not_plain_data_is_refused(tmp_path, text, message):
    path = tmp_path / "odd.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")

    with pytest.raises(ProtocolError) as caught:
        load_protocol_file(path)

    assert message in caught.value.message
    assert caught.value.message.startswith("odd.json: ")


def test_an_invalid_definition_file_names_the_file_and_the_field(tmp_path):
    data = definition()
    data["doses_per_vial"] = 3
    path = tmp_path / "clinic.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(ProtocolError) as caught:
        load_protocol_file(path)

    assert caught.value.message.startswith("clinic.json: Invalid protocol: applications_per_kit")
    assert "applications_per_kit" in caught.value.fields


def test_a_valid_file_loads(tmp_path):
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(SHIPPED), encoding="utf-8")

    assert load_protocol_file(str(path)) == default_protocol()


def test_overrides_within_bounds_are_applied():
    protocol = default_protocol()

    adjusted = apply_overrides(protocol, {"massage_seconds": 90, "passes_per_area": 6, "min_gap_hours": 71})

    assert adjusted.massage_seconds == 90
    assert adjusted.step("massage").duration_seconds == 90
    assert "6 times" in adjusted.render(adjusted.step("stamp").text)
    assert "at least 71 hours" in adjusted.missed_rule_text
    assert protocol.massage_seconds == 60  # the shipped protocol is untouched
    assert load_protocol(protocol_to_dict(adjusted)) == adjusted


@pytest.mark.parametrize("name", ADJUSTABLE_FIELDS)
def test_overrides_at_either_bound_are_accepted(name):
    protocol = default_protocol()
    bounds = protocol.adjustable[name]

    assert getattr(apply_overrides(protocol, {name: bounds.min}), name) == bounds.min
    assert getattr(apply_overrides(protocol, {name: bounds.max}), name) == bounds.max


def test_no_overrides_give_an_equal_protocol():
    assert apply_overrides(default_protocol(), {}) == default_protocol()


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"massage_seconds": 301}, {"massage_seconds": "must be between 30 and 300"}),
        ({"massage_seconds": 29}, {"massage_seconds": "must be between 30 and 300"}),
        ({"min_gap_hours": 47}, {"min_gap_hours": "must be between 48 and 71"}),
        ({"side_effect_pain_threshold": 10}, {"side_effect_pain_threshold": "must be between 3 and 9"}),
        ({"passes_per_area": 4.0}, {"passes_per_area": "must be a whole number"}),
        ({"passes_per_area": "4"}, {"passes_per_area": "must be a whole number"}),
        ({"passes_per_area": True}, {"passes_per_area": "must be a whole number"}),
        ({"applications_total": 20}, {"applications_total": "cannot be adjusted by a clinic"}),
        ({"steps": []}, {"steps": "cannot be adjusted by a clinic"}),
        (
            {"vials_per_kit": 5, "massage_seconds": 1000},
            {
                "vials_per_kit": "cannot be adjusted by a clinic",
                "massage_seconds": "must be between 30 and 300",
            },
        ),
    ],
)
def test_overrides_outside_the_rules_are_refused_naming_the_field(overrides, fields):
    with pytest.raises(ProtocolError) as caught:
        apply_overrides(default_protocol(), overrides)

    assert caught.value.fields == fields
    assert caught.value.message.startswith("Invalid override: ")


def test_overrides_must_be_an_object():
    with pytest.raises(ProtocolError) as caught:
        apply_overrides(default_protocol(), [("massage_seconds", 90)])  # type: ignore[arg-type]

    assert caught.value.fields == {"overrides": "must be an object"}


def test_a_protocol_without_an_adjustable_field_refuses_its_override():
    data = definition()
    data["adjustable"].pop("passes_per_area")

    with pytest.raises(ProtocolError) as caught:
        apply_overrides(load_protocol(data), {"passes_per_area": 4})

    assert caught.value.fields == {"passes_per_area": "cannot be adjusted by a clinic"}


@pytest.mark.parametrize(("per_week", "largest"), [(1, 167), (2, 71), (3, 47), (7, 23)])
def test_largest_min_gap_leaves_an_hour_for_daylight_saving(per_week, largest):
    assert largest_min_gap(per_week) == largest


def test_asking_for_an_unknown_step_is_a_key_error():
    with pytest.raises(KeyError):
        default_protocol().step("rinse")
