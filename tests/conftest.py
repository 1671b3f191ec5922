"""Shared fixtures: a real database (SQLite by default, PostgreSQL when ORDERDESK_TEST_DATABASE_URL
says so) migrated once per run, and a real server process speaking HTTP on loopback."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from orderdesk.store.engine import create_engine, is_sqlite, normalize_url
from orderdesk.store.migrate import upgrade
from orderdesk.store.database import Database
from tests.server import RunningServer, start_server


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("ORDERDESK_TEST_DATABASE_URL")
    if url:
        return normalize_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'orderdesk.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = _database_url(tmp_path_factory)
    engine = create_engine(url, pool_size=1)
    if not is_sqlite(url):
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def fresh_database_url(tmp_path, database_url) -> str:
    """A database of the test's own, migrated and empty: no other test server's workers touch it."""
    if is_sqlite(database_url):
        url = f"sqlite:///{tmp_path / 'own.db'}"
    else:
        # Named after the run's database, so that two runs on two test databases keep out of each other's way.
        server, name = database_url.rsplit("/", 1)
        own = f"orderdesk_own_{name}"
        admin = create_engine(server + "/postgres", pool_size=1)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{own}"'))
        admin.dispose()
        url = f"{server}/{own}"
    engine = create_engine(url, pool_size=1)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def db(database_url) -> Database:
    database = Database(create_engine(database_url))
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def server(database_url) -> RunningServer:
    """One server process for the run; each test makes its own site and token."""
    running = start_server(database_url)
    yield running
    running.stop()
