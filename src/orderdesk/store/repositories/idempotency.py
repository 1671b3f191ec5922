"""Idempotency keys: one row per (token, key), claimed while its request runs, then its response."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from orderdesk.store.tables import idempotency_keys

RUNNING, DONE = "running", "done"


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: int
    fingerprint: str
    state: str
    status: int | None
    content_type: str | None
    body: bytes | None
    created_on: int


class IdempotencyKeys:
    """Every change is conditional on `created_on`, the claim's stamp: whoever took a row over
    from an abandoned claim cannot have it completed or released by the claim it replaced."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(self, token_id: str, key: str, fingerprint: str, at: int) -> int | None:
        """Insert a running row; its id, or None when (token_id, key) already has one."""
        # ON CONFLICT DO NOTHING loses cleanly to a concurrent claim on both databases; on
        # PostgreSQL it first waits for that claim's transaction to commit or roll back.
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(idempotency_keys).values(
            token_id=token_id, key=key, fingerprint=fingerprint, state=RUNNING, created_on=at,
        ).on_conflict_do_nothing(
            index_elements=[idempotency_keys.c.token_id, idempotency_keys.c.key],
        ).returning(idempotency_keys.c.id)
        return self.connection.execute(statement).scalar_one_or_none()

    def get(self, token_id: str, key: str) -> KeyRow | None:
        columns = idempotency_keys.c
        row = self.connection.execute(
            sa.select(columns.id, columns.fingerprint, columns.state, columns.status, columns.content_type,
                      columns.body, columns.created_on)
            .where(columns.token_id == token_id, columns.key == key)
        ).first()
        return KeyRow(*row) if row else None

    def take_over(self, row_id: int, created_on: int, fingerprint: str, at: int) -> bool:
        """Make an expired or abandoned row a fresh running claim stamped `at`; False if someone else did."""
        return self._update(row_id, created_on, {
            "fingerprint": fingerprint, "state": RUNNING, "status": None, "content_type": None, "body": None,
            "created_on": at,
        })

    def complete(self, row_id: int, created_on: int, status: int, content_type: str | None, body: bytes) -> bool:
        return self._update(row_id, created_on, {
            "state": DONE, "status": status, "content_type": content_type, "body": body,
        })

    def release(self, row_id: int, created_on: int) -> bool:
        columns = idempotency_keys.c
        deleted = self.connection.execute(
            sa.delete(idempotency_keys).where(columns.id == row_id, columns.created_on == created_on)
        )
        return deleted.rowcount == 1

    def delete_created_before(self, cutoff: int) -> int:
        deleted = self.connection.execute(
            sa.delete(idempotency_keys).where(idempotency_keys.c.created_on < cutoff)
        )
        return deleted.rowcount

    def _update(self, row_id: int, created_on: int, values: dict[str, object]) -> bool:
        columns = idempotency_keys.c
        updated = self.connection.execute(
            sa.update(idempotency_keys).where(columns.id == row_id, columns.created_on == created_on).values(values)
        )
        return updated.rowcount == 1
