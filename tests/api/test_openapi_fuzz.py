"""Property-based fuzzing of every documented API operation, in-process, with schemathesis.

Each operation of the generated OpenAPI document is called with schema-valid and
schema-invalid input, as three callers: signed out, a clinic admin and a patient.
Every answer must be a non-5xx that the document declares (by its own status code, not
only the catch-all "default"), with a body and content type matching the declaration;
schema-invalid input must be refused with a 4xx; and schema-valid input must not be
refused by the API's input validation (that would mean the document is looser than the
API). Refusals by a business rule (a wrong current password, an unknown time zone, an
application out of order) are answers the document declares, not failures.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import tempfile

import pytest
import schemathesis
import sqlalchemy as sa
from conftest import ApiClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance
from support.factories import make_clinic, make_enrolled_patient

from anagen import create_app
from anagen.api.schemas import Instant
from anagen.auth.security import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from anagen.clock import utcnow
from anagen.extensions import db, limiter
from anagen.models import ReminderOccurrence
from anagen.reminders import occurrences as reminders

# The document is generated from the code alone (no database involved), so a throwaway
# app renders it at collection time; the calls go to the suite's `app` fixture.
_document_instance = tempfile.TemporaryDirectory(prefix="anagen-openapi-")
_document_app = create_app(
    {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "INSTANCE_PATH": _document_instance.name,
        "SECRET_KEY": "only-renders-the-openapi-document",
    }
)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", _document_app)

ACTORS = ["anonymous", "staff_admin", "patient"]

# The message the API gives when its input validation (webargs/marshmallow) refuses a
# request, as opposed to a refusal by a business rule, which carries its own message.
VALIDATION_MESSAGE = "Some fields are missing or not valid."


def status_code_is_declared(ctx, response, case):
    """The status is declared by the operation itself; the catch-all "default" does not count."""
    if case.method.upper() != case.operation.method.upper():
        return  # a probe with a method the route lacks: the built-in unsupported_method check
    declared = {str(code) for code in case.operation.responses.status_codes} - {"default"}
    status = str(response.status_code)
    if status not in declared and f"{status[0]}XX" not in {code.upper() for code in declared}:
        raise AssertionError(
            f"{case.method} {case.path} answered {status}, which the document does not declare "
            f"(declared: {', '.join(sorted(declared))})"
        )


def schema_valid_input_passes_validation(ctx, response, case):
    """Input the document calls valid is not refused by the API's own input validation."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    try:
        body = response.json()
    except Exception:
        body = None
    error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
    fields = {name for name in error.get("fields") or {} if not _map_key_problem(case, name)}
    refused_by_validation = response.status_code == 400 or (
        response.status_code == 422 and error.get("message") == VALIDATION_MESSAGE and bool(fields)
    )
    if refused_by_validation:
        raise AssertionError(
            f"{case.method} {case.path}: schema-valid input refused by validation with "
            f"{response.status_code}: {error.get('fields') or error.get('message')}; "
            "the document is looser than the API"
        )


def _map_key_problem(case, field: str) -> bool:
    """A refused key of a free-form map ("passes.<key>.key"): OpenAPI 3.0 cannot state rules on keys."""
    name, _, rest = field.partition(".")
    key, _, last = rest.rpartition(".")
    mapping = case.body.get(name) if isinstance(case.body, dict) else None
    return last == "key" and isinstance(mapping, dict) and key in mapping


