"""Plain data in and out of the push sender, and the retry policy (no I/O).

The dispatcher builds `PushMessage`s from its rows and gets `PushResult`s back:
SENT (2xx), GONE (404/410: delete the subscription), RETRY (408/429/5xx, timeouts,
connection errors; `retry_after_s` from the service's Retry-After when it sent one; wait
`backoff_seconds(attempt, retry_after_s)`), CONFIG_ERROR (other statuses and messages that
can never be sent: logged at error level, not retried).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

MAX_ENCRYPTED_BYTES = 4096
MAX_RETRY_AFTER_S = 86400.0
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
_TOPIC_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class Outcome(StrEnum):
    SENT = "sent"  # 2xx (201/202)
    GONE = "gone"  # 404/410: remove the subscription
    RETRY = "retry"  # 408/429/5xx, timeouts, connection errors
    CONFIG_ERROR = "config_error"  # other 4xx/3xx, bad message: fix the setup, not retried


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    endpoint: str
    p256dh: str
    auth: str

    @classmethod
    def from_dict(cls, data: dict) -> SubscriptionInfo:
        """From the browser's `PushSubscription.toJSON()` shape."""
        return cls(data["endpoint"], data["keys"]["p256dh"], data["keys"]["auth"])


@dataclass(frozen=True, slots=True)
class PushMessage:
    occurrence_id: str
    subscription: SubscriptionInfo
    payload: dict  # ids and short text only, never health details
    ttl: int = 12 * 3600
    urgency: str = "normal"
    topic: str | None = None  # None: derived from occurrence_id (see safe_topic)

    def plaintext(self) -> bytes:
        """The payload as it is encrypted: compact JSON in UTF-8 (TypeError or ValueError if
        it is not JSON-serialisable)."""
        return json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class PushResult:
    occurrence_id: str
    outcome: Outcome
    status_code: int | None
    retry_after_s: float | None
    reason: str


def safe_topic(value: str) -> str:
    """A `Topic` header value (RFC 8030 §5.4: ≤ 32 characters of the base64url alphabet).

    A value that already qualifies is used as is; anything else (a UUID has 36 characters)
    becomes the base64url of the first 24 bytes of its SHA-256: exactly 32 characters,
    deterministic, so every retry of one occurrence replaces the previous copy.
    """
    if _TOPIC_SAFE.match(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8")).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from `Retry-After` (delta-seconds or HTTP-date); None if absent or invalid.
    Capped at a day, so that a wild value cannot park a reminder for good."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return min(MAX_RETRY_AFTER_S, max(0.0, when.timestamp() - (time.time() if now is None else now)))


def backoff_seconds(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = 30.0,
    cap: float = 3600.0,
    rng: random.Random | None = None,
) -> float:
    """Delay before retry number `attempt` (1 = first retry): full jitter over
    [0, min(cap, base·2^(attempt-1))], and never less than the service's Retry-After
    (which may exceed `cap`: the push service's word wins over our ceiling)."""
    window = min(cap, base * 2 ** min(max(0, attempt - 1), 40))
    delay = (rng or random).uniform(0.0, window)
    return max(delay, retry_after or 0.0)


def classify(status: int, retry_after: str | None) -> tuple[Outcome, float | None]:
    if 200 <= status < 300:
        return Outcome.SENT, None
    if status in (404, 410):
        return Outcome.GONE, None
    if status in (408, 429) or status >= 500:
        return Outcome.RETRY, parse_retry_after(retry_after)
    return Outcome.CONFIG_ERROR, None
