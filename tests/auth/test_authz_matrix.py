"""The authorization matrix: every route of the app, called as every kind of person.

Two clinics. Clinic X has an admin, a clinician and two patients, A and B; clinic Y has
an admin. Each route is called signed out, as patient A, as patient B, as X's clinician,
as X's admin and as Y's admin; where the URL names a record, it is clinic X's (patient A,
X's clinician, A's reminder). The expected answer for each of the six is written out in
TABLE below, and a route of the app that is missing from TABLE fails the suite until
someone classifies it.

Around the table: another clinic's records answer 404, exactly as a record that does not
exist (no oracle), and the refusal is in the audit log; a refusal for the wrong kind of
account is a plain 403, audited too; nothing of clinic X reaches Y's admin and nothing of
patient A reaches patient B; the /api/me/* routes act on the signed-in patient only.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import uuid
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from conftest import ApiClient
from support import photofiles
from support.factories import PASSWORD, make_clinic, make_enrolled_patient, make_staff

from anagen.auth import passwords
from anagen.clinic import invites
from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import AuditEvent, Clinic, Invite, ReminderOccurrence
from anagen.photos import outcomes
from anagen.photos import pipeline as photo_pipeline
from anagen.photos import uploads as photo_uploads
from anagen.photos.storage import photo_storage
from anagen.reminders import occurrences as reminders

ANON, PAT_A, PAT_B = "anonymous", "patient_a", "patient_b"
CLIN_X, ADM_X, ADM_Y = "clinician_x", "admin_x", "admin_y"
# The order of the columns in TABLE. Calls go in CALL_ORDER: the callers that must be
# refused first (they see the records untouched), patient B before patient A (B's own
# completion must leave A's course as it was).
ACTORS = (ANON, PAT_A, PAT_B, CLIN_X, ADM_X, ADM_Y)
CALL_ORDER = (ANON, ADM_Y, PAT_B, CLIN_X, PAT_A, ADM_X)

# Access kinds, for the reader and for the checks that depend on them:
#   public   the web app's files and the signed-out parts of the API (no record of anyone)
#   self     /api/me/*: the signed-in patient's own data, whatever the URL says
#   patient  a record that belongs to one patient (their reminder): others get 404
#   staff    the signed-in staff member's own clinic, as a collection
#   record   one record of a clinic (a patient, a staff account): another clinic gets 404
#   admin    clinic administration, as a collection
# Columns: anonymous, patient A, patient B, clinician X, admin X, admin Y.
# fmt: off
TABLE: dict[tuple[str, str], tuple] = {
    # (rule, method)                                            kind       anon pa_a pa_b cl_x ad_x ad_y
    ("/", "GET"):                                              ("public",  200, 200, 200, 200, 200, 200),
    ("/sw.js", "GET"):                                         ("public",  200, 200, 200, 200, 200, 200),
    ("/manifest.webmanifest", "GET"):                          ("public",  200, 200, 200, 200, 200, 200),
    ("/app/<path:filename>", "GET"):                           ("public",  200, 200, 200, 200, 200, 200),
    ("/shared/<path:filename>", "GET"):                        ("public",  200, 200, 200, 200, 200, 200),
    ("/clinic", "GET"):                                        ("public",  308, 308, 308, 308, 308, 308),
    ("/clinic/", "GET"):                                       ("public",  200, 200, 200, 200, 200, 200),
    ("/clinic/<path:page>", "GET"):                            ("public",  200, 200, 200, 200, 200, 200),
    ("/clinic/assets/<path:filename>", "GET"):                 ("public",  200, 200, 200, 200, 200, 200),
    ("/healthz", "GET"):                                       ("public",  200, 200, 200, 200, 200, 200),
    ("/api/openapi.json", "GET"):                              ("public",  200, 200, 200, 200, 200, 200),
    ("/api/auth/session", "GET"):                              ("public",  200, 200, 200, 200, 200, 200),
    ("/api/auth/login", "POST"):                               ("public",  200, 200, 200, 200, 200, 200),
    ("/api/auth/logout", "POST"):                              ("public",  204, 204, 204, 204, 204, 204),
    ("/api/auth/password", "POST"):                            ("public",  401, 200, 200, 200, 200, 200),
    ("/api/auth/reauth", "POST"):                              ("public",  401, 204, 204, 204, 204, 204),
    ("/api/invites/lookup", "POST"):                           ("public",  200, 200, 200, 200, 200, 200),
    ("/api/invites/redeem", "POST"):                           ("public",  200, 200, 200, 200, 200, 200),
    ("/api/push/public-key", "GET"):                           ("public",  200, 200, 200, 200, 200, 200),
    ("/api/me/today", "GET"):                                  ("self",    401, 200, 200, 403, 403, 403),
    ("/api/me/plan", "GET"):                                   ("self",    401, 200, 200, 403, 403, 403),
    ("/api/me/protocol", "GET"):                               ("self",    401, 200, 200, 403, 403, 403),
    ("/api/me/settings", "GET"):                               ("self",    401, 200, 200, 403, 403, 403),
    ("/api/me/settings", "PATCH"):                             ("self",    401, 200, 200, 403, 403, 403),
    ("/api/me/applications/<int:number>/complete", "POST"):    ("self",    401, 201, 201, 403, 403, 403),
    ("/api/me/push-subscriptions", "PUT"):                     ("self",    401, 200, 200, 403, 403, 403),
    ("/api/me/push-subscriptions", "DELETE"):                  ("self",    401, 204, 204, 403, 403, 403),
    ("/api/me/push-subscriptions/test", "POST"):               ("self",    401, 202, 202, 403, 403, 403),
    ("/api/me/push-subscriptions/status", "POST"):             ("self",    401, 200, 200, 403, 403, 403),
    ("/api/me/reminders/<int:occurrence_id>/snooze", "POST"):  ("patient", 401, 201, 404, 403, 403, 403),
    ("/api/clinic/patients", "GET"):                           ("staff",   401, 403, 403, 200, 200, 200),
    ("/api/clinic/patients", "POST"):                          ("staff",   401, 403, 403, 201, 201, 201),
    ("/api/clinic/patients/<int:patient_id>", "GET"):          ("record",  401, 403, 403, 200, 200, 404),
    ("/api/clinic/patients/<int:patient_id>/invites", "POST"): ("record",  401, 403, 403, 201, 201, 404),
    ("/api/clinic/staff", "GET"):                              ("admin",   401, 403, 403, 403, 200, 200),
    ("/api/clinic/staff", "POST"):                             ("admin",   401, 403, 403, 403, 201, 201),
    ("/api/clinic/staff/<int:staff_id>", "PATCH"):             ("record",  401, 403, 403, 403, 200, 404),
    ("/api/clinic/audit-events", "GET"):                       ("admin",   401, 403, 403, 403, 200, 200),
    ("/api/clinic/audit-events/kinds", "GET"):                 ("admin",   401, 403, 403, 403, 200, 200),
    ("/api/clinic/settings", "GET"):                           ("admin",   401, 403, 403, 403, 200, 200),
    ("/api/clinic/settings", "PATCH"):                         ("admin",   401, 403, 403, 403, 200, 200),
    ("/api/clinic/patients/<int:patient_id>/messages", "GET"): ("record",  401, 403, 403, 200, 200, 404),
    ("/api/clinic/patients/<int:patient_id>/messages", "POST"): ("record", 401, 403, 403, 201, 201, 404),
    ("/api/clinic/dashboard", "GET"):                          ("staff",   401, 403, 403, 200, 200, 200),
    ("/api/clinic/enrolment-options", "GET"):                  ("staff",   401, 403, 403, 200, 200, 200),
    ("/api/clinic/exports/adherence.csv", "GET"):              ("staff",   401, 403, 403, 200, 200, 200),
    ("/api/clinic/patients/<int:patient_id>/export.fhir.json", "GET"):
                                                               ("record",  401, 403, 403, 200, 200, 404),
    ("/api/me/export.json", "GET"):                            ("self",    401, 200, 200, 403, 403, 403),
    ("/api/me/export.fhir.json", "GET"):                       ("self",    401, 200, 200, 403, 403, 403),
    ("/api/clinic/patients/<int:patient_id>/flags", "GET"):    ("record",  401, 403, 403, 200, 200, 404),
    ("/api/clinic/patients/<int:patient_id>/flags/<flag>/acknowledge", "POST"):
                                                               ("record",  401, 403, 403, 201, 201, 404),
    # The clinician pauses (ends) A's course first; the admin's second try is a conflict. A's course
    # is active: resuming it is a conflict for both.
    ("/api/clinic/patients/<int:patient_id>/course/pause", "POST"):
                                                               ("record",  401, 403, 403, 200, 409, 404),
    ("/api/clinic/patients/<int:patient_id>/course/resume", "POST"):
                                                               ("record",  401, 403, 403, 409, 409, 404),
    ("/api/clinic/patients/<int:patient_id>/course/end", "POST"):
                                                               ("record",  401, 403, 403, 200, 409, 404),
    ("/api/clinic/patients/<int:patient_id>/kits/<int:kit>", "PATCH"):
                                                               ("record",  401, 403, 403, 200, 200, 404),
    # The clinician records A's in-clinic application first; the admin's second try is a conflict.
    ("/api/clinic/patients/<int:patient_id>/applications/<int:number>/complete", "POST"):
                                                               ("record",  401, 403, 403, 201, 409, 404),
    # Progress photos: A's photo (an end-of-kit-1 crown photo) and A's outcome measures.
    ("/api/me/photos", "GET"):                                 ("self",    401, 200, 200, 403, 403, 403),
    ("/api/me/photos", "POST"):                                ("self",    401, 201, 201, 403, 403, 403),
    ("/api/me/photos/consent", "POST"):                        ("self",    401, 200, 200, 403, 403, 403),
    ("/api/me/photos/<int:photo_id>", "GET"):                  ("patient", 401, 200, 404, 403, 403, 403),
    ("/api/me/photos/<int:photo_id>/image", "GET"):            ("patient", 401, 200, 404, 403, 403, 403),
    ("/api/me/photos/<int:photo_id>/withdraw", "POST"):        ("patient", 401, 200, 404, 403, 403, 403),
    ("/api/clinic/photos/awaiting-review", "GET"):             ("staff",   401, 403, 403, 200, 200, 200),
    ("/api/clinic/photos/<int:photo_id>", "GET"):              ("record",  401, 403, 403, 200, 200, 404),
    ("/api/clinic/photos/<int:photo_id>/image", "GET"):        ("record",  401, 403, 403, 200, 200, 404),
    ("/api/clinic/photos/<int:photo_id>/review", "POST"):      ("record",  401, 403, 403, 200, 200, 404),
    ("/api/clinic/photos/<int:photo_id>/comments", "POST"):    ("record",  401, 403, 403, 201, 201, 404),
    ("/api/clinic/patients/<int:patient_id>/photos", "GET"):   ("record",  401, 403, 403, 200, 200, 404),
    # A's crown photo has no crown baseline: X's staff reach the two-landmark alignment and are told
    # so (409 no_reference); the aligned path is tests/photos/test_alignment_api.py.
    ("/api/clinic/photos/<int:photo_id>/alignment", "GET"):    ("record",  401, 403, 403, 200, 200, 404),
    ("/api/clinic/photos/<int:photo_id>/alignment", "POST"):   ("record",  401, 403, 403, 409, 409, 404),
    # The clinician sends the in-clinic photo first; the admin's same file is that photo (200).
    ("/api/clinic/patients/<int:patient_id>/photos", "POST"):  ("record",  401, 403, 403, 201, 200, 404),
    ("/api/clinic/patients/<int:patient_id>/outcomes", "GET"): ("record",  401, 403, 403, 200, 200, 404),
    ("/api/clinic/patients/<int:patient_id>/outcomes/<string:checkpoint>/<string:target_area>", "PUT"):
                                                               ("record",  401, 403, 403, 200, 200, 404),
    ("/api/clinic/patients/<int:patient_id>/outcomes/<string:checkpoint>/<string:target_area>", "DELETE"):
                                                               ("record",  401, 403, 403, 204, 204, 404),
}
# fmt: on
KINDS = {"public", "self", "patient", "staff", "record", "admin"}
# The "public" group of the brief, by prefix, so that a new route there is noticed as such.
PUBLIC_PREFIXES = ("/api/auth/", "/api/invites/")
NO_SUCH_ID = 987_654_321


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    """Argon2id with its smallest cost: this module signs in hundreds of times."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@dataclass
class World:
    clinic_x: int
    clinic_y: int
    ids: dict[str, int]  # actor -> account id
    emails: dict[str, str]
    course_a: int
    course_b: int
    occurrence_a: int
    photo_a: int
    clients: dict[str, ApiClient] = field(default_factory=dict)

    def kind(self, actor: str) -> str:
        return "patient" if actor.startswith("patient") else "staff"


