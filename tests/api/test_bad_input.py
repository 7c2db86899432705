"""Bad input gets a clear 4xx in the one error shape: oversized and malformed bodies, path ids
in other scripts' digits, and invisible or bidirectional characters in names and messages."""

from __future__ import annotations

import json
import re
import sys
import time
import unicodedata

import pytest
from support.factories import make_clinic, make_enrolled_patient

from anagen.api.schemas import VisibleText
from anagen.clock import utcnow


def _assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["code"] == code, body
    return body["error"]


def _sign_in(app, make_api, who: str):
    """A browser signed in as `who` ("anonymous", "patient" or "staff"), and the clinic's patient."""
    with app.app_context():
        clinic, admin = make_clinic()
        patient, _ = make_enrolled_patient(clinic)
        accounts = {"patient": (patient.email, "patient"), "staff": (admin.email, "staff")}
        patient_id = patient.id
    browser = make_api()
    if who != "anonymous":
        email, kind = accounts[who]
        browser.login(email, account=kind)
    browser.refresh_csrf()
    return browser, patient_id


# An endpoint that takes JSON, for each kind of caller.
JSON_ENDPOINTS = {
    "anonymous": ("POST", "/api/auth/login", {}),
    "patient": ("POST", "/api/me/applications/1/complete", {"Idempotency-Key": "bad-input"}),
    "staff": ("POST", "/api/clinic/patients/{patient_id}/messages", {}),
}


def _send_raw(browser, who: str, patient_id: int, body: bytes | str):
    """The body as sent, through the bare test client (which reads no JSON answer itself)."""
    method, path, headers = JSON_ENDPOINTS[who]
    return browser.client.open(
        path.format(patient_id=patient_id),
        method=method,
        data=body,
        headers={"Content-Type": "application/json", "X-CSRF-Token": browser.csrf, **headers},
    )


# ---- MAX_CONTENT_LENGTH -------------------------------------------------------------------------


@pytest.mark.parametrize("who", JSON_ENDPOINTS)
def test_a_10_mb_body_is_refused_with_413_before_it_is_parsed(app, make_api, monkeypatch, who):
    browser, patient_id = _sign_in(app, make_api, who)
    parsed = []
    real_loads = json.loads

    def counting_loads(*args, **kwargs):
        parsed.append(len(args[0]) if args else 0)
        return real_loads(*args, **kwargs)

    # Flask's JSON provider and webargs both call json.loads through the module.
    monkeypatch.setattr(json, "loads", counting_loads)
    body = json.dumps({"email": "a" * 10_000_000, "password": "x", "text": "b"})
    started = time.perf_counter()
    response = _send_raw(browser, who, patient_id, body)
    elapsed = time.perf_counter() - started
    monkeypatch.undo()
    error = _assert_error_shape(response, 413, "too_large")
    assert error["message"] == "The request is larger than this address accepts."
    assert parsed == [], "a body over MAX_CONTENT_LENGTH was parsed"
    assert elapsed < 0.5, elapsed


def test_the_body_limit_is_a_setting_of_64_kib_by_default(app, api):
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    at_limit = json.dumps({"email": "a@b.example", "password": "p" * (64 * 1024 - 60)})
    at_limit += " " * (64 * 1024 - len(at_limit))
    assert len(at_limit) == 64 * 1024
    # Under the limit the body is read: this one is refused by validation (the password's length).
    response = api.post("/api/auth/login", data=at_limit, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.get_json()
    response = api.post("/api/auth/login", data=at_limit + " ", headers={"Content-Type": "application/json"})
    _assert_error_shape(response, 413, "too_large")


# ---- Malformed JSON: nesting and huge integers --------------------------------------------------


@pytest.mark.parametrize("who", JSON_ENDPOINTS)
@pytest.mark.parametrize("depth", [30_000, 100_000])
def test_deeply_nested_json_is_a_400_not_a_500(app, make_api, monkeypatch, caplog, who, depth):
    if 2 * depth > app.config["MAX_CONTENT_LENGTH"]:
        # The nesting rule holds whatever the size limit: let this body through it.
        monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    browser, patient_id = _sign_in(app, make_api, who)
    body = '{"email": ' + "[" * depth + "]" * depth + ', "password": "x", "text": "t"}'
    response = _send_raw(browser, who, patient_id, body)
    error = _assert_error_shape(response, 400, "bad_request")
    assert error["message"] == "The request body is not valid JSON."
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize("who", JSON_ENDPOINTS)
def test_an_integer_over_4300_digits_is_a_400_not_a_500(app, make_api, caplog, who):
    assert sys.get_int_max_str_digits() == 4300
    browser, patient_id = _sign_in(app, make_api, who)
    body = '{"email": "a@b.example", "password": "x", "text": "t", "completed_at": ' + "7" * 4301 + "}"
    response = _send_raw(browser, who, patient_id, body)
    error = _assert_error_shape(response, 400, "bad_request")
    assert error["message"] == "The request body is not valid JSON."
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_malformed_json_is_a_400(app, api):
    response = api.post("/api/auth/login", data='{"email": ', headers={"Content-Type": "application/json"})
    _assert_error_shape(response, 400, "bad_request")


# ---- Path ids: ASCII digits only ------------------------------------------------------------------

# Digits int() reads as well as 0-9: Arabic-Indic (U+0660…) and full-width (U+FF10…).
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + d) for d in range(10)))
FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))


