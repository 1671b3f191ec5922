"""The pytest plugin (entry point `pytest11`): `orderdesk_server`, one sandbox server for the session, and
`orderdesk`, that server with its site reset before each test. Importing this costs nothing until a test
asks for a fixture."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def orderdesk_server():
    from orderdesk.testing import OrderdeskServer

    with OrderdeskServer() as server:
        yield server


@pytest.fixture
def orderdesk(orderdesk_server):
    orderdesk_server.reset()
    return orderdesk_server
