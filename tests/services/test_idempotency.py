"""The idempotency service against the real database: claims, leases, what is kept, expiry."""

from __future__ import annotations

import pytest

from orderdesk.domain import clock, ids
from orderdesk.errors import FieldProblem, IdempotencyKeyInFlight, IdempotencyKeyReused, ValidationFailed
from orderdesk.services import idempotency
from orderdesk.services.idempotency import KEY_LIFETIME_MS, LEASE_MS, Claim, StoredResponse
from orderdesk.store.repositories.idempotency import IdempotencyKeys

PLACE = idempotency.fingerprint("POST", "/v2/sites/s/orders", "", b'{"a":1}')
OTHER = idempotency.fingerprint("POST", "/v2/sites/s/orders", "", b'{"a":2}')


def aged_claim(db, token_id: str, key: str, request: str, age_ms: int) -> Claim:
    """A claim made `age_ms` ago, as a process that then crashed would have left it."""
    started_on = clock.to_millis(clock.now()) - age_ms
    with db.unit_of_work() as work:
        row_id = IdempotencyKeys(work.connection).claim(token_id, key, request, started_on)
        work.commit()
    return Claim(row_id, started_on, f"{token_id}:{key}")


def test_the_fingerprint_tells_apart_every_part_of_the_request():
    parts = [("POST", "/v2/a", "", b""), ("PATCH", "/v2/a", "", b""), ("POST", "/v2/b", "", b""),
             ("POST", "/v2/a", "x=1", b""), ("POST", "/v2/a", "", b"{}"), ("POST", "/v2/a\nx=1", "", b"")]

    prints = [idempotency.fingerprint(*request) for request in parts]

    assert len(set(prints)) == len(parts)
    assert idempotency.fingerprint("POST", "/v2/a", "", b"{}") == prints[4]


def test_a_first_request_claims_the_key_and_a_repeat_meanwhile_is_in_flight(db):
    token_id = ids.object_id()

    claim = idempotency.begin(db, token_id, "key-1", PLACE)

    assert isinstance(claim, Claim)
    assert claim.request_key == f"{token_id}:key-1"
    with pytest.raises(IdempotencyKeyInFlight):
        idempotency.begin(db, token_id, "key-1", PLACE)


@pytest.mark.parametrize("status", [200, 201, 400, 403, 404, 413, 422])
def test_a_kept_response_is_what_a_repeat_gets(db, status):
    token_id = ids.object_id()
    claim = idempotency.begin(db, token_id, "key-1", PLACE)

    idempotency.finish(db, claim, status, "application/json", b'{"ok":true}')

    assert idempotency.begin(db, token_id, "key-1", PLACE) == StoredResponse(status, "application/json", b'{"ok":true}')
    with pytest.raises(IdempotencyKeyReused):
        idempotency.begin(db, token_id, "key-1", OTHER)


@pytest.mark.parametrize("status", [401, 408, 409, 429, 500, 502, 503])
def test_a_response_not_worth_keeping_frees_the_key_for_a_retry(db, status):
    token_id = ids.object_id()
    claim = idempotency.begin(db, token_id, "key-1", PLACE)

    idempotency.finish(db, claim, status, "application/json", b"{}")

    # Even another request may now use the key: nothing of the first is left.
    assert isinstance(idempotency.begin(db, token_id, "key-1", OTHER), Claim)


def test_an_abandoned_claim_frees_the_key(db):
    token_id = ids.object_id()
    claim = idempotency.begin(db, token_id, "key-1", PLACE)

    idempotency.abandon(db, claim)

    assert isinstance(idempotency.begin(db, token_id, "key-1", PLACE), Claim)


def test_a_claim_past_its_lease_is_taken_over_and_its_old_owner_cannot_finish_it(db):
    token_id = ids.object_id()
    crashed = aged_claim(db, token_id, "key-1", PLACE, LEASE_MS + 1_000)

    retry = idempotency.begin(db, token_id, "key-1", PLACE)
    idempotency.finish(db, crashed, 201, "application/json", b'{"from":"crashed"}')
    idempotency.abandon(db, crashed)
    idempotency.finish(db, retry, 201, "application/json", b'{"from":"retry"}')

    assert (retry.row_id, retry.started_on > crashed.started_on) == (crashed.row_id, True)
    assert idempotency.begin(db, token_id, "key-1", PLACE) == StoredResponse(201, "application/json",
                                                                             b'{"from":"retry"}')


def test_a_claim_within_its_lease_is_still_in_flight(db):
    token_id = ids.object_id()
    aged_claim(db, token_id, "key-1", PLACE, LEASE_MS - 10_000)

    with pytest.raises(IdempotencyKeyInFlight):
        idempotency.begin(db, token_id, "key-1", PLACE)


def test_an_abandoned_claim_of_another_request_is_still_refused(db):
    # The crashed request may have refunded under this key; another request must not inherit it.
    token_id = ids.object_id()
    aged_claim(db, token_id, "key-1", PLACE, LEASE_MS + 1_000)

    with pytest.raises(IdempotencyKeyReused):
        idempotency.begin(db, token_id, "key-1", OTHER)


def test_an_expired_key_is_as_if_absent(db):
    token_id = ids.object_id()
    old = aged_claim(db, token_id, "key-1", PLACE, KEY_LIFETIME_MS + 1_000)
    idempotency.finish(db, old, 201, "application/json", b"{}")

    fresh = idempotency.begin(db, token_id, "key-1", OTHER)

    assert isinstance(fresh, Claim)


def test_purging_deletes_only_expired_keys(db):
    token_id = ids.object_id()
    idempotency.purge_expired(db)  # given: nothing expired left by earlier tests
    for key in ("old-1", "old-2"):
        idempotency.finish(db, aged_claim(db, token_id, key, PLACE, KEY_LIFETIME_MS + 1_000), 201, None, b"")
    young = aged_claim(db, token_id, "young", PLACE, KEY_LIFETIME_MS - 60_000)
    idempotency.finish(db, young, 201, None, b"kept")

    purged = idempotency.purge_expired(db)

    assert purged == 2
    with db.reading() as connection:
        keys = IdempotencyKeys(connection)
        assert [keys.get(token_id, key) is None for key in ("old-1", "old-2", "young")] == [True, True, False]
    assert idempotency.begin(db, token_id, "young", PLACE) == StoredResponse(201, None, b"kept")


def test_an_empty_or_overlong_key_is_refused(db):
    token_id = ids.object_id()

    for key in ("", "k" * 256):
        with pytest.raises(ValidationFailed) as refused:
            idempotency.begin(db, token_id, key, PLACE)
        assert refused.value.details == [FieldProblem("Idempotency-Key", "must be 1 to 255 characters")]
