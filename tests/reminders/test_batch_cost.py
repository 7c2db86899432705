"""What one dispatched batch costs the database: a fixed number of statements whatever its size,
with the data an application reminder's text needs loaded by the claim itself."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from support.queries import count_queries
from support.reminders import add_occurrence, open_application, patient_with_device, received_payloads

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import ReminderOccurrence
from anagen.reminders import dispatcher

# Per batch: the claim (PostgreSQL: one statement with the application, the patient's zone and
# devices; SQLite: expired leases, pending rows, their applications with the zones, devices),
# the re-check before sending, one fenced UPDATE per outcome (here: sent), the devices' last
# success, and on PostgreSQL one SET LOCAL per transaction.
STATEMENTS = {"postgresql": 6, "sqlite": 7}


def late_reminders(clinic, push_service, n: int) -> list[ReminderOccurrence]:
    """`n` patients with a device each, whose application 2 was due 24 hours ago."""
    db.session.execute(sa.delete(ReminderOccurrence))
    db.session.commit()
    out = []
    for _ in range(n):
        patient, course, _subs = patient_with_device(clinic, push_service)
        application = open_application(course, 2)
        application.due_at = utcnow() - dt.timedelta(hours=24)
        db.session.commit()
        out.append(add_occurrence(patient, application, "due"))
    return out


def test_a_batch_costs_the_same_statements_whatever_its_size(clinic, push_service, sender):
    dialect = db.engine.dialect.name
    late_reminders(clinic, push_service, 1)
    one = count_queries(lambda: dispatcher.dispatch_batch(sender))
    push_service.clear()
    late_reminders(clinic, push_service, 12)
    twelve = count_queries(lambda: dispatcher.dispatch_batch(sender))
    assert one == twelve == STATEMENTS[dialect]
    bodies = [p["body"] for p in received_payloads(push_service)]
    # Worded from the application's day in the patient's zone, loaded with the claim.
    assert len(bodies) == 12
    assert all("(due yesterday)" in body for body in bodies), bodies
