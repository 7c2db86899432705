"""Exactly-once handling of retried requests that carry an Idempotency-Key.

The PWA's offline outbox replays requests until it sees an answer, so the same
completion may arrive several times. The first one is recorded; a replay gets the
first answer back; the same key with a different body is refused.

A request claims its key (a row with no answer yet) in a transaction of its own before
it does the work. A duplicate arriving meanwhile gets 409 `request_in_progress`. A claim
is a lease of `CLAIM_LEASE`: a claim older than that belongs to a request that died
(a killed worker), and the next retry takes it over instead of waiting for ever. The
answer is stored only while the claim is still the same one (its `created_at` is the
fencing token), so a request that outlived its lease never overwrites the answer of the
one that took over: its work is rolled back and it answers with the stored answer.

Which answers are stored as the key's answer (replayed for ever):
- every success;
- the refusals in `FINAL_REFUSALS`, which no retry could ever change: the application is
  already recorded, the course has ended, the body itself is invalid.
Every other refusal releases the key, so a retry is judged afresh: those depend on the
moment or on other requests, e.g. `completed_in_future` (the phone's clock was ahead of
ours), `too_soon`, `not_next_application` (an earlier one is still on its way) or
`no_course`. A refusal does no work, so judging a retry again is always safe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from anagen.clock import utcnow
from anagen.course.protocols import insert_ignoring_duplicates
from anagen.errors import AnagenError, Conflict, InvalidInput
from anagen.extensions import db
from anagen.models import IdempotencyRecord

MAX_KEY_LENGTH = 100
# How long a claimed key waits for its request's answer before a retry may take it over.
# A completion takes milliseconds; a request still running after this has died or hung.
CLAIM_LEASE = dt.timedelta(seconds=30)
FINAL_REFUSALS = frozenset({"already_recorded", "course_ended", "invalid_input"})


def request_fingerprint(method: str, path: str, body: object) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _in_progress() -> Conflict:
    return Conflict("The same request is being handled. Try again in a moment.", code="request_in_progress")


def _record(scope: str, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        sa.select(IdempotencyRecord)
        .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        .execution_options(populate_existing=True)
    )


@dataclass(frozen=True)
class _Claim:
    id: int
    token: dt.datetime  # the claim's created_at: the fencing token of this request's lease


def _claim(scope: str, key: str, fingerprint: str) -> _Claim | tuple[int, dict]:
    """Claim the key (committed), or the stored (status, body) when it has its answer."""
    now = utcnow()
    claimed = db.session.scalar(
        insert_ignoring_duplicates(IdempotencyRecord)
        .values(scope=scope, key=key, request_hash=fingerprint, created_at=now)
        .returning(IdempotencyRecord.id)
    )
    if claimed is None:
        record = _record(scope, key)
        if record is None:  # answered and purged in between: claim it afresh
            db.session.commit()
            return _claim(scope, key, fingerprint)
        if record.request_hash != fingerprint:
            db.session.commit()
            raise InvalidInput(
                "This request key was already used for different data.",
                {"Idempotency-Key": "Reused"},
                code="idempotency_key_reused",
            )
        if record.status_code is not None:
            answer = record.status_code, record.response_body
            db.session.commit()
            return answer
        taken = db.session.execute(
            sa.update(IdempotencyRecord)
            .where(
                IdempotencyRecord.id == record.id,
                IdempotencyRecord.status_code.is_(None),
                IdempotencyRecord.created_at <= now - CLAIM_LEASE,
            )
            .values(created_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if taken.rowcount != 1:
            raise _in_progress()
        claimed = record.id
    else:
        db.session.commit()
    return _Claim(claimed, now)


def _still_ours(claim: _Claim):
    return (
        IdempotencyRecord.id == claim.id,
        IdempotencyRecord.status_code.is_(None),
        IdempotencyRecord.created_at == claim.token,
    )


def run_once(
    scope: str, key: str, fingerprint: str, handler: Callable[[], tuple[int, dict]]
) -> tuple[int, dict]:
    """Run `handler` once per (scope, key); replays get the stored (status, body)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            "An Idempotency-Key header is needed.", {"Idempotency-Key": f"1 to {MAX_KEY_LENGTH} characters"}
        )
    claim = _claim(scope, key, fingerprint)
    if not isinstance(claim, _Claim):
        return claim  # the stored answer
    try:
        status, body = handler()
    except AnagenError as error:
        db.session.rollback()
        if error.code not in FINAL_REFUSALS:
            _release(claim)
            raise
        status = error.status
        body = {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
    except Exception:
        db.session.rollback()
        _release(claim)
        raise
    stored = db.session.execute(
        sa.update(IdempotencyRecord)
        .where(*_still_ours(claim))
        .values(status_code=status, response_body=body)
        .execution_options(synchronize_session=False)
    )
    if stored.rowcount == 1:
        db.session.commit()
        return status, body
    # Our lease ran out and another request took the key over: its answer is the key's.
    db.session.rollback()
    record = _record(scope, key)
    db.session.commit()
    if record is not None and record.status_code is not None:
        return record.status_code, record.response_body
    raise _in_progress()


def _release(claim: _Claim) -> None:
    """Give the key back (only if the claim is still ours), so a retry is judged afresh."""
    db.session.execute(
        sa.delete(IdempotencyRecord).where(*_still_ours(claim)).execution_options(synchronize_session=False)
    )
    db.session.commit()
