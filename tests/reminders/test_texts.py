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


def test_a_follow_up_the_same_evening_says_today(clinic, push_service, sender):
    text, due_day, sent_at = sent_text(
        clinic,
        push_service,
        sender,
        "follow_up",
        zone="Europe/London",
        at=dt.time(17, 0),
        quiet=DEFAULT_QUIET_HOURS,
    )
    assert (sent_at.date(), sent_at.time()) == (due_day, dt.time(21, 0))
    assert text == TODAY_FOLLOW_UP


def test_a_follow_up_held_back_to_the_morning_says_when_it_was_due(clinic, push_service, sender):
    text, due_day, sent_at = sent_text(
        clinic,
        push_service,
        sender,
        "follow_up",
        zone="Europe/London",
        at=dt.time(20, 0),
        quiet=DEFAULT_QUIET_HOURS,
    )
    assert (sent_at.date(), sent_at.time()) == (due_day + dt.timedelta(days=1), dt.time(8, 0))
    assert text == "A reminder: your treatment (due yesterday) is still to do. Do it when you can."


def test_a_midnight_follow_up_without_quiet_hours_does_not_say_today(clinic, push_service, sender):
    text, due_day, sent_at = sent_text(
        clinic, push_service, sender, "follow_up", zone="Europe/London", at=dt.time(20, 0)
    )
    assert (sent_at.date(), sent_at.time()) == (due_day + dt.timedelta(days=1), dt.time(0, 0))
    assert text == "A reminder: your treatment (due yesterday) is still to do. Do it when you can."


def test_across_local_midnight_far_east_of_utc_the_day_is_the_patients(clinic, push_service, sender):
    # UTC+14: due at 06:00 UTC, the follow-up at 10:00 UTC the same UTC day, but the next local day.
    text, due_day, sent_at = sent_text(
        clinic, push_service, sender, "follow_up", zone="Pacific/Kiritimati", at=dt.time(20, 0)
    )
    assert sent_at.date() == due_day + dt.timedelta(days=1)
    assert text == "A reminder: your treatment (due yesterday) is still to do. Do it when you can."


def test_across_utc_midnight_far_west_of_utc_the_day_is_the_patients(clinic, push_service, sender):
    # UTC-10: due at 23:00 UTC, the follow-up at 03:00 UTC the next UTC day, the same local day.
    text, due_day, sent_at = sent_text(
        clinic, push_service, sender, "follow_up", zone="Pacific/Honolulu", at=dt.time(13, 0)
    )
    assert (sent_at.date(), sent_at.time()) == (due_day, dt.time(17, 0))
    assert text == TODAY_FOLLOW_UP


def test_the_due_reminder_on_its_day_says_now(clinic, push_service, sender):
    text, due_day, sent_at = sent_text(
        clinic,
        push_service,
        sender,
        "due",
        zone="Europe/London",
        at=dt.time(20, 0),
        quiet=DEFAULT_QUIET_HOURS,
    )
    assert sent_at.date() == due_day
    assert text == DUE_NOW


def test_a_due_reminder_held_back_past_midnight_says_when_it_was_due(clinic, push_service, sender):
    text, due_day, sent_at = sent_text(
        clinic,
        push_service,
        sender,
        "due",
        zone="Europe/London",
        at=dt.time(22, 0),
        quiet=DEFAULT_QUIET_HOURS,
    )
    assert (sent_at.date(), sent_at.time()) == (due_day + dt.timedelta(days=1), dt.time(8, 0))
    assert text == "Your treatment (due yesterday) is still to do. Tap to start."


def test_the_missed_notice_names_the_day_it_was_due(clinic, push_service, sender):
    text, due_day, sent_at = sent_text(
        clinic,
        push_service,
        sender,
        "missed",
        zone="Europe/London",
        at=dt.time(20, 0),
        quiet=DEFAULT_QUIET_HOURS,
    )
    assert (sent_at.date(), sent_at.time()) == (due_day + dt.timedelta(days=2), dt.time(9, 0))
    assert text == f"You missed a treatment (due on {due_day:%a}). Do it as soon as you can."


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