def test_a_path_id_in_arabic_indic_digits_is_a_404(api, app):
    with app.app_context():
        clinic, admin = make_clinic()
        make_enrolled_patient(clinic)
        email = admin.email
    api.login(email, account="staff")
    # U+0661, Arabic-Indic one, as the issue found it.
    response = api.get("/api/clinic/patients/%D9%A1")
    _assert_error_shape(response, 404, "not_found")


@pytest.mark.parametrize("digits", [ARABIC_INDIC, FULL_WIDTH], ids=["arabic-indic", "full-width"])
def test_a_real_patient_is_not_reachable_by_other_digits(api, app, digits):
    with app.app_context():
        clinic, admin = make_clinic()
        patient, _ = make_enrolled_patient(clinic)
        patient_id, email = patient.id, admin.email
    api.login(email, account="staff")
    assert api.get(f"/api/clinic/patients/{patient_id}").status_code == 200
    response = api.get(f"/api/clinic/patients/{str(patient_id).translate(digits)}")
    _assert_error_shape(response, 404, "not_found")
    response = api.get(f"/api/clinic/patients/{str(patient_id).translate(digits)}/messages")
    _assert_error_shape(response, 404, "not_found")


def test_a_patient_cannot_snooze_by_other_digits(api, app):
    from anagen.extensions import db
    from anagen.reminders import occurrences as reminders

    with app.app_context():
        clinic, _ = make_clinic()
        patient, course = make_enrolled_patient(clinic)
        reminders.materialise_course(course)
        db.session.commit()
        email = patient.email
    api.login(email)
    response = api.post(f"/api/me/reminders/{'1'.translate(FULL_WIDTH)}/snooze", {})
    _assert_error_shape(response, 404, "not_found")


# ---- Invisible and bidirectional characters in names and messages -----------------------------

# A right-to-left override, a zero-width space, the byte order mark, a first-strong isolate, a
# left-to-right mark, a tag character and a soft hyphen: each shows nothing or reorders the rest.
INVISIBLE = ["\u202e", "\u200b", "\ufeff", "\u2068", "\u200e", "\U000e0041", "\u00ad"]


def _staff_browser(app, make_api):
    with app.app_context():
        clinic, admin = make_clinic()
        patient, _ = make_enrolled_patient(clinic)
        patient_id, email = patient.id, admin.email
    browser = make_api()
    browser.login(email, account="staff")
    return browser, patient_id


ENROLMENT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "indication": "androgenetic_alopecia",
    "advanced_traction_alopecia": False,
    "miniaturisation_seen": True,
    "target_areas": ["crown"],
    "reminder_weekdays": [0, 3],
    "reminder_time": "20:00",
    "time_zone": "Europe/London",
}


def _name_inputs(value: str, n: int):
    """(field, method, path, body) for each name field the API takes."""
    return [
        (
            "first_name",
            "POST",
            "/api/clinic/patients",
            {
                **ENROLMENT,
                "first_name": value,
                "email": f"ada{n}@mail.example",
                "first_application_at": utcnow().isoformat(),
            },
        ),
        (
            "last_name",
            "POST",
            "/api/clinic/patients",
            {
                **ENROLMENT,
                "last_name": value,
                "email": f"ada{n}b@mail.example",
                "first_application_at": utcnow().isoformat(),
            },
        ),
        (
            "name",
            "POST",
            "/api/clinic/staff",
            {
                "email": f"n{n}@clinic.example",
                "name": value,
                "role": "clinician",
                "password": "long enough pw",
            },
        ),
        ("name", "PATCH", "/api/clinic/settings", {"name": value}),
    ]