@pytest.fixture
def world(app, make_api) -> World:
    with app.app_context():
        clinic_x, admin_x = make_clinic("Xanadu Clinic")
        clinician_x = make_staff(clinic_x, "clinician")
        clinic_y, admin_y = make_clinic("Yonder Clinic")
        patient_a, course_a = make_enrolled_patient(
            clinic_x, first_name="Alice", last_name="Aardvark", email="alice.aardvark@mail.example"
        )
        patient_b, course_b = make_enrolled_patient(
            clinic_x,
            first_name="Bob",
            last_name="Bramble",
            email="bob.bramble@mail.example",
            time_zone="America/New_York",
        )
        reminders.materialise_course(course_a)
        db.session.commit()
        occurrence_a = db.session.scalar(
            sa.select(ReminderOccurrence.id)
            .where(ReminderOccurrence.patient_id == patient_a.id, ReminderOccurrence.kind == "due")
            .order_by(ReminderOccurrence.id)
            .limit(1)
        )
        assert occurrence_a is not None
        photo_a = photo_uploads.upload(
            patient_a, checkpoint="end_of_kit_1", view="crown", data=photofiles.phone_jpeg(seed=99),
            declared_type="image/jpeg", store=photo_storage(), limits=photo_pipeline.Limits(),
        ).photo.id  # fmt: skip
        for area in ("crown", "parting_line"):
            outcomes.put_measure(
                patient_a, "baseline", area, measured_at=utcnow(), hair_count_per_cm2=150.0,
                cumulative_thickness_mm_per_cm2=None, staff=clinician_x,
            )  # fmt: skip
        db.session.commit()
        users = {PAT_A: patient_a, PAT_B: patient_b, CLIN_X: clinician_x, ADM_X: admin_x, ADM_Y: admin_y}
        w = World(
            clinic_x=clinic_x.id,
            clinic_y=clinic_y.id,
            ids={actor: user.id for actor, user in users.items()},
            emails={actor: user.email for actor, user in users.items()},
            course_a=course_a.id,
            course_b=course_b.id,
            occurrence_a=occurrence_a,
            photo_a=photo_a,
        )
    for actor in ACTORS:
        client = make_api()
        if actor != ANON:
            client.login(w.emails[actor], account=w.kind(actor))
        w.clients[actor] = client
    return w


