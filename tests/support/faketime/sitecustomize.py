"""Loaded (via PYTHONPATH) only by `make test-dates`, which runs the suite under Debian's libfaketime.

libfaketime can fake the monotonic clock or not: faked, every timed wait on a lock or condition never
returns; not faked, its clock_nanosleep() answers CPython's absolute monotonic `time.sleep()` with
EINVAL. The runs therefore leave the monotonic clock real and sleep with select(), which it passes
through unchanged. Nothing here is imported outside such a run.
"""

import os

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    import select
    import time

    def _sleep(seconds: float) -> None:
        if seconds > 0:
            select.select([], [], [], seconds)

    time.sleep = _sleep
