"""The hot reads (a token, an order, a page of orders, a count) in plain SQL on the driver's connection.

Every API request authenticates and most read an order, so these run thousands of times a second:
SQLAlchemy's statement building, caching and result wrapping cost ten times the query itself. The SQL
here reads the same tables as the repositories and nothing writes through it.

The lookups keep a few connections of their own in autocommit mode, outside the engine's pool but
counted in the same budget (`Database.connect`): a single SELECT is its own consistent snapshot, and a
lookup costs one round trip (a pooled connection would add a ping on checkout and a rollback on return).
Each lookup borrows one for its statements and gives it back, so however many threads there are, a
process never holds more than `size` of them. The most recently returned is lent first: on SQLite its
statement cache keeps the queries prepared and its page cache is warm. A PostgreSQL connection that
broke (a restart) fails its lookup and is replaced by the next one.
"""

from __future__ import annotations

import functools
import sqlite3
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine

from orderdesk.domain.sites import Scope, Site, Token

_TOKEN = (
    "SELECT t.id, t.site_id, t.scopes, t.rate_limit, t.created_on, t.last_used_on, t.revoked_on, t.token_hash,"
    " s.name, s.ecommerce_enabled, s.currency, s.application_fee_bps, s.created_on, s.updated_on"
    " FROM tokens t JOIN sites s ON s.id = t.site_id WHERE t.token_hash = ? AND t.revoked_on IS NULL"
)
_DOCUMENT = "SELECT document FROM orders WHERE site_id = ? AND order_id = ?"
_NEWEST_FIRST = " ORDER BY accepted_on DESC, order_id LIMIT ? OFFSET ?"
_PAGE = "SELECT document FROM orders WHERE site_id = ?" + _NEWEST_FIRST
_PAGE_OF_STATUS = "SELECT document FROM orders WHERE site_id = ? AND status = ?" + _NEWEST_FIRST
_COUNT = "SELECT COALESCE(SUM(count), 0) FROM order_counts WHERE site_id = ?"
_COUNT_OF_STATUS = "SELECT COALESCE(SUM(count), 0) FROM order_counts WHERE site_id = ? AND status = ?"

# Per connection: the lookups touch few pages, and the operating system caches the file anyway.
_SQLITE_CACHE_KIB = 2048
# anyio's 40 worker threads, the two deep-page readers and the event loop itself; opened only when needed.
SQLITE_LOOKUP_CONNECTIONS = 48
# As long as a thread waits for the engine's pool: every connection busy that long means something is stuck.
BORROW_TIMEOUT_SECONDS = 30.0


class LookupsBusy(TimeoutError):
    """Every lookup connection stayed lent for BORROW_TIMEOUT_SECONDS."""


@functools.lru_cache(maxsize=64)
def _scopes(stored: str) -> frozenset[Scope]:
    """A token's scopes from their stored form; there are only a few distinct ones."""
    return frozenset(Scope(scope) for scope in stored.split())


class Lookups:
    def __init__(self, engine: Engine, size: int) -> None:
        self.engine = engine
        database = engine.url.database
        self._sqlite_path = database if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:") \
            else None
        self._placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
        # One slot per connection that may be lent: a connection, or None until one is opened. A SimpleQueue
        # waits in C: under contention a semaphore's Python-level condition cost a third more per lookup.
        self._slots: queue.SimpleQueue[Any] = queue.SimpleQueue()
        if self._sqlite_path is not None:
            # No server counts SQLite's connections, and lookups run inline on the event loop, which must
            # never wait for a thread to give one back: a slot for every thread that could hold one.
            size = max(size, SQLITE_LOOKUP_CONNECTIONS)
        for _ in range(size):
            self._slots.put(None)
        self._closed = False

    def token(self, token_hash: str) -> tuple[Token, Site, str] | None:
        """A live (unrevoked) token, its site and its stored hash."""
        row = self._one(_TOKEN, (token_hash,))
        if row is None:
            return None
        token = Token(row[0], row[1], _scopes(row[2]), row[3], row[4], row[5], row[6])
        return token, Site(row[1], row[8], bool(row[9]), row[10], row[11], row[12], row[13]), row[7]

    def document(self, site_id: str, order_id: str) -> bytes | None:
        row = self._one(_DOCUMENT, (site_id, order_id))
        return None if row is None else bytes(row[0])

    def page(self, site_id: str, status: str | None, offset: int, limit: int) -> tuple[list[bytes], int]:
        """A page of documents, newest first, and how many the site has in all (of `status`, if given);
        on SQLite both from one snapshot."""
        with self._cursor() as cursor:
            if self._sqlite_path is not None:
                cursor.execute("BEGIN")
            try:
                if status is None:
                    cursor.execute(self._sql(_COUNT), (site_id,))
                else:
                    cursor.execute(self._sql(_COUNT_OF_STATUS), (site_id, status))
                total = int(cursor.fetchone()[0])
                documents: list[bytes] = []
                if offset < total:
                    if status is None:
                        cursor.execute(self._sql(_PAGE), (site_id, limit, offset))
                    else:
                        cursor.execute(self._sql(_PAGE_OF_STATUS), (site_id, status, limit, offset))
                    documents = [bytes(row[0]) for row in cursor.fetchall()]
            finally:
                if self._sqlite_path is not None:
                    cursor.execute("COMMIT")
        return documents, total

    def close(self) -> None:
        """Closes the idle connections, and each lent one when it comes back (a late lookup opens its own)."""
        self._closed = True
        drained = []
        while True:
            try:
                drained.append(self._slots.get_nowait())
            except queue.Empty:
                break
        for connection in drained:
            if connection is not None:
                connection.close()
            self._slots.put(None)

    def _one(self, sql: str, parameters: tuple) -> Any:
        connection = self._borrow()
        try:
            if self._sqlite_path is not None:  # the common case, without a cursor's context manager
                return connection.execute(sql, parameters).fetchone()
            with connection.cursor() as cursor:
                cursor.execute(self._sql(sql), parameters)
                return cursor.fetchone()
        finally:
            self._give_back(connection)

    def _sql(self, sql: str) -> str:
        return sql if self._placeholder == "?" else sql.replace("?", "%s")

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        connection = self._borrow()
        try:
            if self._sqlite_path is not None:
                yield connection.cursor()
            else:
                with connection.cursor() as cursor:
                    yield cursor
        finally:
            self._give_back(connection)

    def _borrow(self) -> Any:
        try:
            connection = self._slots.get(timeout=BORROW_TIMEOUT_SECONDS)
        except queue.Empty:
            raise LookupsBusy(f"no lookup connection came free in {BORROW_TIMEOUT_SECONDS:.0f} s") from None
        if connection is not None:
            return connection
        try:
            return self._connect()
        except BaseException:
            self._slots.put(None)
            raise

    def _give_back(self, connection: Any) -> None:
        # A broken PostgreSQL connection (the server restarted) is dropped: the next borrower opens a new one.
        if self._closed or getattr(connection, "closed", False):
            connection.close()
            connection = None
        self._slots.put(connection)

    def _connect(self) -> Any:
        if self._sqlite_path is not None:
            connection = sqlite3.connect(self._sqlite_path, isolation_level=None, check_same_thread=False,
                                         timeout=30, cached_statements=32)
            connection.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
            connection.execute("PRAGMA busy_timeout=30000")
            return connection
        arguments, options = self.engine.dialect.create_connect_args(self.engine.url)
        connection = self.engine.dialect.loaded_dbapi.connect(*arguments, **options)
        connection.autocommit = True
        return connection
