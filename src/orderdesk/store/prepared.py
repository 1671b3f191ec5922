"""Statements of the hot paths, compiled once per database and run on the driver's own cursor.

The tables and statements stay SQLAlchemy Core (one definition, both databases), but executing one
through a Connection costs about ten times what SQLite needs to run it: the cache key, the execution
context, the result wrapper. A `Prepared` statement pays the compilation once and then hands the SQL
straight to the driver: inside the caller's transaction (the same DBAPI connection), or on a connection
of the quick pool (store/quick.py), where each statement is its own transaction. Only for statements
whose parameters and columns are plain values (text, integers, bytes): nothing here runs SQLAlchemy's
type processors.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement


class DriverConnection:
    """A driver's own connection and the dialect that compiles for it: what the quick pool lends."""

    __slots__ = ("driver", "dialect")

    def __init__(self, driver: Any, dialect: Dialect) -> None:
        self.driver = driver
        self.dialect = dialect


class Prepared:
    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        # By dialect name: the SQL, the values of the literals written into the statement, and for a driver
        # that takes parameters by position what puts them in order.
        self._compiled: dict[str, tuple[str, dict[str, Any], Callable | None]] = {}

    def execute(self, connection: Connection | DriverConnection, parameters: dict[str, Any]) -> Any:
        """The driver's cursor, after running the statement with `parameters` (by bind name)."""
        try:
            sql, literals, in_order = self._compiled[connection.dialect.name]
        except KeyError:
            sql, literals, in_order = self._compile(connection.dialect)
        if literals:
            parameters = {**literals, **parameters}
        if in_order is not None:
            parameters = in_order(parameters)
        # Both drivers (sqlite3, psycopg) open a cursor and execute in one call; the cursor closes when
        # dropped.
        if connection.__class__ is DriverConnection:
            return connection.driver.execute(sql, parameters)
        return connection.connection.driver_connection.execute(sql, parameters)

    def first(self, connection: Connection | DriverConnection, parameters: dict[str, Any]) -> tuple | None:
        return self.execute(connection, parameters).fetchone()

    def all(self, connection: Connection | DriverConnection, parameters: dict[str, Any]) -> list[tuple]:
        return self.execute(connection, parameters).fetchall()

    def rowcount(self, connection: Connection | DriverConnection, parameters: dict[str, Any]) -> int:
        return self.execute(connection, parameters).rowcount

    def _compile(self, dialect: Dialect) -> tuple[str, dict[str, Any], Callable | None]:
        compiled = self.statement.compile(dialect=dialect)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError(f"IN over a literal list is expanded at execution; write it with OR: {compiled.string}")
        # `status == "pending"` binds "pending"; the caller's parameters have no value for it.
        literals = {name: value for name, value in compiled.params.items() if value is not None}
        # sqlite3 binds `?` faster than `:name` (for a name it makes a string and looks it up, each call).
        in_order = _in_order(tuple(compiled.positiontup or ())) if compiled.positional else None
        self._compiled[dialect.name] = compiled.string, literals, in_order
        return compiled.string, literals, in_order


def _in_order(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple]:
    """The values of `names`, in order: itemgetter picks them in C, but of one name it gives the value
    itself rather than a tuple of one."""
    if len(names) > 1:
        return itemgetter(*names)
    if names:
        name = names[0]
        return lambda parameters: (parameters[name],)
    return lambda parameters: ()
