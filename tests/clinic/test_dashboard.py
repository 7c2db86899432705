"""The clinic's dashboard: figures that agree with the course engine, each flag raised by what it
names (and not otherwise), acknowledgements that hold until something new happens, sorting,
filters, search and paging on the server, and a number of statements that does not grow."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from support.clinics import STATES, bulk_patients
from support.factories import make_clinic, make_enrolled_patient
from support.queries import statements_of

from anagen.clinic import dashboard as service
from anagen.clinic.flags import DRIFT_MIN_LATENESS, DRIFT_STEP
from anagen.clock import utcnow
from anagen.course.courses import CheckIn, record_application
from anagen.course.protocols import course_protocol
from anagen.course.today import plan
from anagen.extensions import db
from anagen.models import AuditEvent, PushSubscription
from anagen.reminders import subscriptions as push

WINDOW = dt.timedelta(hours=24)


def started(clinic, days: float, **kw):
    start = (utcnow() - dt.timedelta(days=days)).replace(microsecond=0)
    return make_enrolled_patient(clinic, first_application_at=start, **kw)


def do(course, number: int, late: dt.timedelta = dt.timedelta(minutes=5), check_in: CheckIn | None = None):
    row = course.applications[number - 1]
    at = row.due_at + late if number > 1 else row.due_at
    record_application(course, number, completed_at=at, now=at, check_in=check_in)
    db.session.commit()
    return at


def do_up_to(course, number: int, late: dt.timedelta = dt.timedelta(minutes=5)):
    done = sum(1 for r in course.applications if r.completed_at is not None)
    for n in range(done + 1, number + 1):
        do(course, n, late)


def closed(course, now) -> int:
    """How many applications' on-time windows have closed by `now`."""
    return sum(1 for r in course.applications if r.due_at + WINDOW <= now)


def row_of(clinic, patient, now=None) -> service.Row:
    return service.patient_row(clinic.id, patient.id, now)


def keys(states) -> set[str]:
    return {s.key for s in states}


def subscribe(patient, n: int = 1):
    for i in range(n):
        push.save_subscription(
            patient,
            f"https://push.example.com/{patient.id}/{i}",
            "B" + "A" * 86,
            "A" * 22,
            "pytest",
        )
    db.session.commit()


@pytest.fixture
def clinic(app_ctx):
    clinic, _admin = make_clinic()
    return clinic


# ---- the figures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("skipped", "late"),
    [
        (0, dt.timedelta(minutes=5)),
        (1, dt.timedelta(minutes=5)),
        (2, dt.timedelta(minutes=5)),
        (0, dt.timedelta(hours=30)),
    ],
)
def test_adherence_and_counts_agree_with_the_course_engine(clinic, skipped, late):
    patient, course = started(clinic, 30)
    now = utcnow()
    do_up_to(course, 2)
    for number in range(3, 25):
        row = course.applications[number - 1]
        if row.due_at + late > now or closed(course, now) - skipped < number:
            break
        do(course, number, late)
    engine = plan(patient, now).adherence
    row = row_of(clinic, patient, now)
    done = sum(1 for r in course.applications if r.completed_at is not None)
    assert row.adherence_percent == engine.percent
    assert row.missed == engine.missed == skipped
    assert row.late == engine.late
    assert (row.late > 0) is (late > WINDOW)
    assert row.course.applications_done == done
    assert row.last_application_at == course.applications[done - 1].completed_at
    assert row.next_application_at == course.applications[done].due_at
    assert row.next_overdue is (skipped > 0)


def test_course_week_counts_from_the_first_application(clinic):
    _p, course = started(clinic, 0.1)
    patient_late, _ = started(clinic, 7 * 5 + 1)
    assert row_of(clinic, _p).course.week == 1
    assert row_of(clinic, patient_late).course.week == 6
    assert row_of(clinic, patient_late).course.weeks_total == 12


# ---- each flag -----------------------------------------------------------------------------------


