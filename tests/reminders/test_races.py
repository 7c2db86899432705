"""Check-then-insert races become upserts (issue 10, item 2): subscription save, reminder
materialisation and the snooze sequence, each run from parallel threads on their own
database connections (PostgreSQL in CI's second run; SQLite serialises the writers)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from support.factories import make_enrolled_patient
from support.reminders import add_occurrence, bulk_occurrences, open_application

from anagen.extensions import db
from anagen.models import Course, Patient, PushSubscription, ReminderOccurrence
from anagen.reminders import occurrences as reminders
from anagen.reminders import subscriptions as push
from anagen.reminders.claims import claim

THREADS = 4


def in_parallel(app, work) -> list:
    """Run work(i) in THREADS threads, each in its own app context (own session and
    connection), released together; returns results or the exceptions raised."""
    db.session.remove()
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(10)
                results[i] = work(i)
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_parallel_saves_of_one_subscription_make_one_row(push_app, clinic, push_service):
    patient, _course = make_enrolled_patient(clinic)
    sub = push_service.new_subscription()
    patient_id = patient.id

    def save(_i):
        return push.save_subscription(
            db.session.get(Patient, patient_id),
            sub["endpoint"],
            sub["keys"]["p256dh"],
            sub["keys"]["auth"],
            "ua",
        )

    results = in_parallel(push_app, save)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.created for r in results) == [False] * (THREADS - 1) + [True]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PushSubscription)) == 1


def test_parallel_materialising_of_one_course_makes_each_reminder_once(push_app, clinic):
    _patient, course = make_enrolled_patient(clinic)
    db.session.execute(sa.delete(ReminderOccurrence))
    db.session.commit()
    course_id = course.id
    results = in_parallel(
        push_app, lambda _i: reminders.materialise_course(db.session.get(Course, course_id))
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    rows = db.session.execute(
        sa.select(ReminderOccurrence.planned_application_id, ReminderOccurrence.kind, ReminderOccurrence.seq)
    ).all()
    assert rows and len(rows) == len(set(rows))
    assert sum(results) == len(rows)  # each created by exactly one of them


def test_parallel_snoozes_take_consecutive_numbers(push_app, clinic):
    patient, course = make_enrolled_patient(clinic)
    original = add_occurrence(patient, open_application(course, 2), "due", status="sent")
    original_id = original.id

    def snooze(_i):
        return reminders.snooze(db.session.get(ReminderOccurrence, original_id)).seq

    results = in_parallel(push_app, snooze)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == list(range(1, THREADS + 1))


@pytest.mark.parametrize("kind", ["kit_low", "checkpoint"])
def test_a_once_only_reminder_added_twice_stays_one(push_app, clinic, kind):
    patient, course = make_enrolled_patient(clinic)
    row = open_application(course, 2)
    at = row.due_at
    reminders._add_once(patient.id, row, kind, at)
    reminders._add_once(patient.id, row, kind, at)
    db.session.commit()
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(ReminderOccurrence).where(ReminderOccurrence.kind == kind)
    )
    assert count == 1


def test_parallel_claims_take_disjoint_batches_never_over_their_size(push_app, clinic):
    """Dispatchers claiming side by side each get at most a batch, and every due reminder goes
    to exactly one of them (PostgreSQL: SKIP LOCKED; SQLite: one writer at a time)."""
    courses = [make_enrolled_patient(clinic)[1] for _ in range(6)]
    db.session.execute(sa.delete(ReminderOccurrence))
    db.session.commit()
    due = bulk_occurrences(courses, 120)
    batch = 3

    def work(_i: int) -> list[list[int]]:
        taken = []
        while ids := claim(batch):
            taken.append(ids)
        return taken

    results = in_parallel(push_app, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    batches = [ids for taken in results for ids in taken]
    assert max(len(ids) for ids in batches) <= batch
    claimed = [i for ids in batches for i in ids]
    assert sorted(claimed) == sorted(due)


# Plans PostgreSQL may choose (few rows, no statistics, other settings): with these the LIMIT
# subquery inside IN (...) is rescanned per row, and each rescan skips the rows this very
# statement already claimed, so one claim of 3 took the whole backlog.
NESTED_LOOP_PLANS = ("hashjoin", "mergejoin", "material", "sort", "hashagg")


def test_a_claim_takes_at_most_its_batch_whatever_the_plan(push_app, clinic, is_postgres):
    courses = [make_enrolled_patient(clinic)[1] for _ in range(3)]
    db.session.execute(sa.delete(ReminderOccurrence))
    db.session.commit()
    due = bulk_occurrences(courses, 40)

    for method in NESTED_LOOP_PLANS if is_postgres else ():  # for this transaction, the claim's
        db.session.execute(sa.text(f"SET LOCAL enable_{method} = off"))
    first = claim(3)
    assert first == due[:3]
    assert len(claim(100)) == len(due) - 3