# ---- what each route is called with -------------------------------------------------


@dataclass
class Call:
    path: str
    json: object = None
    headers: dict | None = None
    form: dict | None = None  # a multipart/form-data body (a photo upload)


def _fresh_invite_token(w: World, actor: str) -> str:
    """An unused invite of a new patient in the caller's own clinic (X for the signed out)."""
    clinic = db.session.get(Clinic, w.clinic_y if actor == ADM_Y else w.clinic_x)
    patient, _ = make_enrolled_patient(clinic, password=None)
    _invite, token = invites.issue_invite(patient, None, dt.timedelta(days=7))
    db.session.commit()
    return token


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(bytes(range(1, n + 1))).decode().rstrip("=")


def _enrolment(actor: str) -> dict:
    return {
        "first_name": "New",
        "last_name": "Patient",
        "email": f"enrolled-by-{actor}@mail.example",
        "indication": "androgenetic_alopecia",
        "advanced_traction_alopecia": False,
        "miniaturisation_seen": True,
        "target_areas": ["crown"],
        "first_application_at": (utcnow() - dt.timedelta(hours=1)).isoformat(),
        "reminder_weekdays": [0, 3],
        "reminder_time": "20:00",
        "time_zone": "Europe/London",
    }


NEW_PASSWORD = "a brand new passphrase"
OUTCOME = "/api/clinic/patients/<int:patient_id>/outcomes/<string:checkpoint>/<string:target_area>"
REQUESTS = {
    ("/app/<path:filename>", "GET"): lambda w, a: Call("/app/app.css"),
    ("/shared/<path:filename>", "GET"): lambda w, a: Call("/shared/api.js"),
    ("/clinic/<path:page>", "GET"): lambda w, a: Call("/clinic/patients/1"),
    ("/clinic/assets/<path:filename>", "GET"): lambda w, a: Call("/clinic/assets/js/app.js"),
    ("/api/auth/login", "POST"): lambda w, a: Call(
        "/api/auth/login",
        {
            "email": w.emails[a if a != ANON else PAT_A],
            "password": PASSWORD,
            "account": w.kind(a if a != ANON else PAT_A),
        },
    ),
    ("/api/auth/password", "POST"): lambda w, a: Call(
        "/api/auth/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    ),
    ("/api/auth/reauth", "POST"): lambda w, a: Call("/api/auth/reauth", {"password": PASSWORD}),
    ("/api/invites/lookup", "POST"): lambda w, a: Call(
        "/api/invites/lookup", {"token": _fresh_invite_token(w, a)}
    ),
    ("/api/invites/redeem", "POST"): lambda w, a: Call(
        "/api/invites/redeem",
        {"token": _fresh_invite_token(w, a), "password": NEW_PASSWORD, "photo_consent": True},
    ),
    ("/api/me/settings", "PATCH"): lambda w, a: Call("/api/me/settings", {"reminder_time": "19:30"}),
    ("/api/me/applications/<int:number>/complete", "POST"): lambda w, a: Call(
        "/api/me/applications/1/complete",
        {"completed_at": utcnow().isoformat(), "check_in": {"pain": 1}},
        {"Idempotency-Key": str(uuid.uuid4())},
    ),
    ("/api/me/push-subscriptions", "PUT"): lambda w, a: Call(
        "/api/me/push-subscriptions",
        {"endpoint": f"https://push.example.com/{a}", "keys": {"p256dh": _b64(65), "auth": _b64(16)}},
    ),
    ("/api/me/push-subscriptions", "DELETE"): lambda w, a: Call(
        "/api/me/push-subscriptions", {"endpoint": f"https://push.example.com/{a}"}
    ),
    ("/api/me/push-subscriptions/status", "POST"): lambda w, a: Call(
        "/api/me/push-subscriptions/status", {"endpoint": f"https://push.example.com/{a}"}
    ),
    ("/api/me/reminders/<int:occurrence_id>/snooze", "POST"): lambda w, a: Call(
        f"/api/me/reminders/{w.occurrence_a}/snooze"
    ),
    ("/api/clinic/patients", "POST"): lambda w, a: Call("/api/clinic/patients", _enrolment(a)),
    ("/api/clinic/patients/<int:patient_id>", "GET"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}"
    ),
    ("/api/clinic/patients/<int:patient_id>/invites", "POST"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/invites"
    ),
    ("/api/clinic/staff", "POST"): lambda w, a: Call(
        "/api/clinic/staff",
        {
            "email": f"hired-by-{a}@clinic.example",
            "name": "New Colleague",
            "role": "clinician",
            "password": NEW_PASSWORD,
        },
    ),
    ("/api/clinic/staff/<int:staff_id>", "PATCH"): lambda w, a: Call(
        f"/api/clinic/staff/{w.ids[CLIN_X]}", {"role": "clinician"}
    ),
    ("/api/clinic/patients/<int:patient_id>/messages", "POST"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/messages", {"text": f"A note from {a}"}
    ),
    ("/api/clinic/patients/<int:patient_id>/messages", "GET"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/messages"
    ),
    ("/api/clinic/settings", "PATCH"): lambda w, a: Call(
        "/api/clinic/settings", {"protocol_overrides": {"massage_seconds": 90}}
    ),
    ("/api/clinic/patients/<int:patient_id>/export.fhir.json", "GET"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/export.fhir.json"
    ),
    ("/api/clinic/patients/<int:patient_id>/flags", "GET"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/flags"
    ),
    ("/api/clinic/patients/<int:patient_id>/course/pause", "POST"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/course/pause", {"reason": f"Paused by {a}"}
    ),
    ("/api/clinic/patients/<int:patient_id>/course/resume", "POST"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/course/resume", {"reason": f"Resumed by {a}"}
    ),
    ("/api/clinic/patients/<int:patient_id>/course/end", "POST"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/course/end", {"reason": f"Ended by {a}"}
    ),
    ("/api/clinic/patients/<int:patient_id>/kits/<int:kit>", "PATCH"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/kits/2", {"dispatched_at": utcnow().isoformat()}
    ),
    # A's reminders reach no phone (no subscription): that flag is raised.
    ("/api/clinic/patients/<int:patient_id>/flags/<flag>/acknowledge", "POST"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/flags/notifications/acknowledge", {"note": f"Noted by {a}"}
    ),
    ("/api/clinic/patients/<int:patient_id>/applications/<int:number>/complete", "POST"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/applications/1/complete", {"completed_at": utcnow().isoformat()}
    ),
    ("/api/me/photos", "POST"): lambda w, a: Call(
        "/api/me/photos",
        form={"checkpoint": "ad_hoc", "view": "crown", "file": photofiles.phone_jpeg(seed=len(a))},
    ),
    ("/api/me/photos/consent", "POST"): lambda w, a: Call("/api/me/photos/consent", {"consent": True}),
    ("/api/me/photos/<int:photo_id>", "GET"): lambda w, a: Call(f"/api/me/photos/{w.photo_a}"),
    ("/api/me/photos/<int:photo_id>/image", "GET"): lambda w, a: Call(f"/api/me/photos/{w.photo_a}/image"),
    ("/api/me/photos/<int:photo_id>/withdraw", "POST"): lambda w, a: Call(
        f"/api/me/photos/{w.photo_a}/withdraw"
    ),
    ("/api/clinic/photos/<int:photo_id>", "GET"): lambda w, a: Call(f"/api/clinic/photos/{w.photo_a}"),
    ("/api/clinic/photos/<int:photo_id>/image", "GET"): lambda w, a: Call(
        f"/api/clinic/photos/{w.photo_a}/image?size=master"
    ),
    ("/api/clinic/photos/<int:photo_id>/review", "POST"): lambda w, a: Call(
        f"/api/clinic/photos/{w.photo_a}/review"
    ),
    ("/api/clinic/photos/<int:photo_id>/comments", "POST"): lambda w, a: Call(
        f"/api/clinic/photos/{w.photo_a}/comments", {"text": f"A comment from {a}"}
    ),
    ("/api/clinic/patients/<int:patient_id>/photos", "GET"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/photos"
    ),
    ("/api/clinic/photos/<int:photo_id>/alignment", "GET"): lambda w, a: Call(
        f"/api/clinic/photos/{w.photo_a}/alignment"
    ),
    ("/api/clinic/photos/<int:photo_id>/alignment", "POST"): lambda w, a: Call(
        f"/api/clinic/photos/{w.photo_a}/alignment",
        {
            "landmarks": [
                {"photo": [100, 100], "reference": [90, 110]},
                {"photo": [400, 300], "reference": [380, 320]},
            ]
        },
    ),
    ("/api/clinic/patients/<int:patient_id>/photos", "POST"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/photos",
        form={"checkpoint": "baseline", "view": "parting", "file": photofiles.phone_jpeg(seed=7)},
    ),
    ("/api/clinic/patients/<int:patient_id>/outcomes", "GET"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/outcomes"
    ),
    (OUTCOME, "PUT"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/outcomes/end_of_course/crown",
        {"measured_at": utcnow().isoformat(), "hair_count_per_cm2": 171.0},
    ),
    # Each caller removes a measure of its own (both exist): a second removal would be a 404.
    (OUTCOME, "DELETE"): lambda w, a: Call(
        f"/api/clinic/patients/{w.ids[PAT_A]}/outcomes/baseline/{'crown' if a == CLIN_X else 'parting_line'}"
    ),
}
# Records named in the URL, and the audit target each refusal names.
TARGETS = {
    "/api/clinic/patients/<int:patient_id>": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/invites": ("patient", PAT_A),
    "/api/clinic/staff/<int:staff_id>": ("staff", CLIN_X),
    "/api/clinic/patients/<int:patient_id>/applications/<int:number>/complete": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/messages": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/flags": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/export.fhir.json": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/course/pause": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/course/resume": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/course/end": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/kits/<int:kit>": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/flags/<flag>/acknowledge": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/photos": ("patient", PAT_A),
    "/api/clinic/patients/<int:patient_id>/outcomes": ("patient", PAT_A),
    OUTCOME: ("patient", PAT_A),
    "/api/clinic/photos/<int:photo_id>": ("photo", "photo_a"),
    "/api/clinic/photos/<int:photo_id>/image": ("photo", "photo_a"),
    "/api/clinic/photos/<int:photo_id>/review": ("photo", "photo_a"),
    "/api/clinic/photos/<int:photo_id>/comments": ("photo", "photo_a"),
    "/api/clinic/photos/<int:photo_id>/alignment": ("photo", "photo_a"),
}


