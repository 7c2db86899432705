"""The dispatcher as its own process: killed mid-batch it loses nothing; and several
dispatchers on one backlog (PostgreSQL) never send the same occurrence twice."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.reminders import bulk_occurrences, patient_with_device, received_payloads

from anagen.clock import utcnow
from anagen.extensions import db
from anagen.models import ReminderOccurrence
from anagen.reminders import dispatcher
from anagen.reminders.subscriptions import make_sender

BACKEND = Path(__file__).resolve().parents[2] / "backend"
LEASE_S = 5  # batches stop sending at half of it: room for a loaded machine


def statuses(ids) -> collections.Counter:
    db.session.expire_all()
    return collections.Counter(
        db.session.scalars(sa.select(ReminderOccurrence.status).where(ReminderOccurrence.id.in_(ids)))
    )


def dispatcher_process(database_url, instance_dir, *args) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ANAGEN_INSTANCE_PATH": str(instance_dir),
        "PUSH_ALLOW_HTTP": "1",
        "DISPATCH_LEASE_SECONDS": str(LEASE_S),
        "PUSH_SENDER_PROCESSES": "1",  # the default on 2+ cores: encryption + HTTP in a worker
        # Extend, not replace: `make test-dates` puts its sleep shim on the path (tests/support/faketime).
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BACKEND), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "anagen", "dispatcher", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def children_of(pid: int) -> set[int]:
    """Processes whose parent is `pid` (the dispatcher's sender workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_dispatcher_killed_mid_batch_loses_nothing(
    push_app, clinic, push_service, database_url, instance_dir
):
    courses = [patient_with_device(clinic, push_service)[1] for _ in range(8)]
    ids = bulk_occurrences(courses, 200)
    # A slow push service: each answer takes 0.5 s, so a batch of 100 takes seconds.
    push_service.set_behaviour(hang_seconds=0.5)
    proc = dispatcher_process(database_url, instance_dir, "--interval", "1", "--batch-size", "100")
    try:
        wait_for(lambda: len(push_service.received) >= 10 or proc.poll() is not None, 60, "the first pushes")
        assert proc.poll() is None, proc.communicate()[0]
        workers = children_of(proc.pid)
        assert workers, "the dispatcher should have a sender worker process"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    # Its sender worker process sees the pipe close and exits: nothing is left sending for a
    # dead dispatcher.
    wait_for(lambda: not any(alive(pid) for pid in workers), 15, "the sender workers to exit")
    at_kill = statuses(ids)
    assert at_kill["claimed"] > 0 and at_kill["sent"] == 0, at_kill  # it died mid-batch
    assert len(push_service.received) < len(ids)
    push_service.set_behaviour(hang_seconds=None)

    # A new dispatcher after the dead one's leases ran out.
    leases = db.session.scalar(
        sa.select(sa.func.max(ReminderOccurrence.lease_until)).where(ReminderOccurrence.id.in_(ids))
    )
    time.sleep(max(0.0, (leases - utcnow()).total_seconds()) + 0.2)
    restarted = dispatcher_process(database_url, instance_dir, "--once", "--batch-size", "100")
    output = restarted.communicate(timeout=60)[0]
    assert restarted.returncode == 0, output

    assert statuses(ids) == {"sent": len(ids)}  # none lost
    payloads = received_payloads(push_service)
    received_ids = [int(p["id"]) for p in payloads]
    assert set(received_ids) == set(ids)  # every received payload is one of them, all arrived
    # Repeats (the pushes in flight when it died) carry the same Topic, and the service
    # worker uses the occurrence id as the notification tag: one notification each.
    topics = collections.defaultdict(set)
    for rec, payload in zip([r for r in push_service.received if r.status == 201], payloads, strict=True):
        topics[payload["id"]].add(rec.headers["topic"])
    assert all(t == {occ_id} for occ_id, t in topics.items())
    assert push_service.verify_all()["invalid"] == 0


@pytest.fixture
def dispatchers(is_postgres) -> int:
    """Two concurrent dispatchers on PostgreSQL; SQLite supports one (SPEC §3)."""
    return 2 if is_postgres else 1


@pytest.mark.postgres_only
def test_concurrent_dispatchers_never_send_an_occurrence_twice(push_app, clinic, push_service, dispatchers):
    courses = [patient_with_device(clinic, push_service)[1] for _ in range(20)]
    ids = bulk_occurrences(courses, 2000)
    db.session.remove()
    start = threading.Barrier(dispatchers)
    results: list = [None] * dispatchers

    def run(n: int) -> None:
        with push_app.app_context(), make_sender(push_app, timeout=(2.0, 5.0)) as sender:
            start.wait()
            try:
                results[n] = dispatcher.dispatch_until_idle(sender, batch_size=50)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(dispatchers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in results), "a dispatcher failed"
    counts = collections.Counter(int(p["id"]) for p in received_payloads(push_service))
    assert len(push_service.received) == len(ids)
    assert set(counts) == set(ids) and max(counts.values()) == 1  # each sent exactly once
    assert sum(r.claimed for r in results) == len(ids)
    assert all(r.claimed > 0 for r in results), [r.claimed for r in results]  # both took part
    assert statuses(ids) == {"sent": len(ids)}


def test_sigterm_finishes_and_records_the_batch_in_flight(
    push_app, clinic, push_service, database_url, instance_dir
):
    courses = [patient_with_device(clinic, push_service)[1] for _ in range(4)]
    ids = bulk_occurrences(courses, 120)
    push_service.set_behaviour(hang_seconds=1.0)  # each answer takes a second: a batch is in flight
    proc = dispatcher_process(database_url, instance_dir, "--interval", "1", "--batch-size", "40")
    try:
        wait_for(lambda: len(push_service.received) >= 5 or proc.poll() is not None, 60, "the first pushes")
        assert proc.poll() is None, proc.communicate()[0]
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, output
    assert "dispatcher stopped" in output
    after = statuses(ids)
    assert after["claimed"] == 0, after  # nothing left for a lease to run out
    assert after["sent"] > 0
    assert after["sent"] + after["pending"] == len(ids)  # the rest waits for the next start
    # What was recorded as sent did arrive (a request cut off at the batch deadline may have
    # arrived too: it is pending, and its repeat replaces it on the device).
    arrived = {int(p["id"]) for p in received_payloads(push_service)}
    db.session.expire_all()
    sent = set(
        db.session.scalars(
            sa.select(ReminderOccurrence.id).where(
                ReminderOccurrence.id.in_(ids), ReminderOccurrence.status == "sent"
            )
        )
    )
    assert sent and sent <= arrived
