"""Statements of the hot paths, compiled once per database and run on the driver's own cursor.

The tables and statements stay SQLAlchemy Core (one definition, both databases), but executing one
through a Connection costs about ten times what SQLite needs to run it: the cache key, the execution
context, the result wrapper. A `Prepared` statement pays the compilation once and then hands the SQL
straight to the driver, inside the caller's transaction (the same DBAPI connection). Only for
statements whose parameters and columns are plain values (text, integers, bytes): nothing here runs
SQLAlchemy's type processors.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement


class Prepared:
    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def execute(self, connection: Connection, parameters: dict[str, Any]) -> Any:
        """The driver's cursor, after running the statement with `parameters` (by bind name)."""
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self.statement, dialect)
        sql, positions, literals = compiled
        values = {**literals, **parameters}
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute(sql, values if positions is None else [values[name] for name in positions])
        return cursor

    def first(self, connection: Connection, parameters: dict[str, Any]) -> tuple | None:
        cursor = self.execute(connection, parameters)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    def all(self, connection: Connection, parameters: dict[str, Any]) -> list[tuple]:
        cursor = self.execute(connection, parameters)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def rowcount(self, connection: Connection, parameters: dict[str, Any]) -> int:
        cursor = self.execute(connection, parameters)
        try:
            return cursor.rowcount
        finally:
            cursor.close()


def _compile(statement: ClauseElement, dialect) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
    """The SQL, the order of its parameters (for drivers that take them by position), and the values
    of the literals written into the statement (`status == "pending"` binds "pending")."""
    compiled = statement.compile(dialect=dialect)
    if "POSTCOMPILE" in compiled.string:
        raise ValueError(f"IN over a literal list is expanded at execution; write it with OR: {compiled.string}")
    literals = {name: value for name, value in compiled.params.items() if value is not None}
    return compiled.string, (tuple(compiled.positiontup or ()) if compiled.positional else None), literals
