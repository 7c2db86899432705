"""Password-guessing limits hold exactly as documented (auth/views.py), count wrong passwords
rather than attempts, and never let a guesser elsewhere lock an account's owner out."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from support.factories import PASSWORD, make_clinic, make_enrolled_patient
from support.server import serving

from anagen.extensions import db
from anagen.models import AuditEvent

WRONG = "not the right password"


def from_address(address: str) -> dict:
    """Test-client keyword arguments for a request from another address."""
    return {"environ_base": {"REMOTE_ADDR": address}}


def sign_in(api, email: str, password: str, address: str = "127.0.0.1", account: str = "staff"):
    body = {"email": email, "password": password, "account": account}
    return api.post("/api/auth/login", body, **from_address(address))


@pytest.fixture
def live_url(app):
    """The session's app behind a real threaded HTTP server (one process, like `make run`)."""
    with serving(app) as url:
        yield url


def parallel_logins(url: str, bodies: list[dict]) -> list[int]:
    """POST every body to /api/auth/login at once (released together by a barrier); the statuses."""
    with requests.Session() as http:
        csrf = http.get(f"{url}/api/auth/session").json()["csrf_token"]
        cookies = http.cookies.get_dict()
    barrier = threading.Barrier(len(bodies))

    def attempt(body: dict) -> int:
        barrier.wait()
        response = requests.post(
            f"{url}/api/auth/login", json=body, headers={"X-CSRF-Token": csrf}, cookies=cookies, timeout=30
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(attempt, bodies))


def test_account_limit_holds_exactly_under_parallel_guesses(app, app_ctx, live_url):
    _clinic, admin = make_clinic()
    body = {"email": admin.email, "password": WRONG, "account": "staff"}
    codes = parallel_logins(live_url, [body] * 20)
    assert sorted(codes) == [401] * 5 + [429] * 15


def test_address_limit_holds_exactly_under_parallel_guesses(app, app_ctx, live_url):
    make_clinic()
    bodies = [{"email": f"user{i}@x.example", "password": WRONG, "account": "staff"} for i in range(40)]
    codes = parallel_logins(live_url, bodies)
    assert sorted(codes) == [401] * 20 + [429] * 20


def test_only_wrong_passwords_count(app_ctx, make_api):
    _clinic, admin = make_clinic()
    api = make_api()
    codes = [sign_in(make_api(), admin.email, WRONG).status_code for _ in range(4)]
    codes.append(sign_in(api, admin.email, PASSWORD).status_code)
    codes.append(sign_in(make_api(), admin.email, WRONG).status_code)
    assert codes == [401] * 4 + [200, 401]
    # Five wrong passwords from this address: now even the right one waits.
    response = sign_in(make_api(), admin.email, PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


def test_guesses_from_other_addresses_do_not_lock_the_owner_out(app_ctx, make_api):
    _clinic, admin = make_clinic()
    # Five wrong passwords from one address spend that address's allowance for this account ...
    codes = [sign_in(make_api(), admin.email, WRONG, "203.0.113.7").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # ... and a spread of guessers, one or two wrong passwords from each of 20 addresses.
    for i in range(20):
        for _ in range(2):
            assert sign_in(make_api(), admin.email, WRONG, f"198.51.100.{i}").status_code == 401
    # The owner, at an address with no failures, signs in.
    assert sign_in(make_api(), admin.email, PASSWORD, "192.0.2.10").status_code == 200


def test_an_account_has_a_ceiling_across_all_addresses(app_ctx, make_api):
    _clinic, admin = make_clinic()
    codes = [sign_in(make_api(), admin.email, WRONG, f"198.51.100.{i}").status_code for i in range(50)]
    assert codes == [401] * 50
    response = sign_in(make_api(), admin.email, PASSWORD, "192.0.2.10")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    # Another account is not affected.
    _other_clinic, other_admin = make_clinic()
    assert sign_in(make_api(), other_admin.email, PASSWORD, "192.0.2.10").status_code == 200


def test_patient_and_staff_accounts_with_one_email_have_their_own_limits(app_ctx, make_api):
    clinic, admin = make_clinic()
    make_enrolled_patient(clinic, email=admin.email)
    for _ in range(5):
        assert sign_in(make_api(), admin.email, WRONG, account="staff").status_code == 401
    assert sign_in(make_api(), admin.email, WRONG, account="staff").status_code == 429
    assert sign_in(make_api(), admin.email, PASSWORD, account="patient").status_code == 200


def test_the_limit_follows_the_address_whatever_its_spelling(app_ctx, make_api):
    _clinic, admin = make_clinic()
    local, domain = admin.email.split("@")
    shouted = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in local.upper())
    for _ in range(5):
        assert sign_in(make_api(), f"{shouted}@{domain}", WRONG).status_code == 401
    assert sign_in(make_api(), admin.email, PASSWORD).status_code == 429


def test_reauth_and_password_change_are_limited_per_account(app, app_ctx, make_api):
    clinic, admin = make_clinic()
    stolen, owner = make_api(), make_api()
    stolen.login(admin.email, account="staff")
    owner.login(admin.email, account="staff")
    for _ in range(3):
        assert stolen.post("/api/auth/reauth", {"password": WRONG}).status_code == 401
    for _ in range(2):
        response = stolen.post("/api/auth/password", {"current_password": WRONG, "new_password": WRONG})
        assert response.status_code == 422
    # Five wrong passwords for the account: the right one waits too, from any of its sessions,
    # and a session of its own does not get a fresh allowance.
    elsewhere = make_api()
    assert sign_in(elsewhere, admin.email, PASSWORD, "192.0.2.99").status_code == 200
    for api in (stolen, owner, elsewhere):
        response = api.post("/api/auth/reauth", {"password": PASSWORD})
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
    response = owner.post(
        "/api/auth/password", {"current_password": PASSWORD, "new_password": "a fresh quiet meadow 7"}
    )
    assert response.status_code == 429
    events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.event == "password_check_failed")
    ).all()
    assert len(events) == 5
    assert {(e.clinic_id, e.actor_id) for e in events} == {(clinic.id, admin.id)}


def test_a_right_password_at_reauth_does_not_count(app_ctx, api):
    _clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    for _ in range(4):
        assert api.post("/api/auth/reauth", {"password": WRONG}).status_code == 401
    for _ in range(3):
        assert api.post("/api/auth/reauth", {"password": PASSWORD}).status_code == 204
    assert api.post("/api/auth/reauth", {"password": WRONG}).status_code == 401
    assert api.post("/api/auth/reauth", {"password": PASSWORD}).status_code == 429


def test_failed_sign_ins_appear_in_the_accounts_clinic_log(app_ctx, make_api):
    clinic, admin = make_clinic()
    patient, _ = make_enrolled_patient(clinic)
    other_clinic, other_admin = make_clinic()
    sign_in(make_api(), admin.email, WRONG, "203.0.113.7")
    sign_in(make_api(), patient.email, WRONG, "203.0.113.8", account="patient")
    sign_in(make_api(), "nobody@x.example", WRONG, "203.0.113.9")
    api = make_api()
    api.login(admin.email, account="staff")
    failed = [e for e in api.get("/api/clinic/audit-events").get_json() if e["event"] == "sign_in_failed"]
    assert sorted((e["target_type"], e["target_id"]) for e in failed) == sorted(
        [("staff", admin.id), ("patient", patient.id)]
    )
    other = make_api()
    other.login(other_admin.email, account="staff")
    events = other.get("/api/clinic/audit-events").get_json()
    assert [e for e in events if e["event"] == "sign_in_failed"] == []