def _call_for(w: World, rule: str, method: str, actor: str) -> Call:
    build = REQUESTS.get((rule, method))
    return build(w, actor) if build else Call(rule)


def _with_missing_id(call: Call, w: World) -> Call:
    """The same call, naming a record that does not exist."""
    path = call.path
    for real in (w.ids[PAT_A], w.ids[CLIN_X], w.occurrence_a, w.photo_a):
        path = path.replace(f"/{real}/", f"/{NO_SUCH_ID}/")
        if path.endswith(f"/{real}"):
            path = path[: -len(str(real))] + str(NO_SUCH_ID)
    return Call(path, call.json, call.headers, call.form)


def _send(w: World, actor: str, method: str, call: Call):
    if call.form is not None:
        form = {
            k: (io.BytesIO(v), "photo.jpg", "image/jpeg") if isinstance(v, bytes) else v
            for k, v in call.form.items()
        }
        return w.clients[actor].request(
            method, call.path, headers=call.headers, data=form, content_type="multipart/form-data"
        )
    return w.clients[actor].request(method, call.path, json=call.json, headers=call.headers)


def _markers(w: World, of: str) -> list[str]:
    """Text that must never reach someone outside: patient A's, or anything of clinic X's."""
    a = [w.emails[PAT_A], "Aardvark", "Alice"]
    if of == PAT_A:
        return a
    return [*a, "Xanadu", w.emails[PAT_B], "Bramble", w.emails[CLIN_X], w.emails[ADM_X]]


