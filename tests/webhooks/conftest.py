"""Fixtures of the webhook tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orderdesk.store.engine import create_engine
from orderdesk.store.database import Database


@pytest.fixture
def own_db(fresh_database_url) -> Iterator[Database]:
    """A database no other test server delivers from, so that only this test's processes (or its
    Deliverer) send its deliveries and emails."""
    database = Database(create_engine(fresh_database_url))
    yield database
    database.dispose()
