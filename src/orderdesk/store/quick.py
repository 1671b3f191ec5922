"""The quick pool: a few driver connections in autocommit mode for the reads every request makes.

Every API request authenticates and most read an order, so those reads run thousands of times a second:
SQLAlchemy's statement building, caching and result wrapping cost ten times the query itself. They are
the repositories' own `Prepared` statements (store/prepared.py), run here on a driver connection lent
by this pool; nothing writes through it.

The pool's connections are outside the engine's pool but counted in the same budget
(`Database.connect`): a single SELECT is its own consistent snapshot, and a read costs one round trip (a
pooled connection would add a ping on checkout and a rollback on return). Each read borrows one for its
statements and gives it back, so however many threads there are, a process never holds more than
`size` of them. The most recently returned is lent first: on SQLite its statement cache keeps the
queries prepared and its page cache is warm. A PostgreSQL connection that broke (a restart) fails its
read and is replaced by the next one.
"""

from __future__ import annotations

import queue
import sqlite3

from sqlalchemy.engine import Engine

from orderdesk.domain.sites import Site, Token
from orderdesk.store.prepared import DriverConnection
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store.repositories.sites import TokenRepository

# Per connection: the reads touch few pages, and the operating system caches the file anyway.
_SQLITE_CACHE_KIB = 2048
# anyio's 40 worker threads, the two deep-page readers and the event loop itself; opened only when needed.
SQLITE_QUICK_CONNECTIONS = 48
# As long as a thread waits for the engine's pool: every connection busy that long means something is stuck.
BORROW_TIMEOUT_SECONDS = 30.0


class QuickPoolBusy(TimeoutError):
    """Every connection of the quick pool stayed lent for BORROW_TIMEOUT_SECONDS."""


class QuickConnection:
    """A connection of the pool and the repositories whose reads the lookups run on it: built once per
    connection rather than once per read, which every request would pay."""

    __slots__ = ("driver", "orders", "tokens")

    def __init__(self, connection: DriverConnection) -> None:
        self.driver = connection.driver
        self.orders = OrderRepository(connection)
        self.tokens = TokenRepository(connection)


class QuickPool:
    def __init__(self, engine: Engine, size: int) -> None:
        self.engine = engine
        database = engine.url.database
        self._sqlite_path = database if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:") \
            else None
        # In autocommit, each statement reads its own snapshot: SQLite's BEGIN makes several read one.
        self.snapshots = self._sqlite_path is not None
        # One slot per connection that may be lent: a connection, or None until one is opened. A SimpleQueue
        # waits in C: under contention a semaphore's Python-level condition cost a third more per read.
        self._slots: queue.SimpleQueue[QuickConnection | None] = queue.SimpleQueue()
        if self._sqlite_path is not None:
            # No server counts SQLite's connections, and these reads run inline on the event loop, which must
            # never wait for a thread to give one back: a slot for every thread that could hold one.
            size = max(size, SQLITE_QUICK_CONNECTIONS)
        for _ in range(size):
            self._slots.put(None)
        self._closed = False

    def borrow(self) -> QuickConnection:
        """A connection for a few statements; the caller gives it back, in a `finally`."""
        try:
            connection = self._slots.get_nowait()  # half the cost of a get with a timeout, and the usual case
        except queue.Empty:
            try:
                connection = self._slots.get(timeout=BORROW_TIMEOUT_SECONDS)
            except queue.Empty:
                raise QuickPoolBusy(f"no quick connection came free in {BORROW_TIMEOUT_SECONDS:.0f} s") from None
        if connection is not None:
            return connection
        try:
            return self._connect()
        except BaseException:
            self._slots.put(None)
            raise

    def give_back(self, connection: QuickConnection) -> None:
        # A broken PostgreSQL connection (the server restarted) is dropped: the next borrower opens a new one.
        if self._closed or getattr(connection.driver, "closed", False):
            connection.driver.close()
            self._slots.put(None)
        else:
            self._slots.put(connection)

    def close(self) -> None:
        """Closes the idle connections, and each lent one when it comes back (a late read opens its own)."""
        self._closed = True
        drained = []
        while True:
            try:
                drained.append(self._slots.get_nowait())
            except queue.Empty:
                break
        for connection in drained:
            if connection is not None:
                connection.driver.close()
            self._slots.put(None)

    def _connect(self) -> QuickConnection:
        if self._sqlite_path is not None:
            driver = sqlite3.connect(self._sqlite_path, isolation_level=None, check_same_thread=False,
                                     timeout=30, cached_statements=32)
            driver.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
            driver.execute("PRAGMA busy_timeout=30000")
            return QuickConnection(DriverConnection(driver, self.engine.dialect))
        arguments, options = self.engine.dialect.create_connect_args(self.engine.url)
        driver = self.engine.dialect.loaded_dbapi.connect(*arguments, **options)
        driver.autocommit = True
        return QuickConnection(DriverConnection(driver, self.engine.dialect))


class Lookups:
    """The reads every request makes: each one repository read, on a connection of the quick pool."""

    def __init__(self, pool: QuickPool) -> None:
        self.pool = pool
        # Bound once: two attribute lookups fewer on each of the reads every request makes.
        self._borrow, self._give_back = pool.borrow, pool.give_back

    def token(self, token_hash: str) -> tuple[Token, Site, str] | None:
        """A live (unrevoked) token, its site and its stored hash."""
        connection = self._borrow()
        try:
            return connection.tokens.live(token_hash)
        finally:
            self._give_back(connection)

    def document(self, site_id: str, order_id: str) -> bytes | None:
        connection = self._borrow()
        try:
            return connection.orders.document(site_id, order_id)
        finally:
            self._give_back(connection)

    def page(self, site_id: str, status: str | None, offset: int, limit: int) -> tuple[list[bytes], int]:
        """A page of documents, newest first, and how many the site has in all (of `status`, if given);
        on SQLite both from one snapshot."""
        connection = self.pool.borrow()
        try:
            if not self.pool.snapshots:
                return connection.orders.page(site_id, status, offset, limit)
            connection.driver.execute("BEGIN")
            try:
                return connection.orders.page(site_id, status, offset, limit)
            finally:
                connection.driver.execute("COMMIT")
        finally:
            self.pool.give_back(connection)

    def close(self) -> None:
        self.pool.close()