@dataclass(frozen=True)
class Refusal:
    event: str
    clinic_id: int | None
    target_type: str | None
    target_id: int | None
    detail: dict


def _refusals(app, actor_id: int, actor_type: str) -> list[Refusal]:
    """The audit log's access_refused events of one account."""
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.event == "access_refused",
                AuditEvent.actor_type == actor_type,
                AuditEvent.actor_id == actor_id,
            )
        )
        return [Refusal(e.event, e.clinic_id, e.target_type, e.target_id, dict(e.detail or {})) for e in rows]


# ---- the tests ----------------------------------------------------------------------


def _rules(app) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_is_in_the_table(app):
    found = _rules(app)
    new = sorted(found - set(TABLE))
    listed = ", ".join(f"{method} {rule}" for rule, method in new)
    assert not new, f"classify this new route (add it to TABLE in tests/auth/test_authz_matrix.py): {listed}"
    gone = sorted(set(TABLE) - found)
    assert not gone, "routes in TABLE that the app no longer has: " + ", ".join(f"{m} {r}" for r, m in gone)


def test_the_table_is_well_formed():
    for (rule, method), row in TABLE.items():
        kind, *statuses = row
        assert kind in KINDS and len(statuses) == len(ACTORS), (rule, method)
        if rule.startswith(PUBLIC_PREFIXES) or not rule.startswith("/api/") or rule == "/api/openapi.json":
            assert kind == "public", f"{method} {rule} is one of the public routes"
        if kind == "public":
            assert statuses[0] != 403, f"{method} {rule}: a public route does not refuse the signed out"
        # Another clinic's record, or another patient's, is never a 403 or a 200.
        if kind == "record":
            assert statuses[ACTORS.index(ADM_Y)] == 404, (rule, method)
        if kind == "patient":
            assert statuses[ACTORS.index(PAT_B)] == 404, (rule, method)
    for key in REQUESTS:
        assert key in TABLE, f"REQUESTS has {key}, which TABLE lacks"


