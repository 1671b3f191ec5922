"""Fixtures of the webhook tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from orderdesk.domain.clock import ManualClock
from orderdesk.store.engine import create_engine
from orderdesk.store.database import Database


@pytest.fixture
def own_db(fresh_database_url) -> Iterator[Database]:
    """A database no other test server delivers from, so that only this test's processes (or its
    Deliverer) send its deliveries and emails."""
    database = Database(create_engine(fresh_database_url))
    yield database
    database.dispose()


@pytest.fixture
def clocked_db(fresh_database_url) -> Iterator[tuple[Database, ManualClock]]:
    """`own_db` on a clock that moves only when the test advances it, from a whole second (so that whole
    seconds later are whole milliseconds, exactly)."""
    time = ManualClock(datetime(2024, 1, 1, tzinfo=UTC))
    database = Database(create_engine(fresh_database_url), time=time)
    yield database, time
    database.dispose()
