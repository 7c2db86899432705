"""The clinic dashboard (issue 12): a clinic of `--patients` patients with full courses behind the
real server on loopback; a signed-in clinician asks for the dashboard over and over. Prints ONE
JSON line: patients, dashboard_p50_ms, dashboard_p99_ms, queries_per_request.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/dashboard.py
    DATABASE_URL=... .venv/bin/python bench/dashboard.py --patients 50
    .venv/bin/python bench/dashboard.py                     # SQLite (a temporary file)

On PostgreSQL a scratch database `anagen_bench_<random>` is created on the server of
DATABASE_URL (bench/dispatch.py's ScratchDatabase) and dropped afterwards; the schema comes
from the real migrations. The clinic is built by tests/support/clinics.py's `bulk_patients`:
one patient enrolled through the enrolment service, the others copies of that course, each
`--weeks-in` weeks into the 12 (every planned application there, the ones due done or missed,
check-ins, kits, devices, invites), in every dashboard state in turn. Then VACUUM ANALYZE, as
autovacuum keeps a live database's statistics.

What is timed: `--requests` GETs of /api/clinic/dashboard (25 rows a page; the sorts, a flag
filter and a search in turn, pages 1 to 3), one after the other on one keep-alive connection,
from sending the request to the last byte of the answer, after `--warmup` untimed ones. The
server is werkzeug's threaded server in this process (tests/support/server.py `serving`, like
`make run`'s one worker); it includes session loading, the access check, the SQL, JSON.
`queries_per_request`: the statements the server sent to the database for one dashboard
request (a listener on the app's engine), the same whatever the clinic's size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend"), str(ROOT / "tests"), str(ROOT / "bench")]

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402

QUERIES = (
    "sort=flags",
    "sort=name",
    "sort=adherence",
    "sort=next&order=asc",
    "sort=last&order=desc",
    "sort=week",
    "flag=two_misses",
    "q=bulk1",
)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--patients", type=int, default=500)
    p.add_argument("--weeks-in", type=int, default=7, help="how far into the course the patients are")
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    return p.parse_args()


def populate(app, patients: int, weeks_in: int) -> str:
    """The clinic and a clinician; returns the clinician's email."""
    from support.clinics import bulk_patients
    from support.factories import make_clinic, make_staff

    from anagen.extensions import db

    with app.app_context():
        clinic, _admin = make_clinic("Bench clinic")
        bulk_patients(clinic, patients, weeks_in=weeks_in)
        clinician = make_staff(clinic)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        return clinician.email


def sign_in(base: str, email: str) -> requests.Session:
    from support.factories import PASSWORD

    http = requests.Session()
    csrf = http.get(f"{base}/api/auth/session", timeout=10).json()["csrf_token"]
    response = http.post(
        f"{base}/api/auth/login",
        json={"email": email, "password": PASSWORD, "account": "staff"},
        headers={"X-CSRF-Token": csrf},
        timeout=10,
    )
    response.raise_for_status()
    return http


def url(base: str, i: int) -> str:
    return f"{base}/api/clinic/dashboard?{QUERIES[i % len(QUERIES)]}&page={1 + (i // len(QUERIES)) % 3}"


def main() -> None:
    args = parse_args()
    from dispatch import ScratchDatabase, build_app, percentile
    from support.queries import statements_of
    from support.server import serving

    from anagen.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        scratch = ScratchDatabase(args.database_url, Path(tmp))
        try:
            app = build_app(scratch.url, Path(tmp), PUBLIC_BASE_URL="http://127.0.0.1")
            email = populate(app, args.patients, args.weeks_in)
            with serving(app) as base:
                http = sign_in(base, email)
                responses: list[requests.Response] = []
                for i in range(args.warmup):
                    http.get(url(base, i), timeout=30).raise_for_status()
                with app.app_context():  # the statements the server sends for one request
                    statements = statements_of(lambda: responses.append(http.get(url(base, 0), timeout=30)))
                body = responses[0]
                body.raise_for_status()
                assert body.json()["total"] == args.patients, body.json()["total"]
                timings = []
                for i in range(args.requests):
                    started = time.perf_counter()
                    response = http.get(url(base, i), timeout=30)
                    response.content  # noqa: B018 (the whole answer is read)
                    timings.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
            with app.app_context():
                db.engine.dispose()
        finally:
            scratch.drop()
    p99 = percentile(timings, 0.99)
    print(
        json.dumps(
            {
                "patients": args.patients,
                "dashboard_p50_ms": round(statistics.median(timings), 1),
                "dashboard_p99_ms": round(p99, 1),
                "queries_per_request": len(statements),
            }
        )
    )


if __name__ == "__main__":
    main()
