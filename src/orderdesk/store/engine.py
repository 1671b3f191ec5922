"""Engines: SQLite with WAL and explicit BEGIN IMMEDIATE for writes; PostgreSQL through psycopg 3."""

from __future__ import annotations

import sqlite3
import threading

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine


def normalize_url(url: str) -> str:
    """Accept the usual spellings (`postgres://`, `postgresql://`) and pick our drivers."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# How long a SQLite write waits for another connection's write lock (a worker's batch, a seed's).
BUSY_TIMEOUT_MS = 30_000


class WriteLockBusy(Exception):
    """Another connection held SQLite's write lock when a write that must not wait for it began; nothing
    was written."""


_without_waiting = threading.local()
# Each SQLite connection's busy timeout as last set, by id() of the driver's connection (set anew when one
# connects): a BEGIN changes it only when it needs the other one, so a connection that keeps writing on
# the event loop sets it once, not twice a transaction.
_busy_timeouts: dict[int, int] = {}


class _WritesWithoutWaiting:
    """Within this block, on this thread, the first SQLite write transaction raises `WriteLockBusy`
    instead of waiting for the write lock; later ones wait as usual.

    For the event loop: a write that waited there would stall every request of the process for as long
    as `orderdesk worker`, `seed` or another server process holds the lock. Only the first write may
    refuse, because up to it nothing was written and the caller can run the same work again elsewhere;
    after a commit it could not. A second write losing the lock in the microseconds after the first is
    rare enough to wait for. (A class, not a generator: every request on the event loop enters it.)"""

    __slots__ = ()

    def __enter__(self) -> None:
        _without_waiting.active = True

    def __exit__(self, *_) -> None:
        _without_waiting.active = False


_writes_without_waiting = _WritesWithoutWaiting()


def writes_without_waiting() -> _WritesWithoutWaiting:
    return _writes_without_waiting


def create_engine(url: str, pool_size: int = 8, checkpoint_on_commit: bool = True) -> Engine:
    """A pool that keeps `pool_size` connections open.

    PostgreSQL: never more. Its `max_connections` (100 by default) is shared by every process of every
    server, so each holds a fixed number and a burst of threads waits its turn for one (up to 30 s)
    rather than opening more; past the server's limit every request would fail.

    SQLite (a file, no server to share): overflow connections, as many again, are opened and closed per
    use, which is costly (a new SQLite connection runs its PRAGMAs and starts with a cold page cache), so
    the pool is sized for the usual load: most database work runs on the event loop, one unit at a time;
    the overflow is for bursts of threads (refunds waiting on a processor).

    `checkpoint_on_commit=False` (SQLite): a commit never copies the write-ahead log into the database
    file (which waits for the disk); the caller runs `checkpoint` in the background instead.
    """
    url = normalize_url(url)
    if not is_sqlite(url):
        return sa.create_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=30, pool_pre_ping=True)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=30,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transaction control away from the sqlite3 module so that we can say
        # BEGIN IMMEDIATE for writes: a deferred BEGIN that later writes can fail with
        # SQLITE_BUSY without waiting for busy_timeout.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Before anything creates the file (a no-op on an existing one): an 8 KB page holds a whole
        # order document (about 4.5 KB), where a 4 KB page spills it onto an overflow page.
        cursor.execute("PRAGMA page_size=8192")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _busy_timeouts[id(dbapi_connection)] = BUSY_TIMEOUT_MS
        cursor.execute("PRAGMA foreign_keys=ON")
        # The order-counting triggers make each write a statement that may roll itself back; its journal
        # stays in memory instead of a temporary file.
        cursor.execute("PRAGMA temp_store=MEMORY")
        if not checkpoint_on_commit:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        # 2 MB of pages per connection (the 8 kept open hold at most 16 MB); the rest of a large database
        # is served from the operating system's file cache, which is not the server's memory.
        cursor.execute("PRAGMA cache_size=-2048")
        cursor.close()

    @event.listens_for(engine, "close")
    def _on_close(dbapi_connection, _record) -> None:
        _busy_timeouts.pop(id(dbapi_connection), None)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # Straight to the driver: the statements need nothing of SQLAlchemy's execution machinery.
        driver = connection.connection.driver_connection
        if not connection.get_execution_options().get("writing", False):
            _busy_timeout(driver, BUSY_TIMEOUT_MS)
            driver.execute("BEGIN")
        elif getattr(_without_waiting, "active", False):
            _begin_without_waiting(driver)
        else:
            _busy_timeout(driver, BUSY_TIMEOUT_MS)
            driver.execute("BEGIN IMMEDIATE")

    return engine


def _begin_without_waiting(driver: sqlite3.Connection) -> None:
    # In WAL mode the write lock is taken here or never: once BEGIN IMMEDIATE has it, the transaction's
    # statements and its COMMIT do not wait for other writers.
    # The statements after BEGIN IMMEDIATE never wait, so the timeout stays 0 until a BEGIN that may wait.
    _busy_timeout(driver, 0)
    try:
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode == sqlite3.SQLITE_BUSY:
            raise WriteLockBusy(str(error)) from error
        raise
    _without_waiting.active = False


def _busy_timeout(driver: sqlite3.Connection, milliseconds: int) -> None:
    if _busy_timeouts.get(id(driver)) != milliseconds:
        driver.execute(f"PRAGMA busy_timeout={milliseconds}")
        _busy_timeouts[id(driver)] = milliseconds


def checkpoint(engine: Engine) -> int:
    """Copy what the write-ahead log holds into the SQLite file, without waiting for readers or writers
    (PASSIVE); returns 0, the number of jobs a work loop counts as busy."""
    with engine.connect() as connection:
        connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
    return 0
