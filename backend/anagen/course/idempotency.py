"""Exactly-once handling of retried requests that carry an Idempotency-Key.

The PWA's offline outbox replays requests until it sees an answer, so the same
completion may arrive several times. The first one is recorded; a replay gets the
first answer back; the same key with a different body is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import sqlalchemy as sa

from anagen.errors import AnagenError, Conflict, InvalidInput
from anagen.extensions import db
from anagen.models import IdempotencyRecord

MAX_KEY_LENGTH = 100


def request_fingerprint(method: str, path: str, body: object) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _existing(scope: str, key: str, fingerprint: str) -> tuple[int, dict] | None:
    record = db.session.scalar(
        sa.select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    )
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise InvalidInput(
            "This request key was already used for different data.",
            {"Idempotency-Key": "Reused"},
            code="idempotency_key_reused",
        )
    if record.status_code is None:
        raise Conflict(
            "The same request is being handled. Try again in a moment.", code="request_in_progress"
        )
    return record.status_code, record.response_body


def run_once(
    scope: str, key: str, fingerprint: str, handler: Callable[[], tuple[int, dict]]
) -> tuple[int, dict]:
    """Run `handler` once per (scope, key); replays get the first (status, body)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            "An Idempotency-Key header is needed.", {"Idempotency-Key": f"1 to {MAX_KEY_LENGTH} characters"}
        )
    replay = _existing(scope, key, fingerprint)
    if replay:
        return replay
    # Claim the key in its own committed transaction: a concurrent duplicate then hits
    # the unique constraint and gets 409 instead of doing the work twice.
    claim = IdempotencyRecord(scope=scope, key=key, request_hash=fingerprint)
    db.session.add(claim)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        replay = _existing(scope, key, fingerprint)
        if replay:
            return replay
        raise Conflict(
            "The same request is being handled. Try again in a moment.", code="request_in_progress"
        ) from None
    claim_id = claim.id
    try:
        status, body = handler()
    except AnagenError as error:
        # A refusal is an answer too: the replay must get the same one.
        db.session.rollback()
        status = error.status
        body = {"error": {"code": error.code, "message": error.message, "fields": error.fields}}
    except Exception:
        db.session.rollback()
        db.session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.id == claim_id))
        db.session.commit()
        raise
    db.session.execute(
        sa.update(IdempotencyRecord)
        .where(IdempotencyRecord.id == claim_id)
        .values(status_code=status, response_body=body)
    )
    db.session.commit()
    return status, body
