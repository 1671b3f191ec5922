"""Idempotency keys (BEHAVIOUR.md section 7): a keyed write runs once; its repeats get its response."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import msgspec

from orderdesk.domain import clock
from orderdesk.errors import IdempotencyKeyInFlight, IdempotencyKeyReused, ValidationFailed
from orderdesk.store.repositories.idempotency import RUNNING, KeyRow
from orderdesk.store.database import Database

MAX_KEY_LENGTH = 255
KEY_LIFETIME_MS = 24 * 60 * 60 * 1000
# A claim still running after this long belonged to a process that crashed: a retry takes it over.
LEASE_MS = 60_000
# Answers a retry should not get back: failures worth retrying (the SDK retries 408, 409, 429
# and 5xx) and a 401, which a fixed token turns into a different answer.
_NOT_KEPT = frozenset({401, 408, 409, 429})
_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Claim:
    """The right to run the request once; `started_on` stamps the claim's row."""

    row_id: int
    started_on: int
    request_key: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    content_type: str | None
    body: bytes


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same request: method, path, query string and body."""
    parts = msgspec.json.encode([method, path, query, hashlib.sha256(body).hexdigest()])
    return hashlib.sha256(parts).hexdigest()


def begin(db: Database, token_id: str, key: str, request: str) -> Claim | StoredResponse:
    """Claim `key` for the request with fingerprint `request`, or the response it already got."""
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValidationFailed.of("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} characters")
    for _ in range(_CLAIM_ATTEMPTS):
        now = clock.to_millis(db.clock.now())
        with db.unit_of_work() as work:
            keys = work.idempotency_keys
            row_id = keys.claim(token_id, key, request, now)
            if row_id is None:
                found = keys.get(token_id, key)
                if found is None:
                    continue  # its claim was released between our insert and our read: claim again
                if not _may_take_over(found, request, now):
                    return StoredResponse(found.status, found.content_type, found.body)
                if not keys.take_over(found.id, found.created_on, request, now):
                    continue  # another retry took it over first
                row_id = found.id
            work.commit()
        return Claim(row_id, now, f"{token_id}:{key}")
    raise IdempotencyKeyInFlight()


def _may_take_over(found: KeyRow, request: str, now: int) -> bool:
    """True for an expired or abandoned claim, False for a stored response; raises otherwise."""
    if found.created_on < now - KEY_LIFETIME_MS:
        return True  # expired: as if absent
    if found.fingerprint != request:
        raise IdempotencyKeyReused()
    if found.state == RUNNING:
        if found.created_on < now - LEASE_MS:
            return True
        raise IdempotencyKeyInFlight()
    return False


def finish(db: Database, claim: Claim, status: int, content_type: str | None, body: bytes) -> None:
    """Keep the response for repeats, or release the key when a retry should run afresh."""
    if status >= 500 or status in _NOT_KEPT:
        abandon(db, claim)
        return
    with db.unit_of_work() as work:
        work.idempotency_keys.complete(claim.row_id, claim.started_on, status, content_type, body)
        work.commit()


def abandon(db: Database, claim: Claim) -> None:
    """Release the key: the request ended without a response worth keeping."""
    with db.unit_of_work() as work:
        work.idempotency_keys.release(claim.row_id, claim.started_on)
        work.commit()


def purge_expired(db: Database) -> int:
    """Delete keys past their 24 hours; how many went."""
    with db.unit_of_work() as work:
        purged = work.idempotency_keys.delete_created_before(
            work.now_millis() - KEY_LIFETIME_MS
        )
        work.commit()
    return purged
