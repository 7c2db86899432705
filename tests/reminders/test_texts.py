"""Reminder texts are true at the moment they are shown: worded when sent, from the application's
due time and the send time in the patient's zone (issue 11 item 5). Each test pins the clock at
the reminder's own time, sends it through the real dispatcher to the local push service and
reads the decrypted text."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from support.reminders import open_application, patient_with_device, received_payloads

from anagen.clinic.enrolment import DEFAULT_QUIET_HOURS
from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import ReminderOccurrence
from anagen.reminders import dispatcher, occurrences

TODAY_FOLLOW_UP = "A reminder: your treatment is still to do today."
DUE_NOW = "Your treatment is due now. Tap to start."


def sent_text(clinic, push_service, sender, kind: str, *, zone: str, at: dt.time, quiet=None):
    """Enrol a patient (zone, reminder time, quiet hours), materialise application 2's reminders,
    pin the clock at the `kind` one's time, dispatch: (its body, the application's local due
    date, the local time it went out)."""
    now = utcnow().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        patient, course, _ = patient_with_device(
            clinic,
            push_service,
            time_zone=zone,
            reminder_time=at,
            quiet_hours=quiet,
            first_application_at=now - dt.timedelta(hours=1),
        )
        occurrences.materialise_course(course, now=now)
        row = open_application(course, 2)
        occ = db.session.scalar(
            sa.select(ReminderOccurrence).where(
                ReminderOccurrence.planned_application_id == row.id, ReminderOccurrence.kind == kind
            )
        )
        # Only the reminder under test goes out.
        db.session.execute(sa.delete(ReminderOccurrence).where(ReminderOccurrence.id != occ.id))
        db.session.commit()
        moment, due_at = occ.due_at, row.due_at
    with time_machine.travel(moment, tick=False):
        stats = dispatcher.dispatch_until_idle(sender)
    assert stats.sent == 1
    (body,) = received_payloads(push_service)
    assert body["id"] == str(occ.id) and body["kind"] == kind and body["title"] == "Anagen"
    local = ZoneInfo(zone)
    return body["body"], due_at.astimezone(local).date(), moment.astimezone(local)


LATE_FOLLOW_UP = "A reminder: your treatment (due yesterday) is still to do. Do it when you can."
Q = DEFAULT_QUIET_HOURS

# (kind, patient's zone, reminder time, quiet hours, days after the due day it goes out, the local
# time it goes out (None: not asserted), the text)
CASES = {
    "follow-up the same evening says today": (
        "follow_up", "Europe/London", dt.time(17), Q, 0, dt.time(21), TODAY_FOLLOW_UP),
    "follow-up held back to the morning says when it was due": (
        "follow_up", "Europe/London", dt.time(20), Q, 1, dt.time(8), LATE_FOLLOW_UP),
    "midnight follow-up without quiet hours does not say today": (
        "follow_up", "Europe/London", dt.time(20), None, 1, dt.time(0), LATE_FOLLOW_UP),
    # UTC+14: due at 06:00 UTC, the follow-up at 10:00 UTC the same UTC day, the next local day.
    "far east of UTC the day is the patient's": (
        "follow_up", "Pacific/Kiritimati", dt.time(20), None, 1, None, LATE_FOLLOW_UP),
    # UTC-10: due at 23:00 UTC, the follow-up at 03:00 UTC the next UTC day, the same local day.
    "far west of UTC the day is the patient's": (
        "follow_up", "Pacific/Honolulu", dt.time(13), None, 0, dt.time(17), TODAY_FOLLOW_UP),
    "due reminder on its day says now": ("due", "Europe/London", dt.time(20), Q, 0, None, DUE_NOW),
    "due reminder held back past midnight says when it was due": (
        "due", "Europe/London", dt.time(22), Q, 1, dt.time(8),
        "Your treatment (due yesterday) is still to do. Tap to start."),
    "missed notice names the day it was due": (
        "missed", "Europe/London", dt.time(20), Q, 2, dt.time(9),
        "You missed a treatment (due on {due:%a}). Do it as soon as you can."),
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "zone", "at", "quiet", "days", "local_time", "text"), CASES.values(), ids=CASES
)
def test_each_reminder_says_what_is_true_when_it_goes_out(
    clinic, push_service, sender, kind, zone, at, quiet, days, local_time, text
):
    body, due_day, sent_at = sent_text(clinic, push_service, sender, kind, zone=zone, at=at, quiet=quiet)
    assert sent_at.date() == due_day + dt.timedelta(days=days)
    if local_time is not None:
        assert sent_at.time() == local_time
    assert body == text.format(due=due_day)


# -- the wording alone -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_later", "when"),
    [(1, "yesterday"), (2, "on {d:%a}"), (6, "on {d:%a}"), (7, "on {d:%a} {d.day} {d:%b}")],
)
def test_the_due_day_is_said_as_a_person_would(days_later, when):
    zone = "Australia/Sydney"
    due_at = dt.datetime.combine(utcnow().date(), dt.time(20, 0), ZoneInfo(zone))
    applies = dispatcher.AppliesTo(due_at.astimezone(dt.UTC), zone)
    sent = (due_at + dt.timedelta(days=days_later, hours=-12)).astimezone(dt.UTC)
    _, body = dispatcher.application_text("follow_up", applies, sent)
    expected = when.format(d=due_at.date())
    assert body == f"A reminder: your treatment (due {expected}) is still to do. Do it when you can."
    _, same_day = dispatcher.application_text(
        "follow_up", applies, (due_at + dt.timedelta(hours=3)).astimezone(dt.UTC)
    )
    assert same_day == TODAY_FOLLOW_UP


def test_reminders_without_an_application_day_keep_their_texts():
    occ = type("Occ", (), {"id": 7, "kind": "kit_low", "planned_application_id": None})()
    assert dispatcher.payload(occ)["body"] == dispatcher.TEXTS["kit_low"][1]
    due = type("Occ", (), {"id": 8, "kind": "due", "planned_application_id": 3})()
    # Without what it applies to (e.g. a bench's hand-made occurrence): the text true on any day.
    assert dispatcher.payload(due)["body"] == DUE_NOW