@pytest.mark.parametrize(("rule", "method"), sorted(TABLE), ids=[f"{m} {r}" for r, m in sorted(TABLE)])
def test_route_answers_each_caller_as_the_table_says(app, world, rule, method):
    kind, *statuses = TABLE[(rule, method)]
    expected = dict(zip(ACTORS, statuses, strict=True))
    w = world
    for actor in CALL_ORDER:
        with app.app_context():
            call = _call_for(w, rule, method, actor)
        response = _send(w, actor, method, call)
        got = response.status_code
        where = f"{method} {call.path} as {actor}"
        text = response.get_data().decode(errors="replace")  # a photo's image is binary
        assert got == expected[actor], f"{where}: {got} (expected {expected[actor]}): {text[:300]}"
        body = response.get_json(silent=True)

        # Nothing of clinic X reaches Y's admin; nothing of patient A reaches patient B.
        if actor in (ADM_Y, PAT_B) and rule.startswith("/api/") and rule != "/api/openapi.json":
            for marker in _markers(w, PAT_A if actor == PAT_B else ADM_Y):
                assert marker not in text, f"{where} leaks {marker!r}"

        if got == 403:
            assert body["error"]["code"] == "forbidden", f"{where}: {body}"
            refused = [
                e
                for e in _refusals(app, w.ids[actor], w.kind(actor))
                if e.detail.get("path") == rule and e.detail.get("method") == method
            ]
            assert refused, f"{where}: the refusal is not in the audit log"
        if got == 404 and kind in ("record", "patient"):
            # No oracle: another clinic's (or patient's) record answers exactly as none at all.
            with app.app_context():
                missing = _with_missing_id(_call_for(w, rule, method, actor), w)
            assert missing.path != call.path
            twin = _send(w, actor, method, missing)
            assert (twin.status_code, twin.get_json()) == (404, body), f"{where}: unlike a missing record"
            assert body["error"]["code"] in ("not_found",), body
        if got == 404 and kind == "record":
            target_type, owner = TARGETS[rule]
            target_id = w.photo_a if owner == "photo_a" else w.ids[owner]
            refused = [
                e
                for e in _refusals(app, w.ids[actor], w.kind(actor))
                if e.target_type == target_type and e.target_id == target_id
            ]
            assert refused, f"{where}: the cross-clinic refusal is not in the audit log"
            event = refused[0]
            assert event.clinic_id == (w.clinic_y if actor == ADM_Y else w.clinic_x)
            assert event.detail.get("path") == rule and event.detail.get("method") == method