def test_two_misses_in_a_row_are_flagged_one_is_not(clinic):
    patient, course = started(clinic, 30)
    subscribe(patient)
    now = utcnow()
    do_up_to(course, closed(course, now) - 1)
    assert "two_misses" not in keys(row_of(clinic, patient, now).flags)
    do_back = closed(course, now)
    assert row_of(clinic, patient, now).missed == 1
    # A day later the next one's window has closed too, if it was due by then.
    closes = course.applications[do_back].due_at + WINDOW
    flags = row_of(clinic, patient, closes + dt.timedelta(seconds=1)).flags
    assert [f.key for f in flags if f.key == "two_misses"] == ["two_misses"]
    assert next(f for f in flags if f.key == "two_misses").since == closes


def test_a_check_in_over_the_threshold_is_flagged(clinic):
    patient, course = started(clinic, 30)
    subscribe(patient)
    threshold = course_protocol(course).side_effect_pain_threshold
    do(course, 1)
    do(course, 2, check_in=CheckIn(pain=threshold))
    assert "side_effects" not in keys(row_of(clinic, patient).flags)
    at = do(course, 3, check_in=CheckIn(pain=threshold + 1))
    flagged = {f.key: f.since for f in row_of(clinic, patient).flags}
    assert flagged["side_effects"] == at
    _p2, c2 = started(clinic, 30)
    do(c2, 1, check_in=CheckIn(redness="severe"))
    assert "side_effects" in keys(row_of(clinic, _p2).flags)


def test_completions_drifting_later_are_flagged_before_any_miss(clinic):
    patient, course = started(clinic, 30)
    subscribe(patient)
    do(course, 1)
    do(course, 2, dt.timedelta(minutes=0))
    do(course, 3, dt.timedelta(minutes=10) + DRIFT_STEP)
    assert "drifting" not in keys(row_of(clinic, patient, course.applications[2].completed_at).flags)
    at = do(course, 4, DRIFT_MIN_LATENESS + DRIFT_STEP)
    row = row_of(clinic, patient, at)
    assert row.missed == 0
    assert {f.key: f.since for f in row.flags}["drifting"] == at
    # Back on time: the drift is over.
    at = do(course, 5, dt.timedelta(minutes=5))
    assert "drifting" not in keys(row_of(clinic, patient, at).flags)


def test_steady_lateness_is_not_drifting(clinic):
    patient, course = started(clinic, 30)
    subscribe(patient)
    for n in range(1, 6):
        do(course, n, dt.timedelta(hours=3))
    assert "drifting" not in keys(row_of(clinic, patient, course.applications[4].completed_at).flags)


def test_reminders_not_reaching_the_patient_are_flagged(clinic):
    patient, _ = started(clinic, 1)
    assert "notifications" in keys(row_of(clinic, patient).flags)
    subscribe(patient, 2)
    assert "notifications" not in keys(row_of(clinic, patient).flags)
    failed_at = utcnow().replace(microsecond=0)
    subs = db.session.scalars(
        sa.select(PushSubscription).where(PushSubscription.patient_id == patient.id)
    ).all()
    subs[0].failed_at = failed_at
    db.session.commit()
    assert "notifications" not in keys(row_of(clinic, patient).flags), "one phone still works"
    subs[1].failed_at = failed_at
    db.session.commit()
    assert {f.key: f.since for f in row_of(clinic, patient).flags}["notifications"] == failed_at


def test_the_next_kit_is_flagged_until_it_is_dispatched(clinic):
    patient, course = started(clinic, 40)
    subscribe(patient)
    do_up_to(course, 7)
    assert "kit" not in keys(row_of(clinic, patient, course.applications[6].completed_at).flags)
    at = do(course, 8)
    assert {f.key: f.since for f in row_of(clinic, patient, at).flags}["kit"] == at
    course.kits[1].dispatched_at = at
    db.session.commit()
    assert "kit" not in keys(row_of(clinic, patient, at).flags)


def test_an_unredeemed_invite_is_flagged(clinic):
    patient, _ = started(clinic, 1, password=None)
    assert keys(row_of(clinic, patient).flags) == {"invite"}
    patient.password_hash = "set"
    db.session.commit()
    assert "invite" not in keys(row_of(clinic, patient).flags)


def test_a_paused_course_raises_no_miss_or_kit_flags(clinic):
    patient, course = started(clinic, 40)
    course.status, course.paused_at = "paused", utcnow() - dt.timedelta(days=20)
    db.session.commit()
    row = row_of(clinic, patient)
    assert keys(row.flags) & {"two_misses", "kit", "drifting", "notifications"} == set()
    assert row.next_application_at is None
    assert row.missed == closed(course, course.paused_at)


