"""The unit of work: one transaction that rolls back unless told to commit."""

from __future__ import annotations

from sqlalchemy.engine import Connection


class UnitOfWork:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.committed = False

    def commit(self) -> None:
        self.committed = True
