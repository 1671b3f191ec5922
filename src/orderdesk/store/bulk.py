"""Loading many rows at once (seeding): through the driver, executemany on SQLite and binary COPY on
PostgreSQL, on one connection tuned for it and put back afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderdesk.store.database import Database

# For the seeding connection only, and put back afterwards. The counting trigger makes every insert a
# statement that may have to roll itself back, and SQLite keeps that statement journal in a temporary
# file unless told to keep it in memory; a bigger cache keeps the indexes that grow at random (order
# ids, payment references) in memory.
_SQLITE_PRAGMAS = {"temp_store": "MEMORY", "cache_size": "-262144"}


@contextmanager
def _sqlite_tuned(connection: Connection) -> Iterator[None]:
    driver = connection.connection.driver_connection
    before = {name: driver.execute(f"PRAGMA {name}").fetchone()[0] for name in _SQLITE_PRAGMAS}
    for name, value in _SQLITE_PRAGMAS.items():
        driver.execute(f"PRAGMA {name}={value}")
    try:
        yield
    finally:
        for name, value in before.items():
            driver.execute(f"PRAGMA {name}={value}")


@contextmanager
def _postgres_tuned(connection: Connection) -> Iterator[None]:
    """Documents are TOASTed; lz4 compresses them several times faster than the default pglz, on the
    server's share of the two cores. Only for this session's writes, and only where the server has it."""
    has_lz4 = connection.exec_driver_sql(
        "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)").first()
    if has_lz4:
        connection.exec_driver_sql("SET default_toast_compression = lz4")
    connection.commit()
    try:
        yield
    finally:
        if has_lz4:
            connection.exec_driver_sql("RESET default_toast_compression")
            connection.commit()


def _insert(connection: Connection, table: sa.Table, columns: tuple[str, ...], values: list[tuple]) -> None:
    if values:
        connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values)


_BINARY_COPY_TYPES = {sa.BigInteger: "int8", sa.Integer: "int4", sa.LargeBinary: "bytea"}  # the rest is text


def _copy(connection: Connection, table: sa.Table, columns: tuple[str, ...], values: list[tuple]) -> None:
    """PostgreSQL's COPY: one statement (so the counting trigger runs once) and no per-row round trips;
    binary, so that documents go as they are rather than as escaped hex text."""
    if values:
        with connection.connection.driver_connection.cursor() as cursor, \
                cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([_BINARY_COPY_TYPES.get(type(table.c[name].type), "text") for name in columns])
            for row in values:
                copy.write_row(row)


@contextmanager
def writer(db: Database, *targets: tuple[sa.Table, tuple[str, ...]]) -> Iterator[Callable[..., None]]:
    """`write(rows, rows, ...)`: one list of rows per target (a table and its columns, in that order),
    written in a transaction of its own, on one connection held for the whole load."""
    with db.engine.connect() as connection:
        connection = connection.execution_options(writing=True)
        add, tuned = (_insert, _sqlite_tuned) if db.is_sqlite else (_copy, _postgres_tuned)

        def write(*rows: list[tuple]) -> None:
            with connection.begin():
                for (table, columns), values in zip(targets, rows, strict=True):
                    add(connection, table, columns, values)

        with tuned(connection):
            yield write
        if not db.is_sqlite:
            # PostgreSQL plans from statistics; straight after a bulk load it has none (autovacuum comes
            # later) and would sort a whole site's orders for every page instead of walking the index.
            for table, _ in targets:
                connection.exec_driver_sql(f"ANALYZE {table.name}")
            connection.commit()
