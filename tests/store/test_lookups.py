"""The reads every request makes (db.lookups, on the quick pool) give what the repositories read in a
transaction give: they are the same repository reads."""

from __future__ import annotations

import hashlib

import pytest

from orderdesk.domain import ids
from orderdesk.domain.sites import Scope, Site, Token
from orderdesk.store.database import Database
from orderdesk.store.engine import create_engine
from orderdesk.store.repositories.orders import NewOrder, OrderRepository
from orderdesk.store.repositories.sites import SiteRepository, TokenRepository


def add_site_with_orders(db: Database, statuses: list[str]) -> tuple[Site, str, list[str]]:
    """A site, a token of it (returned as its hash) and orders of `statuses`, placed a millisecond apart."""
    site = Site(ids.object_id(), "Lookups", True, "EUR", 150, 1, 2)
    token_hash = hashlib.sha256(site.id.encode()).hexdigest()
    order_ids = [f"{n:06d}" for n in range(len(statuses))]
    with db.unit_of_work() as work:
        SiteRepository(work.connection).add(site)
        TokenRepository(work.connection).add(
            Token(ids.object_id(), site.id, frozenset({Scope.ECOMMERCE_READ}), 7, 3, None, None), token_hash)
        for order_id, status in zip(order_ids, statuses):
            document = b'{"orderId":"%s","status":"%s"}' % (order_id.encode(), status.encode())
            OrderRepository(work.connection).add(NewOrder(site.id, order_id, status, 1000 + int(order_id), "EUR",
                                                          0, 0, document, 1))
        work.commit()
    return site, token_hash, order_ids


def test_a_token_is_read_with_its_site(db):
    site, token_hash, _ = add_site_with_orders(db, [])

    found = db.lookups.token(token_hash)

    with db.reading() as connection:
        (token,) = TokenRepository(connection).list(site.id)
        assert SiteRepository(connection).get(site.id) == site
    assert found == (token, site, token_hash)
    assert (token.scopes, token.rate_limit) == (frozenset({Scope.ECOMMERCE_READ}), 7)


def test_a_revoked_or_unknown_token_is_not_found(db):
    site, token_hash, _ = add_site_with_orders(db, [])
    with db.unit_of_work() as work:
        (token,) = TokenRepository(work.connection).list(site.id)
        assert TokenRepository(work.connection).revoke(token.id, 5)
        work.commit()

    assert (db.lookups.token(token_hash), db.lookups.token("0" * 64)) == (None, None)


def test_a_document_is_what_the_repository_reads(db):
    site, _, order_ids = add_site_with_orders(db, ["unfulfilled"])

    with db.reading() as connection:
        stored = OrderRepository(connection).document(site.id, order_ids[0])
    assert db.lookups.document(site.id, order_ids[0]) == stored == b'{"orderId":"000000","status":"unfulfilled"}'
    assert db.lookups.document(site.id, "999999") is None


@pytest.mark.parametrize(("status", "offset", "limit"), [
    (None, 0, 10), (None, 1, 2), ("fulfilled", 0, 10), ("fulfilled", 1, 1), (None, 5, 10), ("refunded", 0, 10),
])
def test_a_page_is_what_the_repository_reads(db, status, offset, limit):
    site, _, _ = add_site_with_orders(db, ["unfulfilled", "fulfilled", "unfulfilled", "fulfilled", "fulfilled"])

    with db.reading() as connection:
        in_transaction = OrderRepository(connection).page(site.id, status, offset, limit)
    assert db.lookups.page(site.id, status, offset, limit) == in_transaction


def test_a_page_is_newest_first_with_the_count_of_all(db):
    site, _, _ = add_site_with_orders(db, ["unfulfilled", "fulfilled", "unfulfilled", "fulfilled", "fulfilled"])

    documents, total = db.lookups.page(site.id, "fulfilled", 1, 10)

    assert (documents, total) == ([b'{"orderId":"000003","status":"fulfilled"}',
                                   b'{"orderId":"000001","status":"fulfilled"}'], 3)
    assert db.lookups.page(site.id, None, 5, 10) == ([], 5)


def test_a_read_after_closing_opens_its_own_connection(database_url):
    database = Database(create_engine(database_url))
    site, _, order_ids = add_site_with_orders(database, ["unfulfilled"])
    database.dispose()

    assert database.lookups.document(site.id, order_ids[0]) == b'{"orderId":"000000","status":"unfulfilled"}'
