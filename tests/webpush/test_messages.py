"""Retry policy and header helpers of the push sender (no I/O)."""

from __future__ import annotations

import datetime as dt
import random
import re
from email.utils import format_datetime

import pytest

from anagen.webpush.messages import Outcome, backoff_seconds, classify, parse_retry_after, safe_topic


def test_topic_is_short_urlsafe_and_stable():
    uuid_like = "0193a5c2-7d4e-7000-8000-1234567890ab"
    topic = safe_topic(uuid_like)
    assert len(topic) == 32 and re.fullmatch(r"[A-Za-z0-9_-]+", topic)
    assert safe_topic(uuid_like) == topic != safe_topic(uuid_like[:-1] + "c")
    assert safe_topic("occ-42") == "occ-42"  # already safe and short: used as is
    assert len(safe_topic("ä" * 5)) == 32


def test_backoff_is_exponential_with_full_jitter_and_capped():
    rng = random.Random(7)
    for attempt in range(1, 12):
        window = min(3600, 30 * 2 ** (attempt - 1))
        delays = [backoff_seconds(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= d <= window for d in delays)
        assert max(delays) > window * 0.8  # full jitter spans the window
    assert max(backoff_seconds(50, rng=rng) for _ in range(200)) <= 3600


def test_backoff_never_undercuts_retry_after():
    rng = random.Random(1)
    assert all(backoff_seconds(1, 120, rng=rng) >= 120 for _ in range(100))
    assert backoff_seconds(3, 7200, rng=rng) == 7200  # the service's word beats our cap
    assert backoff_seconds(1, None, base=10, cap=5, rng=rng) <= 5


def test_parse_retry_after():
    now = 1_800_000_000.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = format_datetime(dt.datetime.fromtimestamp(now + 90, dt.UTC), usegmt=True)
    assert parse_retry_after(date, now=now) == 90.0
    past = format_datetime(dt.datetime.fromtimestamp(now - 90, dt.UTC), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (201, Outcome.SENT),
        (202, Outcome.SENT),
        (404, Outcome.GONE),
        (410, Outcome.GONE),
        (408, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
        (301, Outcome.CONFIG_ERROR),
        (400, Outcome.CONFIG_ERROR),
        (401, Outcome.CONFIG_ERROR),
        (403, Outcome.CONFIG_ERROR),
        (413, Outcome.CONFIG_ERROR),
    ],
)
def test_classify(status, outcome):
    assert classify(status, "5")[0] is outcome


def test_wild_values_are_bounded():
    assert parse_retry_after("9" * 400) == 86400.0
    assert backoff_seconds(10_000, rng=random.Random(3)) <= 3600
