"""Limits on password guesses that count failures, exactly, in Flask-Limiter's storage.

A guess first takes one unit from each of its limits (an increment whose new value the
storage returns atomically: Redis runs it as one script; in memory a lock makes it so),
and is refused when any limit is over. A right password gives its units back, so only
wrong passwords count, and N parallel guesses against a limit of N-1 let exactly N-1
through, whatever the order. A refused guess gives its units back as well: hammering
does not extend a lock-out.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from flask import current_app
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from anagen.extensions import limiter

# MemoryStorage.incr reads the new value back outside its own lock (limits 5.8), so two
# threads could both see the later value; one lock per process makes increment-and-read one step.
_lock = threading.Lock()


def _give_back(keys: list[str]) -> None:
    storage = limiter.storage
    for key in keys:
        # A key that expired meanwhile comes back at -1 for one second, then goes.
        storage.incr(key, 1, amount=-1)


@dataclass
class Reservation:
    """Units taken from limits for one guess: kept for a wrong password, `release`d for a right one."""

    keys: list[str] = field(default_factory=list)

    def release(self) -> None:
        """Give the units back: the password was right, so the guess does not count."""
        with _lock:
            _give_back(self.keys)
        self.keys = []


def reserve(*limits: tuple[str, str]) -> Reservation:
    """Take one unit from each (limit spec, key) pair, e.g. ("5/minute;30/hour", "login:a@b");
    429 with Retry-After, taking nothing, when any of them is spent."""
    reservation = Reservation()
    if not limiter.enabled:
        return reservation
    storage = limiter.storage
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    retry_after = None
    with _lock:
        for spec, key in limits:
            for item in parse_many(spec):
                storage_key = item.key_for(*(prefix, "failures", key) if prefix else ("failures", key))
                reservation.keys.append(storage_key)
                if storage.incr(storage_key, item.get_expiry()) > item.amount:
                    retry_after = max(1, math.ceil(storage.get_expiry(storage_key) - time.time()))
                    break
            if retry_after is not None:
                break
        if retry_after is None:
            return reservation
        _give_back(reservation.keys)
    raise TooManyRequests(retry_after=retry_after)
