"""Processor events already received: a processor delivers each at least once, we apply it once."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from orderdesk.store.tables import processor_events


class ProcessorEventLog:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, key: str, site_id: str, event_type: str, at: int) -> bool:
        """Note the event `key`; False when it was noted before (a replay)."""
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(processor_events).values(
            id=key, site_id=site_id, type=event_type, received_on=at,
        ).on_conflict_do_nothing(index_elements=[processor_events.c.id]).returning(processor_events.c.id)
        # RETURNING, not rowcount: psycopg reports no rowcount for this statement.
        return self.connection.execute(statement).first() is not None
