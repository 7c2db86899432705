"""Access rules on Flask-Login: the JSON 401, the account object, and refusals audited on their own."""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from conftest import ApiClient
from flask import Blueprint
from support.factories import make_clinic, make_enrolled_patient

from anagen import create_app
from anagen.auth.accounts import Account
from anagen.auth.policy import account, get_patient, requires
from anagen.extensions import db
from anagen.models import AuditEvent, Clinic

SIGN_IN = {"error": {"code": "unauthenticated", "message": "Please sign in.", "fields": {}}}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/clinic/patients", None),  # behind requires("staff")
        ("GET", "/api/me/today", None),  # behind requires("patient")
        ("POST", "/api/auth/password", {"current_password": "x" * 10, "new_password": "y" * 10}),
        ("POST", "/api/auth/reauth", {"password": "x" * 10}),
    ],
)
def test_signed_out_callers_get_the_json_401(api, method, path, body):
    response = api.request(method, path, json=body)
    assert response.status_code == 401
    assert response.get_json() == SIGN_IN


def _user(id_: int) -> SimpleNamespace:
    return SimpleNamespace(id=id_, clinic_id=1, role=SimpleNamespace(value="admin"))


def test_account_behaves_like_flask_logins_user_mixin():
    staff = Account("staff", _user(7), session=SimpleNamespace(id=1))
    same_person_other_session = Account("staff", _user(7), session=SimpleNamespace(id=2))
    patient_with_same_id = Account("patient", _user(7), session=SimpleNamespace(id=3))

    assert (staff.is_authenticated, staff.is_active, staff.is_anonymous) == (True, True, False)
    assert staff.get_id() == "staff:7"
    assert staff == same_person_other_session
    assert staff != patient_with_same_id
    assert len({staff, patient_with_same_id}) == 2


@pytest.fixture
def refusing_app(database_url, instance_dir):
    """The app with one more route: it changes the caller's clinic, then reads a patient."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(instance_dir),
            "SECRET_KEY": "test-secret-key-not-for-production",
        }
    )
    bp = Blueprint("half_done", __name__)

    @bp.post("/api/test-half-done/<int:patient_id>")
    @requires("staff")
    def rename_clinic_then_read_patient(patient_id):
        acct = account()
        acct.user.clinic.name = "Renamed by a refused request"
        db.session.flush()
        get_patient(acct, patient_id)
        db.session.commit()
        return {}

    app.register_blueprint(bp)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_refusal_is_audited_without_committing_the_requests_work(app, refusing_app):
    with app.app_context():
        clinic_x, admin_x = make_clinic("Xanadu Clinic")
        clinic_y, _ = make_clinic("Yonder Clinic")
        patient_y, _ = make_enrolled_patient(clinic_y)
        db.session.commit()
        clinic_x_id, patient_y_id, admin_email = clinic_x.id, patient_y.id, admin_x.email

    client = ApiClient(refusing_app.test_client())
    client.login(admin_email, account="staff")
    response = client.post(f"/api/test-half-done/{patient_y_id}")

    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Clinic, clinic_x_id).name == "Xanadu Clinic"
        refused = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == "access_refused")).all()
        assert [(e.target_type, e.target_id, e.clinic_id) for e in refused] == [
            ("patient", patient_y_id, clinic_x_id)
        ]