@pytest.fixture
def caller(app, request):
    """A signed-in (or signed-out) browser: its cookies and CSRF header, and the clinic's real ids."""
    with app.app_context():
        clinic, admin = make_clinic()
        patient, course = make_enrolled_patient(clinic)
        reminders.materialise_course(course)
        db.session.commit()
        occurrence = db.session.scalar(
            sa.select(ReminderOccurrence.id).where(ReminderOccurrence.kind == "due").limit(1)
        )
        ids = {"patient_id": patient.id, "staff_id": admin.id, "occurrence_id": occurrence}
        accounts = {"staff_admin": (admin.email, "staff"), "patient": (patient.email, "patient")}
    # Many cases per operation would trip the login and invite limits; the limiter is
    # one object shared by every app, so switch it off for this test only.
    saved = app.config.get("RATELIMIT_ENABLED"), limiter.enabled
    app.config["RATELIMIT_ENABLED"] = limiter.enabled = False
    browser = ApiClient(app.test_client())
    if request.param != "anonymous":
        email, kind = accounts[request.param]
        browser.login(email, account=kind)
    csrf = browser.refresh_csrf()
    cookies = {}
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        cookie = browser.client.get_cookie(name)
        if cookie is not None:
            cookies[name] = cookie.value
    yield {
        "actor": request.param,
        "ids": ids,
        # Schemathesis' in-process (WSGI) client sends requests' `Accept-Encoding: gzip, ...`
        # but reads the body without decoding it: ask for the answers as they are.
        "headers": {CSRF_HEADER: csrf, "Accept-Encoding": "identity"},
        "cookies": cookies,
        "turn": itertools.count(),
    }
    app.config["RATELIMIT_ENABLED"], limiter.enabled = saved


