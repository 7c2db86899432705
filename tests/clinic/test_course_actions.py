"""The clinic's actions on a course (pause, resume, end, each with a reason and audited), kits with
batch and expiry (at enrolment and later, with kit 2's dispatch), and the patient page's data."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from support.factories import make_clinic, make_enrolled_patient, make_staff

from anagen.clock import utcnow
from anagen.course.courses import CheckIn, record_application
from anagen.extensions import db
from anagen.models import AuditEvent, Course, Kit

REASON = "Scalp irritation after application 3: resting for a week"


@pytest.fixture
def clinic_and_staff(app_ctx, make_api):
    clinic, _admin = make_clinic()
    user = make_staff(clinic)
    staff = make_api()
    staff.login(user.email, account="staff")
    return clinic, user, staff


def started(clinic, days: float, **kw):
    start = (utcnow() - dt.timedelta(days=days)).replace(microsecond=0)
    return make_enrolled_patient(clinic, first_application_at=start, **kw)


def audit(event: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == event)))


def fresh_course(course_id: int) -> Course:
    db.session.expire_all()
    return db.session.get(Course, course_id)


# ---- pause, resume, end --------------------------------------------------------------------------


def test_pause_resume_and_end_over_the_api(clinic_and_staff, make_api):
    clinic, user, staff = clinic_and_staff
    patient, course = started(clinic, 10)
    record_application(course, 1, completed_at=course.first_application_at)
    db.session.commit()
    base = f"/api/clinic/patients/{patient.id}/course"

    assert staff.post(f"{base}/pause", {"reason": " "}).status_code == 422
    assert staff.post(f"{base}/resume", {}).get_json()["error"]["code"] == "course_not_paused"
    paused = staff.post(f"{base}/pause", {"reason": REASON})
    assert paused.status_code == 200, paused.get_json()
    body = paused.get_json()
    assert body["status"] == "paused" and body["reason"] == REASON and body["paused_at"].endswith("Z")
    assert staff.post(f"{base}/pause", {"reason": REASON}).get_json()["error"]["code"] == "course_not_active"

    # The patient sees it, and cannot record while paused.
    phone = make_api()
    phone.login(patient.email)
    today = phone.get("/api/me/today").get_json()
    assert today["course"]["status"] == "paused" and today["next_application"] is None
    refused = phone.post(
        "/api/me/applications/2/complete",
        {"completed_at": utcnow().isoformat()},
        headers={"Idempotency-Key": "k1"},
    )
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "course_paused"

    resumed = staff.post(f"{base}/resume", {"reason": "Settled"})
    assert resumed.status_code == 200 and resumed.get_json()["status"] == "active"
    course = fresh_course(course.id)
    assert course.paused_at is None
    assert min(a.due_at for a in course.applications if a.completed_at is None) >= utcnow() - dt.timedelta(
        minutes=1
    ), "the remaining applications are re-planned from now"
    assert phone.get("/api/me/today").get_json()["next_application"] is not None

    ended = staff.post(f"{base}/end", {"reason": "Moved abroad"})
    assert ended.status_code == 200 and ended.get_json()["status"] == "ended"
    assert staff.post(f"{base}/end", {"reason": "again"}).get_json()["error"]["code"] == "course_ended"
    assert phone.get("/api/me/today").get_json()["course"]["status"] == "ended"

    events = [
        (e.event, e.target_id, e.detail.get("status"))
        for e in audit("course_paused") + audit("course_resumed") + audit("course_ended")
    ]
    assert events == [
        ("course_paused", patient.id, "paused"),
        ("course_resumed", patient.id, "active"),
        ("course_ended", patient.id, "ended"),
    ]
    assert all(REASON not in str(e.detail) for e in audit("course_paused")), (
        "no clinical text in the audit log"
    )


def test_nothing_becomes_missed_while_a_course_is_paused(clinic_and_staff):
    clinic, _user, staff = clinic_and_staff
    patient, course = started(clinic, 30)
    record_application(course, 1, completed_at=course.first_application_at)
    course.status, course.paused_at = "paused", course.applications[1].due_at - dt.timedelta(hours=1)
    db.session.commit()
    page = staff.get(f"/api/clinic/patients/{patient.id}").get_json()
    assert page["plan"]["adherence"]["missed"] == 0
    assert [i["status"] for i in page["timeline"][:3]] == ["done_on_time", "upcoming", "upcoming"]


def test_another_clinic_cannot_pause(clinic_and_staff, make_api):
    clinic, _user, _staff = clinic_and_staff
    patient, _course = started(clinic, 3)
    _other, other_admin = make_clinic()
    outsider = make_api()
    outsider.login(other_admin.email, account="staff")
    assert (
        outsider.post(f"/api/clinic/patients/{patient.id}/course/pause", {"reason": "x"}).status_code == 404
    )


# ---- kits --------------------------------------------------------------------------------------


def enrolment(**overrides) -> dict:
    body = {
        "first_name": "Kit",
        "last_name": "Holder",
        "email": "kit.holder@mail.example",
        "indication": "androgenetic_alopecia",
        "advanced_traction_alopecia": False,
        "miniaturisation_seen": True,
        "target_areas": ["crown"],
        "first_application_at": (utcnow() - dt.timedelta(hours=1)).isoformat(),
        "reminder_weekdays": [0, 3],
        "reminder_time": "20:00",
        "time_zone": "Europe/London",
    }
    body.update(overrides)
    return body


def test_kits_with_batch_and_expiry_at_enrolment(clinic_and_staff):
    _clinic, _user, staff = clinic_and_staff
    today = utcnow().date()
    lasting = (today + dt.timedelta(days=365)).isoformat()
    response = staff.post(
        "/api/clinic/patients",
        enrolment(
            kits=[
                {"batch_number": "CAL-001", "expires_on": lasting},
                {"batch_number": "CAL-002", "expires_on": lasting},
            ]
        ),
    )
    assert response.status_code == 201, response.get_json()
    kits = db.session.scalars(sa.select(Kit).order_by(Kit.number)).all()
    assert [(k.batch_number, k.expires_on.isoformat()) for k in kits] == [
        ("CAL-001", lasting),
        ("CAL-002", lasting),
    ]
    page = staff.get(f"/api/clinic/patients/{response.get_json()['patient']['id']}").get_json()
    assert [k["batch_number"] for k in page["kits"]] == ["CAL-001", "CAL-002"]
    assert page["kits"][0]["dispatched_at"] is not None and page["kits"][1]["dispatched_at"] is None


@pytest.mark.parametrize(
    ("days", "kit", "message"),
    [
        (-1, 0, "expired"),
        (30, 1, "before kit 2's last application"),
        (30, 0, "before kit 1's last application"),
    ],
)
def test_a_batch_expired_or_expiring_before_its_last_use_is_refused(clinic_and_staff, days, kit, message):
    _clinic, _user, staff = clinic_and_staff
    lasting = (utcnow().date() + dt.timedelta(days=365)).isoformat()
    kits = [{"batch_number": "A", "expires_on": lasting}, {"batch_number": "B", "expires_on": lasting}]
    kits[kit]["expires_on"] = (utcnow().date() + dt.timedelta(days=days)).isoformat()
    response = staff.post("/api/clinic/patients", enrolment(kits=kits))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "kit_expiry"
    assert message in error["fields"][f"kits.{kit}.expires_on"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Kit)) == 0, "nothing enrolled"


def test_the_old_batch_numbers_field_still_works_but_not_with_kits(clinic_and_staff):
    _clinic, _user, staff = clinic_and_staff
    assert staff.post("/api/clinic/patients", enrolment(kit_batch_numbers=["OLD-1"])).status_code == 201
    both = staff.post(
        "/api/clinic/patients",
        enrolment(
            email="second@mail.example",
            kit_batch_numbers=["OLD-1"],
            kits=[
                {"batch_number": "A", "expires_on": (utcnow().date() + dt.timedelta(days=365)).isoformat()}
            ],
        ),
    )
    assert both.status_code == 422 and "kit_batch_numbers" in both.get_json()["error"]["fields"]


def test_kit_2_dispatch_recorded_later_clears_the_flag(clinic_and_staff):
    clinic, _user, staff = clinic_and_staff
    patient, course = started(clinic, 40)
    for row in course.applications[:8]:
        at = row.due_at + dt.timedelta(minutes=5) if row.number > 1 else row.due_at
        record_application(course, row.number, completed_at=at, now=at)
    db.session.commit()

    def flags():
        return [
            f["key"] for f in staff.get(f"/api/clinic/patients/{patient.id}/flags").get_json() if f["active"]
        ]

    assert "kit" in flags()
    url = f"/api/clinic/patients/{patient.id}/kits/2"
    assert (
        staff.patch(url, {"dispatched_at": (utcnow() + dt.timedelta(days=1)).isoformat()}).status_code == 422
    )
    assert staff.patch(url, {}).status_code == 422
    assert staff.patch(f"/api/clinic/patients/{patient.id}/kits/3", {"batch_number": "X"}).status_code == 404
    sent = utcnow().replace(microsecond=0)
    expiry = (utcnow().date() + dt.timedelta(days=400)).isoformat()
    response = staff.patch(
        url, {"dispatched_at": sent.isoformat(), "batch_number": "CAL-777", "expires_on": expiry}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["batch_number"] == "CAL-777" and body["expires_on"] == expiry
    assert body["dispatched_at"] == sent.isoformat().replace("+00:00", "Z")
    assert "kit" not in flags()
    assert [(e.target_id, e.detail["kit"]) for e in audit("kit_changed")] == [(patient.id, 2)]


# ---- the patient page ------------------------------------------------------------------------


def test_the_patient_page_has_timeline_chart_kits_reminders_and_flags(clinic_and_staff):
    clinic, user, staff = clinic_and_staff
    patient, course = started(clinic, 20)
    record_application(
        course,
        1,
        completed_at=course.first_application_at,
        recorded_by_staff_id=user.id,
        check_in=CheckIn(pain=2),
    )
    row = course.applications[1]
    steps = [{"key": "stamp", "completed_at": row.due_at.isoformat()}, {"key": "serum"}]
    record_application(
        course,
        2,
        completed_at=row.due_at,
        now=row.due_at,
        steps=steps,
        check_in=CheckIn(pain=8, notes="stings"),
    )
    db.session.commit()
    page = staff.get(f"/api/clinic/patients/{patient.id}").get_json()
    first, second, third = page["timeline"][:3]
    assert first["recorded_by"] == {"kind": "staff", "name": user.name} and first["in_clinic"] is True
    assert second["recorded_by"] == {"kind": "patient", "name": patient.display_name}
    assert second["steps_completed"] == ["stamp"]
    assert second["check_in"] == {
        "redness": None,
        "irritation": None,
        "pain": 8,
        "notes": "stings",
        "flagged": True,
    }
    assert third["recorded_by"] is None and third["check_in"] is None
    weeks = page["adherence_weeks"]
    assert weeks[0]["week"] == 1 and sum(w["on_time"] for w in weeks) == 2
    assert sum(w["on_time"] + w["late"] + w["moved"] + w["missed"] + w["upcoming"] for w in weeks) == 24
    assert page["course"]["status"] == "active" and page["course"]["week"] == 3
    assert page["reminders"]["reminder_time"] == "20:00" and page["reminders"]["devices"] == []
    assert {f["key"] for f in page["flags"]} >= {"side_effects", "notifications"}
    assert len(page["kits"]) == 2 and page["kits"][1]["needed_from"].endswith("Z")


def test_the_patient_page_costs_the_same_statements_early_and_late_in_the_course(clinic_and_staff):
    from support.queries import count_queries

    clinic, user, staff = clinic_and_staff
    counts = []
    for done in (1, 14):
        patient, course = started(clinic, 4 * done + 2)
        for row in course.applications[:done]:
            at = row.due_at + dt.timedelta(minutes=5) if row.number > 1 else row.due_at
            by = user.id if row.in_clinic else None
            record_application(course, row.number, completed_at=at, now=at, recorded_by_staff_id=by)
        db.session.commit()
        url = f"/api/clinic/patients/{patient.id}"
        staff.get(url)
        counts.append(count_queries(lambda url=url: staff.get(url)))
    assert counts[0] == counts[1], counts
