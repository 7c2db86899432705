"""Operator commands: setup (migrate + demo once), create-clinic, demo load."""

import pytest
import sqlalchemy as sa

from anagen.course.today import today
from anagen.extensions import db
from anagen.models import Clinic, Patient, StaffUser


def test_setup_loads_the_demo_clinic_once(app, runner):
    result = runner.invoke(args=["setup", "--demo"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.anagen.example" in result.output
    assert "demo-patient-pass" in result.output
    again = runner.invoke(args=["setup", "--demo"])
    assert again.exit_code == 0
    assert "already loaded" in again.output
    assert "clinician@demo.anagen.example" in again.output and "/clinic/" in again.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Clinic)) == 1
        patients = db.session.scalars(sa.select(Patient).order_by(Patient.first_name)).all()
        assert [p.first_name for p in patients][:5] == ["Ava", "Ben", "Chloe", "Dev", "Erin"]
        done = {p.first_name: today(p).course.applications_done for p in patients}
        # Each story on every day and hour: tests/clinic/test_demo.py.
        assert done["Dev"] == 1 and done["Erin"] == 24 and done["Ben"] >= 1
        assert 0 < done["Ava"] < 12 < done["Chloe"] < 24
        assert today(patients[1]).adherence.missed == 2  # Ben missed two


def test_demo_load_refuses_to_load_twice(runner):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code != 0
    assert "already loaded" in result.output


def test_create_clinic_with_first_admin(app, runner):
    result = runner.invoke(
        args=[
            "create-clinic",
            "--name",
            "Phi Clinic",
            "--slug",
            "phi-clinic",
            "--admin-email",
            "Boss@Phi.example",
            "--admin-name",
            "Dr Boss",
        ],
        input="a long admin password\na long admin password\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        admin = db.session.scalar(sa.select(StaffUser))
        assert admin.email == "boss@phi.example" and admin.role.value == "admin"
        assert admin.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("slug", "time_zone"), [("Not A Slug", "Europe/London"), ("x", "Mars/Base")], ids=["bad slug", "bad zone"]
)
def test_create_clinic_refuses_bad_input(runner, slug, time_zone):
    result = runner.invoke(
        args=[
            "create-clinic",
            "--name",
            "X",
            "--slug",
            slug,
            "--time-zone",
            time_zone,
            "--admin-email",
            "a@b.example",
            "--admin-name",
            "A",
            "--admin-password",
            "long enough password",
        ],
    )
    assert result.exit_code != 0