# ---- acknowledgements ----------------------------------------------------------------------------


def test_an_acknowledged_flag_stays_quiet_until_a_new_event(clinic):
    patient, course = started(clinic, 30)
    subscribe(patient)
    admin = make_clinic_staff(clinic)
    do(course, 1)
    first = do(course, 2, check_in=CheckIn(pain=9))
    service.acknowledge(clinic.id, patient.id, "side_effects", "Called: settled by the morning", admin)
    db.session.commit()
    row = row_of(clinic, patient)
    assert "side_effects" not in keys(row.flags)
    assert {f.key: f.since for f in row.acknowledged}["side_effects"] == first
    do(course, 3, check_in=CheckIn(pain=2))
    assert "side_effects" not in keys(row_of(clinic, patient).flags), "an ordinary check-in is nothing new"
    second = do(course, 4, check_in=CheckIn(pain=8))
    assert {f.key: f.since for f in row_of(clinic, patient).flags}["side_effects"] == second


def make_clinic_staff(clinic):
    from support.factories import make_staff

    return make_staff(clinic)


def test_a_new_miss_raises_an_acknowledged_two_misses_again(clinic):
    patient, course = started(clinic, 40)
    subscribe(patient)
    now = utcnow()
    do_up_to(course, closed(course, now) - 2)
    staff = make_clinic_staff(clinic)
    service.acknowledge(clinic.id, patient.id, "two_misses", "On holiday, back Monday", staff, now=now)
    db.session.commit()
    assert "two_misses" not in keys(row_of(clinic, patient, now).flags)
    third_closes = course.applications[closed(course, now)].due_at + WINDOW
    assert "two_misses" in keys(row_of(clinic, patient, third_closes + dt.timedelta(seconds=1)).flags)


def test_acknowledging_over_the_api(clinic, make_api):
    patient, course = started(clinic, 30)
    other_clinic, other_admin = make_clinic()
    staff_user = make_clinic_staff(clinic)
    staff = make_api()
    staff.login(staff_user.email, account="staff")
    url = f"/api/clinic/patients/{patient.id}/flags"
    assert staff.post(f"{url}/kit/acknowledge", {"note": "x"}).status_code == 409
    assert staff.post(f"{url}/nonsense/acknowledge", {"note": "x"}).status_code == 404
    assert staff.post(f"{url}/notifications/acknowledge", {"note": ""}).status_code == 422
    response = staff.post(f"{url}/notifications/acknowledge", {"note": "Prefers a text message"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["key"] == "notifications" and body["acknowledged_by"] == staff_user.name
    listed = {f["key"]: f for f in staff.get(url).get_json()}
    assert listed["notifications"]["active"] is False
    assert listed["notifications"]["acknowledgement"]["note"] == "Prefers a text message"
    dashboard = staff.get("/api/clinic/dashboard").get_json()
    row = next(p for p in dashboard["patients"] if p["id"] == patient.id)
    assert "notifications" not in [f["key"] for f in row["flags"]]
    assert [f["key"] for f in row["acknowledged"]] == ["notifications"]
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == "flag_acknowledged")).all()
    assert [(a.target_id, a.detail["flag"]) for a in audit] == [(patient.id, "notifications")]
    assert "Prefers" not in str(audit[0].detail), "the note is health data: not in the audit log"
    outsider = make_api()
    outsider.login(other_admin.email, account="staff")
    assert outsider.post(f"{url}/notifications/acknowledge", {"note": "x"}).status_code == 404
    assert outsider.get(url).status_code == 404


# ---- the list: sorting, filters, search, paging ------------------------------------------------


@pytest.fixture
def crowd(clinic, make_api):
    ids = bulk_patients(clinic, 1 + 2 * len(STATES))
    staff_user = make_clinic_staff(clinic)
    staff = make_api()
    staff.login(staff_user.email, account="staff")
    return ids, staff


