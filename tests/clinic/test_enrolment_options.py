"""What any staff member sees to enrol at the chair, and the clinic's phone, locations and
default reminder time (admin settings) that it carries."""

from __future__ import annotations

from support.factories import make_clinic, make_staff

from anagen.clinic.enrolment import INDICATIONS
from anagen.course.today import SCALP_AREAS


def test_enrolment_options_for_a_clinician(app_ctx, make_api):
    clinic, admin = make_clinic("Hair Studio")
    clinician = make_staff(clinic)
    boss = make_api()
    boss.login(admin.email, account="staff")
    boss.post("/api/auth/reauth", {"password": "correct horse battery"})
    changed = boss.patch(
        "/api/clinic/settings",
        {
            "phone": "+44 20 7946 0000",
            "locations": ["Harley Street", " Harley Street ", "Richmond"],
            "default_reminder_time": "19:30",
            "protocol_overrides": {"massage_seconds": 90},
        },
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["phone"], body["locations"], body["default_reminder_time"]) == (
        "+44 20 7946 0000",
        ["Harley Street", "Richmond"],
        "19:30",
    )
    assert boss.patch("/api/clinic/settings", {"phone": "call me<script>"}).status_code == 422

    staff = make_api()
    staff.login(clinician.email, account="staff")
    options = staff.get("/api/clinic/enrolment-options").get_json()
    assert options["clinic"] == {
        "name": "Hair Studio",
        "phone": "+44 20 7946 0000",
        "time_zone": "Europe/London",
        "locations": ["Harley Street", "Richmond"],
        "default_reminder_time": "19:30",
    }
    assert [i["key"] for i in options["indications"]] == list(INDICATIONS)
    assert [a["key"] for a in options["scalp_areas"]] == list(SCALP_AREAS)
    (protocol,) = options["protocols"]
    assert protocol["weeks"] == 12 and protocol["applications_total"] == 24
    massage = next(p for p in protocol["parameters"] if p["key"] == "massage_seconds")
    assert (massage["value"], massage["default"]) == (90, 60)


def test_a_new_clinic_proposes_20_00(app_ctx, make_api):
    clinic, admin = make_clinic()
    staff = make_api()
    staff.login(admin.email, account="staff")
    card = staff.get("/api/clinic/enrolment-options").get_json()["clinic"]
    assert card["default_reminder_time"] == "20:00" and card["phone"] is None and card["locations"] == []


def test_the_protocol_id_handed_out_is_stored(app_ctx, make_api):
    """The options name the shipped protocol by id: on a database without it yet (a fresh install
    before setup), the row the request stored must outlive the request."""
    import sqlalchemy as sa

    from anagen.extensions import db
    from anagen.models import ProtocolVersion

    clinic, admin = make_clinic()
    db.session.execute(sa.delete(ProtocolVersion).where(ProtocolVersion.clinic_id.is_(None)))
    db.session.commit()
    staff = make_api()
    staff.login(admin.email, account="staff")
    (protocol,) = staff.get("/api/clinic/enrolment-options").get_json()["protocols"]
    db.session.rollback()
    assert db.session.get(ProtocolVersion, protocol["id"]) is not None
