"""The lease on a queue's rows (store/leases.py): what one worker claimed no other takes until it runs out."""

from __future__ import annotations

import threading

import pytest

from orderdesk.store import leases
from orderdesk.store.database import Database
from orderdesk.store.engine import create_engine
from orderdesk.store.repositories.emails import EmailRepository
from orderdesk.store.tables import emails

NOW = 1_700_000_000_000
LEASE_MS = 60_000


@pytest.fixture
def own_db(fresh_database_url) -> Database:
    """A database no server's workers read, so that every due row is this test's."""
    database = Database(create_engine(fresh_database_url))
    yield database
    database.dispose()


def queue_emails(db: Database, count: int, at: int = NOW) -> list[int]:
    with db.unit_of_work() as work:
        ids = [EmailRepository(work.connection).add("site", f"order-{n}", "a@example.com", "Hi", "Body", at)
               for n in range(count)]
        work.commit()
    return ids


def claim(db: Database, now: int, limit: int = 10, lease_ms: int = LEASE_MS) -> list[int]:
    with db.unit_of_work() as work:
        claimed = leases.claim(work.connection, emails, now, lease_ms, limit)
        work.commit()
    return claimed


def test_a_claim_takes_the_oldest_due_rows_up_to_its_limit(own_db):
    ids = queue_emails(own_db, 3)

    assert claim(own_db, NOW, limit=2) == ids[:2]
    assert claim(own_db, NOW, limit=2) == ids[2:]


def test_rows_not_yet_due_are_not_claimed(own_db):
    queue_emails(own_db, 2, at=NOW + 1)

    assert claim(own_db, NOW) == []
    with own_db.reading() as connection:
        assert leases.anything_due(connection, emails, NOW) is False


def test_a_leased_row_is_claimed_again_only_once_its_lease_ran_out(own_db):
    ids = queue_emails(own_db, 2)
    assert claim(own_db, NOW, lease_ms=1000) == ids

    with own_db.reading() as connection:
        assert leases.anything_due(connection, emails, NOW + 999) is False
    assert claim(own_db, NOW + 999) == []
    assert claim(own_db, NOW + 1001) == ids


def test_two_claimers_at_once_never_get_the_same_row(own_db):
    ids = queue_emails(own_db, 4)
    second: list[int] = []
    started = threading.Event()

    # Given a first claim whose transaction is still open (its rows locked on PostgreSQL, the write lock
    # held on SQLite)
    with own_db.unit_of_work() as work:
        first = leases.claim(work.connection, emails, NOW, LEASE_MS, 2)

        def claim_too() -> None:
            started.set()
            second.extend(claim(own_db, NOW, limit=4))

        # when a second worker claims meanwhile
        claimer = threading.Thread(target=claim_too)
        claimer.start()
        assert started.wait(10)
        if not own_db.is_sqlite:
            claimer.join(30)  # PostgreSQL: it skips the locked rows rather than wait for them
            assert not claimer.is_alive()
        work.commit()
    claimer.join(30)  # SQLite: it waited for the write lock, then saw the lease

    # then each row went to one of them
    assert (first, second) == (ids[:2], ids[2:])


def test_the_email_repository_claims_through_the_lease(own_db):
    ids = queue_emails(own_db, 2)

    with own_db.unit_of_work() as work:
        claimed = EmailRepository(work.connection).claim(NOW, LEASE_MS, 10)
        again = EmailRepository(work.connection).claim(NOW, LEASE_MS, 10)
        work.commit()

    assert ([email.id for email in claimed], again) == (ids, [])
    assert [email.order_id for email in claimed] == ["order-0", "order-1"]