@pytest.mark.parametrize("which", range(4), ids=["first name", "last name", "staff name", "clinic name"])
@pytest.mark.parametrize("char", [*INVISIBLE, "\n", "\t", "\x07", "\u2028"], ids=ascii)
def test_invisible_and_control_characters_in_a_name_are_a_422_naming_the_field(app, make_api, which, char):
    browser, _ = _staff_browser(app, make_api)
    field, method, path, body = _name_inputs(f"Ad{char}a", which)[which]
    response = browser.request(method, path, body)
    error = _assert_error_shape(response, 422, "invalid_input")
    assert set(error["fields"]) == {field}, error
    assert f"U+{ord(char):04X}" in error["fields"][field]


@pytest.mark.parametrize("which", range(4), ids=["first name", "last name", "staff name", "clinic name"])
def test_names_in_any_script_are_accepted(app, make_api, which):
    browser, _ = _staff_browser(app, make_api)
    field, method, path, body = _name_inputs("Zoë O'Brien-Nguyễn 李 محمد", which)[which]
    response = browser.request(method, path, body)
    assert response.status_code in {200, 201}, response.get_json()


@pytest.mark.parametrize("char", [*INVISIBLE, "\x07", "\x1b"], ids=ascii)
def test_invisible_characters_in_a_message_are_a_422_naming_the_text(app, make_api, char):
    browser, patient_id = _staff_browser(app, make_api)
    response = browser.post(f"/api/clinic/patients/{patient_id}/messages", {"text": f"Take care{char}."})
    error = _assert_error_shape(response, 422, "invalid_input")
    assert set(error["fields"]) == {"text"}, error


def test_a_message_keeps_its_line_breaks_and_tabs(app, make_api):
    browser, patient_id = _staff_browser(app, make_api)
    text = "Hello,\r\n\tsee you on Monday.\nThe clinic"
    response = browser.post(f"/api/clinic/patients/{patient_id}/messages", {"text": text})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["text"] == text


def test_the_refused_characters_are_every_format_and_control_character():
    """The hand-kept ranges in api/schemas.py are Unicode's categories, as Python knows them."""
    in_line = re.compile(f"[{VisibleText(1, multiline=False).refused}]")
    in_message = re.compile(f"[{VisibleText(1, multiline=True).refused}]")
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue  # lone surrogates: refused by StrictSchema as unstorable
        char = chr(code)
        category = unicodedata.category(char)
        invisible = category in {"Cf", "Cc"}
        assert bool(in_line.match(char)) == (invisible or category in {"Zl", "Zp"}), hex(code)
        assert bool(in_message.match(char)) == (invisible and char not in "\t\n\r"), hex(code)


def test_the_document_states_the_rule_on_names_and_messages(client):
    document = client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    rules = {
        ("NewStaff", "name"): VisibleText(200, multiline=False),
        ("Enrol", "first_name"): VisibleText(100, multiline=False),
        ("Enrol", "last_name"): VisibleText(100, multiline=False),
        ("ClinicSettingsChange", "name"): VisibleText(200, multiline=False),
        ("NewMessage", "text"): VisibleText(2000, multiline=True),
    }
    for (schema, field), rule in rules.items():
        spec = schemas[schema]["properties"][field]
        assert spec["pattern"] == rule.pattern, (schema, field)
        assert spec["pattern"].endswith(f"]{{1,{rule.max_len}}}$")
        # The length lives in the pattern (see VisibleText).
        assert "minLength" not in spec and "maxLength" not in spec, (schema, field)
    # Other free text keeps the NUL rule alone.
    assert schemas["Enrol"]["properties"]["exam_notes"]["pattern"] == "^[^\\u0000]*$"


def test_a_name_keeps_its_length_rule(app, make_api):
    browser, _ = _staff_browser(app, make_api)
    for name in ("", "a" * 201):
        response = browser.post(
            "/api/clinic/staff",
            {"email": "n@clinic.example", "name": name, "role": "clinician", "password": "a long password"},
        )
        error = _assert_error_shape(response, 422, "invalid_input")
        assert error["fields"] == {"name": "Length must be between 1 and 200."}
