"""New passwords are checked against zxcvbn's common and breached lists (shipped in its wheel),
not only their length: at a password change, at invite redemption and at staff creation."""

import pytest
from support.factories import PASSWORD, make_clinic, make_enrolled_patient

from anagen.auth import passwords
from anagen.errors import InvalidInput
from anagen.extensions import db

# Each at least MIN_LENGTH long, so only their guessability refuses them.
WEAK = ["password1234", "qwertyuiop", "1234567890", "iloveyou12", "aaaaaaaaaaaa"]


@pytest.mark.parametrize("weak", WEAK)
def test_common_passwords_are_refused_with_the_reason(weak):
    with pytest.raises(InvalidInput) as refused:
        passwords.check_password_rules(weak, "new_password")
    assert refused.value.code == "weak_password"
    assert refused.value.fields["new_password"].startswith("Too easy to guess.")


def test_a_password_built_from_the_account_is_refused():
    email = "priya.patel@mail.example"
    passwords.check_password_rules(email)  # a strong password for anyone else
    with pytest.raises(InvalidInput):
        passwords.check_password_rules(email, user_inputs=[email, "Priya", "Patel"])


def test_length_rules_still_hold():
    with pytest.raises(InvalidInput) as refused:
        passwords.check_password_rules("Zq8#kd!")
    assert refused.value.fields == {"password": f"Use at least {passwords.MIN_LENGTH} characters."}
    with pytest.raises(InvalidInput):
        passwords.check_password_rules("a calm new password " * 13)


def test_a_long_password_is_scored_quickly_by_its_start():
    passwords.check_password_rules("a calm new password 42 " + "x" * 200)
    with pytest.raises(InvalidInput):
        passwords.check_password_rules("x" * 256)


def test_password_change_refuses_a_weak_new_password(app_ctx, api):
    clinic, _ = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    api.login(patient.email)
    response = api.post("/api/auth/password", {"current_password": PASSWORD, "new_password": "password1234"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "weak_password"
    assert error["message"] == "Choose a password that is harder to guess."
    assert "common" in error["fields"]["new_password"]
    response = api.post("/api/auth/password", {"current_password": PASSWORD, "new_password": patient.email})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "weak_password"
    api.login(patient.email)  # unchanged


def test_invite_redemption_refuses_a_weak_password(app_ctx, api, make_api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    patient, _ = make_enrolled_patient(clinic, password=None)
    link = api.post(f"/api/clinic/patients/{patient.id}/invites").get_json()["link"]
    body = {"token": link.rsplit("/", 1)[1], "password": "qwertyuiop", "photo_consent": True}
    response = make_api().post("/api/invites/redeem", body)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "weak_password"
    assert "password" in response.get_json()["error"]["fields"]
    body["password"] = "violet otter harbour"
    assert make_api().post("/api/invites/redeem", body).status_code == 200


def test_staff_creation_refuses_a_weak_password(app_ctx, api):
    clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    body = {"email": "new@clinic.example", "name": "New Nurse", "role": "clinician", "password": "iloveyou12"}
    response = api.post("/api/clinic/staff", body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["password"].startswith("Too easy to guess.")
    body["password"] = "new@clinic.example"
    assert api.post("/api/clinic/staff", body).get_json()["error"]["code"] == "weak_password"


def test_an_existing_weak_password_still_signs_in_and_is_rehashed(app_ctx, api):
    """The rules are for new passwords: an account set up before them keeps working."""
    clinic, _ = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    old_hasher = passwords.PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    patient.password_hash = old_hasher.hash("iloveyou12")
    db.session.commit()
    api.login(patient.email, "iloveyou12")
    db.session.refresh(patient)
    assert not passwords.needs_rehash(patient.password_hash)
    assert passwords.verify_password(patient.password_hash, "iloveyou12")
