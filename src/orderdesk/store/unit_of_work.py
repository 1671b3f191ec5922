"""The unit of work: one transaction that rolls back unless told to commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

from orderdesk.store.engine import is_sqlite
from orderdesk.store.lookups import Lookups


class UnitOfWork:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.committed = False

    def commit(self) -> None:
        self.committed = True


class Database:
    """Hands out connections: `reading()` for queries, `unit_of_work()` for writes, and `lookups` for the
    few reads every request makes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = is_sqlite(str(engine.url))
        self.lookups = Lookups(engine)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        with self.engine.connect() as connection:
            connection = connection.execution_options(writing=True)
            transaction = connection.begin()
            work = UnitOfWork(connection)
            try:
                yield work
            except BaseException:
                transaction.rollback()
                raise
            if work.committed:
                transaction.commit()
            else:
                transaction.rollback()

    def dispose(self) -> None:
        self.lookups.close()
        self.engine.dispose()
