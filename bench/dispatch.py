"""Reminder dispatch (SPEC §6): 10,000 reminders due at once, delivered to a local push
service, against the encryption-only rate on one core and a naive `pywebpush.webpush()`
loop, measured side by side in one run. Prints ONE JSON line.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/dispatch.py
    .venv/bin/python bench/dispatch.py                     # SQLite (a temporary file)

On PostgreSQL a scratch database `anagen_bench_<random>` is created on the server of
DATABASE_URL and dropped afterwards; the schema comes from the real migrations (an app
built with that URL runs `flask_migrate.upgrade`). 500 patients are enrolled through the
enrolment service, each with one subscription at the push service, and the 10,000
occurrences (planned applications' reminders) are bulk-inserted, by the test helpers of
tests/support (factories.py, reminders.py).

What is timed: from the instant every occurrence became due (one UPDATE sets `due_at` of
all to that instant) until `dispatch_until_idle(make_sender(app), batch_size=500)` returns:
claims, payloads, encryption, VAPID, HTTP and the status updates. The app has the
dispatcher process's settings (PUSH_SENDER_PROCESSES: its default, two sender worker
processes per core up to 8, webpush/workers.py; `--sender-processes 0` for everything in one
process), and the sender is made before the clock starts, as the dispatcher process makes
it once at start-up (its worker processes start cold: no connection, VAPID header or
subscription key cached). Before each run the tables get VACUUM ANALYZE, as autovacuum
keeps a live table (without it every run also wades through the previous runs' dead rows).

After the clock stops, every request the push service recorded is checked (VAPID, TTL,
encoding) and decrypted, and the decrypted ids are compared with the occurrences: `lost`
(never delivered, or an unknown id), `duplicates` (delivered more than once), `invalid`
(refused checks, undecryptable, Topic not the occurrence id, or other payload keys).
`p99_lateness_s`: arrival at the push service minus the instant all were due
(CLOCK_MONOTONIC is system-wide, so comparable across processes).

The push service runs in its own process by default (`--push-service process`, via
`PushService.spawn()`): a real push service does not share the sender's CPU or GIL. With
`--push-service thread` it runs in this process, where it also slows the naive loop (same
GIL), which flatters ratio_vs_naive: the process row is the fair one.

`--rtt-ms 100` makes the push service answer each request 100 ms after it arrived (real push
services are 50-150 ms away, not on loopback): the sender must keep enough requests in
flight. `--transport aiohttp` runs the same sender on aiohttp's client
(webpush/aiohttp_pool.py) instead of the hand-written one (webpush/pool.py). Both are
printed back (`rtt_ms`, `transport`).

Baselines, on the same messages:
- crypto_only_rate_per_s: `sender.encrypt_only(msg)` in one thread of an in-process sender
  (webpush/ece.py: aes128gcm with a fresh ephemeral key per message, each subscription's
  keys decoded once, as the sender does; VAPID is not part of it: the sender caches it per
  origin);
- ece_direct_rate_per_s: `http_ece.encrypt` called directly on the same messages, with each
  receiver key parsed once, and pywebpush_encode_rate_per_s: pywebpush's
  `WebPusher.encode`, one `WebPusher` per subscription (the sender's encoder before
  ece.py): `encode_vs_ece_direct` and `encode_vs_pywebpush` are how much faster the
  sender's encryption is than each library's;
- naive_rate_per_s: `pywebpush.webpush()` per message for the first `--naive` messages
  (no shared session, VAPID signed per call, a fresh claims dict per call), each
  checked for 201.

The measurements run side by side `--repeat` times (default 3) and the medians are
reported (the rate of the median run; p99 lateness of the worst run), with every run's
rates: the machine may be shared, and one run can be caught by someone else's load.
`cpu_s` is where the median run's CPU went (this process, the sender workers, the push
service, all postgres processes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "tests")]

import sqlalchemy as sa  # noqa: E402

SUBJECT = "mailto:bench@anagen.example"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10_000, help="occurrences due at once")
    p.add_argument("--patients", type=int, default=500, help="patients, one subscription each")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument(
        "--naive",
        type=int,
        default=None,
        help="messages in the naive pywebpush loop (default 500; 50 with --rtt-ms, as each waits the RTT)",
    )
    p.add_argument("--crypto", type=int, default=0, help="messages in the crypto-only loop (0: all n)")
    p.add_argument("--push-service", choices=("process", "thread"), default="process")
    p.add_argument(
        "--rtt-ms",
        type=float,
        default=0,
        help="the push service answers each request this many ms after it arrived (real ones: 50-150 ms)",
    )
    p.add_argument(
        "--transport",
        choices=("native", "aiohttp"),
        default="native",
        help="the sender's HTTP client: hand-written (webpush/pool.py) or aiohttp (webpush/aiohttp_pool.py)",
    )
    p.add_argument(
        "--sender-processes",
        type=int,
        default=None,
        help="PUSH_SENDER_PROCESSES of the app (default: the dispatcher process's default)",
    )
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    p.add_argument("--repeat", type=int, default=3, help="runs of the three measurements (medians)")
    p.add_argument("--profile", action="store_true", help="cProfile the timed part (to stderr)")
    return p.parse_args()


# -- database --------------------------------------------------------------------------------


class ScratchDatabase:
    """A fresh database for the run: a temporary SQLite file, or `anagen_bench_<random>` on
    the PostgreSQL server of the given URL (dropped on exit)."""

    def __init__(self, url: str, tmp: Path) -> None:
        from anagen.config import normalise_database_url

        self.admin = None
        if not url or url.startswith("sqlite"):
            self.kind = "sqlite"
            self.url = f"sqlite:///{tmp / 'bench.sqlite3'}"
            return
        self.kind = "postgresql"
        server = sa.engine.make_url(normalise_database_url(url))
        self.name = f"anagen_bench_{uuid.uuid4().hex[:12]}"
        self.admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = server.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        if self.admin is None:
            return
        with self.admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": self.name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}"'))
        self.admin.dispose()


def build_app(database_url: str, instance: Path, **config):
    """The app on `database_url`, its schema made by the migrations (and `config` on top)."""
    from flask_migrate import upgrade

    from anagen import create_app
    from anagen.course.protocols import ensure_builtin_protocols
    from anagen.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "bench-secret-key",
            **config,
        }
    )
    with app.app_context():
        upgrade()
        ensure_builtin_protocols()
        db.session.commit()
    return app


def populate(svc, n_patients: int, n_occurrences: int) -> list[int]:
    """Patients enrolled through the enrolment service, each with one device subscribed at
    the push service, and the occurrences (bulk-inserted), not yet due: the test helpers of
    tests/support. Returns the occurrence ids."""
    from support.factories import make_clinic
    from support.reminders import bulk_occurrences, patient_with_device

    from anagen.clock import utcnow

    clinic, _admin = make_clinic("Bench clinic")
    courses = [patient_with_device(clinic, svc, password=None)[1] for _ in range(n_patients)]
    return bulk_occurrences(courses, n_occurrences, due_at=utcnow() + dt.timedelta(days=1))


# -- measurements ----------------------------------------------------------------------------


def messages_for(ids: list[int]):
    """The PushMessages the dispatcher builds for these occurrences (for the baselines)."""
    from anagen.extensions import db
    from anagen.models import PushSubscription, ReminderOccurrence
    from anagen.reminders import dispatcher

    subs = {s.patient_id: [s] for s in db.session.scalars(sa.select(PushSubscription))}
    occs = {o.id: o for o in db.session.scalars(sa.select(ReminderOccurrence))}
    return [msg for msg, _sub in dispatcher.messages([occs[i] for i in ids], subs)]


def crypto_only_rate(app, msgs) -> float:
    from anagen.reminders.subscriptions import make_sender

    with make_sender(app, processes=0) as sender:  # in this process: one core
        start = time.perf_counter()
        for msg in msgs:
            sender.encrypt_only(msg)
        return len(msgs) / (time.perf_counter() - start)


def library_rate(msgs, prepare, encrypt) -> float:
    """Messages per second of `encrypt(prepare(subscription), plaintext)`, the plaintext made as
    the sender makes it: `prepare` runs once per subscription before the clock starts (its
    receiver key parsed once, as the sender does)."""
    prepared = {}
    for msg in msgs:
        if msg.subscription not in prepared:
            prepared[msg.subscription] = prepare(msg.subscription)
    start = time.perf_counter()
    for msg in msgs:
        encrypt(prepared[msg.subscription], msg.plaintext())
    return len(msgs) / (time.perf_counter() - start)


def ece_direct_rate(msgs) -> float:
    """`http_ece.encrypt` called directly."""
    import http_ece
    from cryptography.hazmat.primitives.asymmetric import ec

    from anagen.webpush.ece import Receiver

    return library_rate(
        msgs,
        lambda sub: Receiver.from_subscription(sub.p256dh, sub.auth),
        lambda receiver, plaintext: http_ece.encrypt(
            plaintext,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=receiver.public_key,
            auth_secret=receiver.auth,
            version="aes128gcm",
        ),
    )


def library_encode_rate(msgs) -> float:
    """pywebpush's `WebPusher(subscription).encode(data, "aes128gcm")`, one `WebPusher` per
    subscription with its receiver key parsed once (the sender's encryption before ece.py)."""
    from pywebpush import WebPusher

    from anagen.webpush.ece import Receiver

    def prepare(sub):
        pusher = WebPusher({"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}})
        pusher.receiver_key = Receiver.from_subscription(sub.p256dh, sub.auth).public_key
        return pusher

    return library_rate(msgs, prepare, lambda pusher, plaintext: pusher.encode(plaintext, "aes128gcm"))


def naive_rate(app, msgs) -> float:
    import pywebpush
    from py_vapid import Vapid02

    from anagen.reminders.subscriptions import vapid_keys

    vapid = Vapid02(private_key=vapid_keys(app).private_key)
    start = time.perf_counter()
    for msg in msgs:
        sub = msg.subscription
        response = pywebpush.webpush(
            {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
            json.dumps(msg.payload, separators=(",", ":")),
            vapid_private_key=vapid,
            vapid_claims={"sub": SUBJECT},  # a fresh dict: webpush() mutates it
            timeout=10,
            ttl=msg.ttl,
            headers={"Urgency": msg.urgency, "Topic": msg.topic},
        )
        if response.status_code != 201:
            raise RuntimeError(f"naive push answered {response.status_code}")
    return len(msgs) / (time.perf_counter() - start)


def cpu_seconds(push_pid: int | None) -> dict[str, float]:
    """CPU time so far (Linux /proc) of the dispatcher (this process), its sender worker
    processes, the push-service process and all postgres processes (the server is shared:
    other users' queries count too), to see where a run's CPU went."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {"dispatcher": 0.0, "sender_workers": 0.0, "push_service": 0.0, "postgres": 0.0}
    children = {p.pid for p in multiprocessing.active_children()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        pid = int(entry.name)
        if pid == push_pid:
            out["push_service"] += used
        elif pid == os.getpid():
            out["dispatcher"] += used
        elif pid in children:
            out["sender_workers"] += used
        elif comm.startswith("postgres"):
            out["postgres"] += used
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def dispatch_run(app, svc, ids: list[int], args, push_pid: int | None) -> dict:
    """One timed run: every occurrence pending and due at one instant, then
    `dispatch_until_idle(make_sender(app), batch_size)`; verified after the clock stops."""
    from anagen.clock import utcnow
    from anagen.extensions import db
    from anagen.models import ReminderOccurrence
    from anagen.reminders.dispatcher import dispatch_until_idle
    from anagen.reminders.subscriptions import make_sender

    db.session.execute(
        sa.update(ReminderOccurrence).values(
            status="pending",
            attempts=0,
            lease_until=None,
            sent_at=None,
            last_error=None,
            due_at=utcnow() + dt.timedelta(days=1),
        )
    )
    db.session.commit()
    db.session.remove()
    # A live table is kept in shape by autovacuum between bursts; without this, each run
    # would also wade through the dead row versions of the runs before it.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("reminder_occurrence", "push_subscription", "planned_application"):
            conn.exec_driver_sql(
                f"VACUUM ANALYZE {table}" if conn.dialect.name == "postgresql" else "ANALYZE"
            )
    svc.clear()
    # The sender exists before the reminders fall due, as in the dispatcher process (which
    # makes it once at start-up).
    with make_sender(app, transport=args.transport) as sender:
        cpu0 = cpu_seconds(push_pid)
        due = utcnow()
        t0 = time.monotonic()  # the clock starts when all become due
        db.session.execute(sa.update(ReminderOccurrence).values(due_at=due))
        db.session.commit()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            stats = profiler.runcall(dispatch_until_idle, sender, batch_size=args.batch_size)
        else:
            stats = dispatch_until_idle(sender, batch_size=args.batch_size)
        seconds = time.monotonic() - t0
        cpu = {k: round(v - cpu0[k], 2) for k, v in cpu_seconds(push_pid).items()}
    if args.profile:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    db.session.remove()

    received = svc.received
    verdict = svc.verify_all()  # VAPID, headers and decryption of every request
    delivered: list[int] = []
    mismatched = 0
    for rec in received:
        payload = json.loads(svc.decrypt(rec))
        delivered.append(int(payload["id"]))
        mismatched += rec.headers.get("topic") != payload["id"] or set(payload) != PAYLOAD_KEYS
    lateness = [rec.arrived - t0 for rec in received]
    sent_rows = db.session.scalar(
        sa.select(sa.func.count()).select_from(ReminderOccurrence).where(ReminderOccurrence.status == "sent")
    )
    db.session.remove()
    expected = set(ids)
    return {
        "sent": stats.sent,
        "sent_rows": sent_rows,
        "lost": len(expected - set(delivered)),
        "unknown": len(set(delivered) - expected),
        "duplicates": len(delivered) - len(set(delivered)),
        "invalid": verdict["invalid"] + mismatched,
        "seconds": seconds,
        "rate": len(expected & set(delivered)) / seconds,
        "p50_lateness_s": statistics.median(lateness) if lateness else float("nan"),
        "p99_lateness_s": percentile(lateness, 0.99),
        "cpu_s": cpu,
    }


PAYLOAD_KEYS = {"id", "kind", "title", "body", "url", "snooze"}


def main() -> None:
    args = parse_args()
    if args.naive is None:
        args.naive = 50 if args.rtt_ms else 500
    if args.sender_processes is None:
        from anagen.webpush.workers import default_sender_processes

        args.sender_processes = default_sender_processes()
    from support.pushservice import PushService

    from anagen.extensions import db

    tmp = Path(tempfile.mkdtemp(prefix="anagen-bench-"))
    database = ScratchDatabase(args.database_url, tmp)
    if args.push_service == "process":
        svc = PushService.spawn(defer_checks=True, rtt_ms=args.rtt_ms)
    else:
        svc = PushService.start(defer_checks=True, rtt_ms=args.rtt_ms)
    push_pid = getattr(getattr(svc, "_proc", None), "pid", None)  # None: in this process
    try:
        app = build_app(
            database.url,
            tmp / "instance",
            VAPID_SUBJECT=SUBJECT,
            PUSH_ALLOW_HTTP=True,
            PUSH_SENDER_PROCESSES=args.sender_processes,
        )
        with app.app_context():
            ids = populate(svc, args.patients, args.n)
            msgs = messages_for(ids)
            db.session.remove()
            runs, crypto, ece, library, naive = [], [], [], [], []
            # The three measurements side by side, `--repeat` times (the medians are reported:
            # the machine is shared, and one run can be caught by someone else's load).
            for _ in range(args.repeat):
                runs.append(dispatch_run(app, svc, ids, args, push_pid))
                crypto.append(crypto_only_rate(app, msgs[: args.crypto or len(msgs)]))
                ece.append(ece_direct_rate(msgs[: args.crypto or len(msgs)]))
                library.append(library_encode_rate(msgs[: args.crypto or len(msgs)]))
                svc.clear()
                naive.append(naive_rate(app, msgs[: args.naive]))
                naive_invalid = svc.verify_all()["invalid"]
                runs[-1]["invalid"] += naive_invalid
    finally:
        svc.stop()
        database.drop()
    median_run = sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]
    rate, crypto_rate, naive_rate_ = median_run["rate"], statistics.median(crypto), statistics.median(naive)
    print(
        json.dumps(
            {
                "bench": "reminder_dispatch",
                "database": database.kind,
                "push_service": args.push_service,
                "transport": args.transport,
                "rtt_ms": args.rtt_ms,
                "sender_processes": args.sender_processes,
                "n": args.n,
                "patients": args.patients,
                "batch_size": args.batch_size,
                "repeat": args.repeat,
                "sent": min(r["sent"] for r in runs),
                "sent_rows": min(r["sent_rows"] for r in runs),
                "lost": max(r["lost"] + r["unknown"] for r in runs),
                "duplicates": max(r["duplicates"] for r in runs),
                "invalid": max(r["invalid"] for r in runs),
                "seconds": round(median_run["seconds"], 3),
                "rate_per_s": round(rate),
                "crypto_only_rate_per_s": round(crypto_rate),
                "ece_direct_rate_per_s": round(statistics.median(ece)),
                "encode_vs_ece_direct": round(crypto_rate / statistics.median(ece), 3),
                "pywebpush_encode_rate_per_s": round(statistics.median(library)),
                "encode_vs_pywebpush": round(crypto_rate / statistics.median(library), 3),
                "naive_rate_per_s": round(naive_rate_),
                "ratio_vs_crypto": round(rate / crypto_rate, 3),
                "ratio_vs_naive": round(rate / naive_rate_, 2),
                "p50_lateness_s": round(median_run["p50_lateness_s"], 3),
                "p99_lateness_s": round(max(r["p99_lateness_s"] for r in runs), 3),
                "runs_rate_per_s": [round(r["rate"]) for r in runs],
                "runs_crypto_only_rate_per_s": [round(c) for c in crypto],
                "runs_ece_direct_rate_per_s": [round(e) for e in ece],
                "runs_pywebpush_encode_rate_per_s": [round(e) for e in library],
                "runs_naive_rate_per_s": [round(n) for n in naive],
                "cpu_s": median_run["cpu_s"],
                "nproc": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