def _aim_at_real_records(case, caller) -> None:
    """Every other schema-valid case targets the clinic's real records, so success paths run too."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or next(caller["turn"]) % 2:
        return
    params = case.path_parameters or {}
    for name, value in caller["ids"].items():
        if name in params:
            params[name] = value
    if "number" in params:
        params["number"] = 1
        if isinstance(case.body, dict):
            now = utcnow()
            case.body["completed_at"] = now.isoformat()
            if case.path.startswith("/api/me/"):
                case.body["started_at"] = (now - dt.timedelta(minutes=20)).isoformat()


@pytest.mark.parametrize("caller", ACTORS, indirect=True)
@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_document(case, caller, app):
    _aim_at_real_records(case, caller)
    case.call_and_validate(
        app=app,
        headers=caller["headers"],
        cookies=caller["cookies"],
        # Replaced by schema_valid_input_passes_validation: the built-in check also
        # counts a business-rule refusal (422 wrong current password, 410 used invite).
        excluded_checks=[positive_data_acceptance],
        additional_checks=[status_code_is_declared, schema_valid_input_passes_validation],
    )


def _answer_schemas(document: dict) -> set[str]:
    """Names of the component schemas that answers carry, directly or nested."""
    names: set[str] = set()
    found = [
        content["schema"]
        for path in document["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
        for response in operation["responses"].values()
        for content in response.get("content", {}).values()
    ]
    while found:
        node = found.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "").rpartition("/")[2]
            if ref and ref not in names:
                names.add(ref)
                found.append(document["components"]["schemas"][ref])
            found.extend(node.values())
        elif isinstance(node, list):
            found.extend(node)
    return names


def test_the_document_describes_every_instant_an_answer_gives_alike():
    document = _document_app.test_client().get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    instants = {
        f"{name}.{prop}": spec
        for name in _answer_schemas(document)
        for prop, spec in schemas[name].get("properties", {}).items()
        if prop.endswith("_at")
    }
    assert len(instants) >= 10
    for where, spec in instants.items():
        assert (spec["type"], spec.get("format"), spec.get("pattern")) == (
            "string",
            "date-time",
            Instant.GIVEN["pattern"],
        ), where


# ---- Inputs the fuzzer once found answering 500: each now gets a clear 4xx -------------


@pytest.mark.parametrize(
    ("account", "method", "path"),
    [
        ("staff", "GET", "/api/clinic/patients/{big}"),
        ("staff", "POST", "/api/clinic/patients/{big}/invites"),
        ("staff", "PATCH", "/api/clinic/staff/{big}"),
        ("staff", "GET", "/api/clinic/audit-events?before_id={big}"),
        ("patient", "POST", "/api/me/reminders/{big}/snooze"),
    ],
)
def test_oversized_integer_ids_are_a_404_not_a_500(api, app, account, method, path):
    with app.app_context():
        clinic, admin = make_clinic()
        patient, _ = make_enrolled_patient(clinic)
        email = admin.email if account == "staff" else patient.email
    api.login(email, account=account)
    body = {"role": "clinician"} if method == "PATCH" else None
    # 2**63 is past both databases' range; PostgreSQL already fails from 2**31.
    response = api.request(method, path.format(big=2**63), json=body)
    # An id in the path names no record (404); one in the query is invalid input (422).
    assert response.status_code == (422 if "?" in path else 404), response.get_json()


@pytest.mark.parametrize(
    ("account", "path", "body"),
    [
        ("patient", "/api/me/applications/1/complete", {"completed_at": "0001-01-01T00:00:00+01:00"}),
        ("patient", "/api/me/applications/1/complete", {"completed_at": "9999-12-31T23:59:59-01:00"}),
        ("staff", "/api/clinic/patients", {"first_application_at": "9999-12-31T23:59:59Z"}),
        ("staff", "/api/clinic/patients", {"first_application_at": "0001-01-01T00:00:00Z"}),
    ],
    ids=["completed in year 1", "completed in year 9999", "course from year 9999", "course from year 1"],
)
def test_dates_at_the_end_of_time_are_a_422_not_a_500(api, app, account, path, body):
    with app.app_context():
        clinic, admin = make_clinic()
        patient, _ = make_enrolled_patient(clinic)
        email = admin.email if account == "staff" else patient.email
    api.login(email, account=account)
    if account == "staff":
        body = {**ENROLMENT, **body}
    response = api.post(path, body, headers={"Idempotency-Key": "edge"})
    assert response.status_code == 422, response.get_json()


ENROLMENT = {
    "first_name": "Ada",
    "last_name": "Edge",
    "email": "ada.edge@mail.example",
    "indication": "androgenetic_alopecia",
    "advanced_traction_alopecia": False,
    "miniaturisation_seen": True,
    "target_areas": ["crown"],
    "reminder_weekdays": [0, 3],
    "reminder_time": "20:00",
    "time_zone": "Europe/London",
}


def _text_inputs(staff_email: str, patient_email: str, text: str) -> list:
    """(account email, kind, method, path, body, headers) that each carry `text` into the database."""
    now = utcnow().isoformat()
    return [
        (None, None, "POST", "/api/auth/login", {"email": f"a{text}@x.example", "password": "x"}, None),
        (
            staff_email,
            "staff",
            "POST",
            "/api/clinic/staff",
            {
                "email": "n@clinic.example",
                "name": f"N{text}",
                "role": "clinician",
                "password": "long enough pw",
            },
            None,
        ),
        (
            patient_email,
            "patient",
            "POST",
            "/api/me/applications/1/complete",
            {"completed_at": now, "check_in": {"notes": f"sore{text}"}},
            {"Idempotency-Key": "k1"},
        ),
        (
            patient_email,
            "patient",
            "DELETE",
            "/api/me/push-subscriptions",
            {"endpoint": f"https://a{text}"},
            None,
        ),
    ]


@pytest.mark.parametrize(
    "which", range(4), ids=["login email", "staff name", "check-in notes", "push endpoint"]
)
def test_nul_characters_are_a_4xx_not_a_500(make_api, app, which):
    _assert_text_is_refused_or_kept(make_api, app, "\x00", which)


@pytest.mark.parametrize(
    "which", range(4), ids=["login email", "staff name", "check-in notes", "push endpoint"]
)
def test_lone_surrogates_are_a_4xx_not_a_500(make_api, app, which):
    _assert_text_is_refused_or_kept(make_api, app, "\ud800", which)


def _assert_text_is_refused_or_kept(make_api, app, text: str, which: int) -> None:
    with app.app_context():
        clinic, admin = make_clinic()
        patient, _ = make_enrolled_patient(clinic)
        emails = admin.email, patient.email
    email, kind, method, path, body, headers = _text_inputs(*emails, text)[which]
    browser = make_api()
    if email:
        browser.login(email, account=kind)
    # Sent as the JSON a browser would send (json.dumps escapes both characters as \uXXXX).
    response = browser.request(
        method, path, data=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})}
    )
    assert response.status_code < 500, response.get_json()