def test_every_state_of_the_bulk_clinic_shows_its_flag(crowd):
    _ids, staff = crowd
    body = staff.get("/api/clinic/dashboard?per_page=100").get_json()
    by_name = {p["last_name"]: {f["key"] for f in p["flags"]} for p in body["patients"]}
    assert by_name["OnTrack"] == set()
    assert by_name["TwoMisses"] == {"two_misses"}
    assert by_name["SideEffects"] == {"side_effects"}
    assert by_name["Drifting"] == {"drifting"}
    assert by_name["Notifications"] == {"notifications"}
    assert by_name["Kit"] == {"kit"}
    # Enrolled weeks ago and never set up: nothing recorded since the clinic's application either.
    assert by_name["Invite"] == {"invite", "two_misses"}
    assert by_name["Paused"] == set()
    assert body["flag_counts"]["two_misses"] == 4  # two each of TwoMisses and Invite


def test_sorting_filtering_searching_and_paging(crowd):
    _ids, staff = crowd
    everyone = staff.get("/api/clinic/dashboard?per_page=100").get_json()
    assert everyone["total"] == len(everyone["patients"]) == 1 + 2 * len(STATES)
    counts = [len(p["flags"]) for p in everyone["patients"]]
    assert counts == sorted(counts, reverse=True), "flags first by default"

    by_adherence = staff.get("/api/clinic/dashboard?sort=adherence&per_page=100").get_json()["patients"]
    values = [p["adherence_percent"] for p in by_adherence]
    assert values == sorted(values)
    by_name = staff.get("/api/clinic/dashboard?sort=name&order=desc&per_page=100").get_json()["patients"]
    names = [(p["last_name"].lower(), p["first_name"].lower()) for p in by_name]
    assert names == sorted(names, reverse=True)
    by_next = staff.get("/api/clinic/dashboard?sort=next&per_page=100").get_json()["patients"]
    nexts = [p["next_application_at"] for p in by_next]
    present = [n for n in nexts if n is not None]
    assert present == sorted(present) and nexts[: len(present)] == present, "empty ones last"

    flagged = staff.get("/api/clinic/dashboard?flag=kit").get_json()
    assert flagged["total"] == 2 and {p["last_name"] for p in flagged["patients"]} == {"Kit"}
    assert staff.get("/api/clinic/dashboard?status=paused").get_json()["total"] == 2
    found = staff.get("/api/clinic/dashboard?q=DRIFT").get_json()
    assert found["total"] == 2 and all(p["last_name"] == "Drifting" for p in found["patients"])
    email = everyone["patients"][0]["email"]
    assert [p["email"] for p in staff.get(f"/api/clinic/dashboard?q={email}").get_json()["patients"]] == [
        email
    ]
    assert staff.get("/api/clinic/dashboard?q=%25").get_json()["total"] == 0, (
        "% is a character, not a wildcard"
    )

    pages = [
        staff.get(f"/api/clinic/dashboard?sort=name&per_page=5&page={n}").get_json() for n in (1, 2, 3, 4)
    ]
    assert all(p["total"] == everyone["total"] for p in pages)
    seen = [p["id"] for page in pages for p in page["patients"]]
    assert len(seen) == len(set(seen)) == everyone["total"]


@pytest.mark.parametrize(
    "query",
    ["sort=age", "order=up", "flag=unknown", "page=0", "per_page=101", "status=lost"],
)
def test_bad_dashboard_queries_are_refused(crowd, query):
    _ids, staff = crowd
    response = staff.get(f"/api/clinic/dashboard?{query}")
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]


# ---- the cost ------------------------------------------------------------------------------------


def test_the_dashboard_costs_the_same_statements_at_10_and_500_patients(clinic, make_api):
    staff_user = make_clinic_staff(clinic)
    staff = make_api()
    staff.login(staff_user.email, account="staff")
    bulk_patients(clinic, 10, tag="a")
    answers = []

    def ask():
        answers.append(staff.get("/api/clinic/dashboard?sort=adherence").get_json())

    staff.get("/api/clinic/dashboard")
    few = statements_of(ask)
    bulk_patients(clinic, 490, tag="b")
    staff.get("/api/clinic/dashboard")  # warm again: a session idle for a while is touched once
    many = statements_of(ask)
    assert [a["total"] for a in answers] == [10, 500]
    assert len(many) == len(few), many
    assert len(few) <= 3, few  # the session, the account, then one statement for the page and totals
