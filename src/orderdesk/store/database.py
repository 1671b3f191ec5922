"""The database: connections for reading, units of work for writing, and the hot reads' own connections."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

from orderdesk.domain import clock
from orderdesk.domain.clock import Clock
from orderdesk.store.engine import create_engine, is_sqlite
from orderdesk.store.quick import Lookups, QuickPool
from orderdesk.store.unit_of_work import Reader, UnitOfWork

# Every request makes one or two lookups, each one short statement: half of a process's connections
# serve them, the other half the engine's units of work. With fewer lookup connections than threads that
# look up (up to 16 on PostgreSQL, api/threads.py) the threads take turns, and waiting costs CPU (16
# threads doing nothing but lookups, on 2 or 5 connections: 30-60% more CPU per lookup than on 16).
LOOKUP_SHARE = 2
DEFAULT_LOOKUP_CONNECTIONS = 2


class Database:
    """Hands out connections: `reading()` for queries, `unit_of_work()` for writes, and `lookups` for the
    few reads every request makes."""

    def __init__(self, engine: Engine, lookup_connections: int = DEFAULT_LOOKUP_CONNECTIONS,
                 time: Clock = clock.SYSTEM) -> None:
        self.engine = engine
        self.clock = time  # the one time every unit of work reads
        self.is_sqlite = is_sqlite(str(engine.url))
        self.lookups = Lookups(QuickPool(engine, lookup_connections))

    @classmethod
    def connect(cls, url: str, connections: int, checkpoint_on_commit: bool = True) -> Database:
        """A database that holds at most `connections` PostgreSQL connections (at least 2): half of them for
        the lookups, the rest in the engine's pool."""
        lookups = max(1, connections // LOOKUP_SHARE)
        engine = create_engine(url, pool_size=connections - lookups, checkpoint_on_commit=checkpoint_on_commit)
        return cls(engine, lookups)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def reader(self) -> Iterator[Reader]:
        """The repositories, for reads in one transaction (services read through this)."""
        with self.reading() as connection:
            yield Reader(connection, self.clock)

    def unit_of_work(self) -> _InTransaction:
        """A UnitOfWork in a transaction of its own: committed if the block ends with `work.commit()` called,
        rolled back otherwise (and on any exception)."""
        return _InTransaction(self)

    def dispose(self) -> None:
        self.lookups.close()
        self.engine.dispose()


class _InTransaction:
    """`with db.unit_of_work() as work:` (a class rather than a generator: every write pays for this)."""

    __slots__ = ("_db", "_connection", "_transaction", "_work")

    def __init__(self, db: Database) -> None:
        self._db = db

    def __enter__(self) -> UnitOfWork:
        connection = self._db.engine.connect()
        try:
            connection.execution_options(writing=True)
            self._transaction = connection.begin()
            self._work = UnitOfWork(connection, self._db.clock)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return self._work

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None and self._work.committed:
                self._transaction.commit()
            else:
                self._transaction.rollback()
        finally:
            self._connection.close()