def test_me_routes_act_on_the_signed_in_patient_only(app, world):
    w = world
    a, b = w.clients[PAT_A], w.clients[PAT_B]

    today_b = b.get("/api/me/today").get_json()
    assert today_b["course"]["id"] == w.course_b
    assert today_b["patient"] == {"first_name": "Bob", "time_zone": "America/New_York"}
    assert b.get("/api/me/plan").get_json()["time_zone"] == "America/New_York"
    assert b.get("/api/me/settings").get_json()["time_zone"] == "America/New_York"

    # B's changes and B's completion land on B's course; A's stays as it was.
    assert b.patch("/api/me/settings", {"reminder_time": "07:15"}).status_code == 200
    done = b.post(
        "/api/me/applications/1/complete",
        {"completed_at": utcnow().isoformat()},
        headers={"Idempotency-Key": "same-key-for-both"},
    )
    assert done.status_code == 201
    assert b.get("/api/me/today").get_json()["course"]["applications_done"] == 1

    today_a = a.get("/api/me/today").get_json()
    assert today_a["course"]["id"] == w.course_a
    assert today_a["patient"]["first_name"] == "Alice"
    assert today_a["course"]["applications_done"] == 0
    assert a.get("/api/me/settings").get_json()["reminder_time"] == "20:00"
    # The idempotency keys are per patient: A's first use of the same key is A's own request.
    mine = a.post(
        "/api/me/applications/1/complete",
        {"completed_at": utcnow().isoformat()},
        headers={"Idempotency-Key": "same-key-for-both"},
    )
    assert mine.status_code == 201, mine.get_json()
    assert a.get("/api/me/today").get_json()["course"]["applications_done"] == 1

    # A's reminder is not B's to snooze, and answers as one that does not exist.
    theirs = b.post(f"/api/me/reminders/{w.occurrence_a}/snooze")
    none = b.post(f"/api/me/reminders/{NO_SUCH_ID}/snooze")
    assert theirs.status_code == none.status_code == 404
    assert theirs.get_json() == none.get_json()


