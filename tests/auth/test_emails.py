"""Emails are one address whatever their spelling (NFKC, lower case, stripped): for uniqueness
of patients and staff, and for the sign-in lookup."""

import unicodedata

from support.factories import PASSWORD, enrolment, make_clinic, make_enrolled_patient

from anagen.auth.accounts import normalise_email


def full_width(text: str) -> str:
    """ASCII letters, digits and @ as their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_normalise_email_folds_width_case_composition_and_space():
    assert normalise_email(f"  {full_width('Pat.One@Mail.example')} ") == "pat.one@mail.example"
    decomposed = unicodedata.normalize("NFD", "José@mail.example")
    assert decomposed != "José@mail.example"
    assert normalise_email(decomposed) == "josé@mail.example"
    assert normalise_email(normalise_email(decomposed)) == normalise_email(decomposed)


def enrol_body(email: str) -> dict:
    e = enrolment(email=email)
    return {
        "first_name": e.first_name,
        "last_name": e.last_name,
        "email": e.email,
        "indication": e.indication,
        "advanced_traction_alopecia": False,
        "miniaturisation_seen": True,
        "target_areas": e.target_areas,
        "first_application_at": e.first_application_at.isoformat(),
        "reminder_weekdays": e.reminder_weekdays,
        "reminder_time": "20:00",
        "time_zone": e.time_zone,
    }


def test_a_full_width_spelling_is_the_same_patient(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    first = api.post("/api/clinic/patients", enrol_body("pat.one@mail.example"))
    assert first.status_code == 201
    again = api.post("/api/clinic/patients", enrol_body(full_width("PAT.ONE@mail.example")))
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "email_in_use"


def test_a_decomposed_accent_is_the_same_patient(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    created = api.post("/api/clinic/patients", enrol_body("josé@mail.example"))
    assert created.status_code == 201, created.get_json()
    decomposed = unicodedata.normalize("NFD", "José@mail.example")
    again = api.post("/api/clinic/patients", enrol_body(decomposed))
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "email_in_use"


def test_a_full_width_spelling_is_the_same_staff_member(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    body = {"email": "nurse@clinic.example", "name": "Nurse", "role": "clinician", "password": PASSWORD}
    assert api.post("/api/clinic/staff", body).status_code == 201
    body["email"] = full_width("NURSE") + "@clinic.example"
    response = api.post("/api/clinic/staff", body)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "email_in_use"


def test_sign_in_finds_the_account_by_any_spelling(app_ctx, make_api):
    clinic, admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic, email=unicodedata.normalize("NFD", "Zoë@mail.example"))
    assert patient.email == "zoë@mail.example"
    make_api().login(full_width(admin.email.upper()), account="staff")
    make_api().login("ZOË@mail.example")