def test_cross_clinic_access_is_refused_and_audited(app, world):
    w = world
    y = w.clients[ADM_Y]
    reads = [
        ("GET", f"/api/clinic/patients/{w.ids[PAT_A]}", None, "patient", w.ids[PAT_A]),
        ("POST", f"/api/clinic/patients/{w.ids[PAT_A]}/invites", None, "patient", w.ids[PAT_A]),
        ("PATCH", f"/api/clinic/staff/{w.ids[CLIN_X]}", {"active": False}, "staff", w.ids[CLIN_X]),
        ("PATCH", f"/api/clinic/staff/{w.ids[ADM_X]}", {"role": "clinician"}, "staff", w.ids[ADM_X]),
    ]
    for method, path, body, _target_type, _target_id in reads:
        response = y.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.get_json())
        text = json.dumps(response.get_json())
        assert "Xanadu" not in text and w.emails[PAT_A] not in text and w.emails[CLIN_X] not in text
    events = _refusals(app, w.ids[ADM_Y], "staff")
    seen = {(e.target_type, e.target_id, e.detail.get("method")) for e in events}
    for method, _path, _body, target_type, target_id in reads:
        assert (target_type, target_id, method) in seen
    assert all(e.clinic_id == w.clinic_y and e.event == "access_refused" for e in events)

    # Nothing changed in clinic X: no invite for A, the clinician active, the admin still admin.
    with app.app_context():
        invites_of_a = sa.select(sa.func.count(Invite.id)).where(Invite.patient_id == w.ids[PAT_A])
        assert db.session.scalar(invites_of_a) == 0
    staff = {s["id"]: s for s in w.clients[ADM_X].get("/api/clinic/staff").get_json()}
    assert staff[w.ids[CLIN_X]]["active"] is True
    assert staff[w.ids[ADM_X]]["role"] == "admin"
    # Y's admin sees Y's refusals in Y's log; clinic X's log does not carry Y's activity.
    y_log = y.get("/api/clinic/audit-events").get_json()
    assert any(e["event"] == "access_refused" and e["actor_id"] == w.ids[ADM_Y] for e in y_log)
    x_log = w.clients[ADM_X].get("/api/clinic/audit-events").get_json()
    assert not any(e["actor_id"] == w.ids[ADM_Y] and e["actor_type"] == "staff" for e in x_log)
    # Y's lists hold nothing of X's.
    assert y.get("/api/clinic/patients").get_json() == []
    assert [s["id"] for s in y.get("/api/clinic/staff").get_json()] == [w.ids[ADM_Y]]


def test_cross_patient_refusal_is_audited(app, world):
    w = world
    response = w.clients[PAT_B].post(f"/api/me/reminders/{w.occurrence_a}/snooze")
    assert response.status_code == 404
    refused = _refusals(app, w.ids[PAT_B], "patient")
    assert any(e.target_id == w.occurrence_a for e in refused)
