"""The execution model (api/threads.py): on SQLite a write that finds the write lock taken by another
process waits for it in the writer thread, never on the event loop, so the server's reads go on."""

from __future__ import annotations

import json
import socket
import sqlite3
import time

import httpx
import pytest

from orderdesk.store.database import Database
from orderdesk.store.engine import create_engine, is_sqlite
from tests.factories import make_shop, place
from tests.server import start_server


@pytest.fixture
def own(fresh_database_url):
    if not is_sqlite(fresh_database_url):
        pytest.skip("SQLite's one write lock; PostgreSQL's work always runs in threads")
    database = Database(create_engine(fresh_database_url))
    running = start_server(fresh_database_url, env={"ORDERDESK_DELIVERY_WORKER": "false"})
    yield database, running
    running.stop()
    database.dispose()


def test_a_write_waiting_for_another_process_lock_does_not_hold_up_reads(own):
    db, running = own
    shop = make_shop(db)
    order_id = place(db, shop).order_id
    order_url = f"{running.api}/sites/{shop.site.id}/orders/{order_id}"
    before = httpx.get(order_url, headers=shop.headers).json()

    # Another process (a worker, a seed) holds SQLite's write lock, as its batch does.
    holder = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    patch = socket.create_connection(("127.0.0.1", running.port), timeout=30)
    try:
        # The whole update is in the server's socket before the first read is sent: the event loop reads
        # it, and runs its handler, at the latest while it answers the first read.
        body = json.dumps({"comment": "written after the lock"}).encode()
        patch.sendall(
            f"PATCH /v2/sites/{shop.site.id}/orders/{order_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {shop.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        timings = []
        with httpx.Client(headers=shop.headers, timeout=5) as client:
            for _ in range(20):
                started = time.perf_counter()
                read = client.get(order_url)
                page = client.get(f"{running.api}/sites/{shop.site.id}/orders")
                timings.append(time.perf_counter() - started)
                assert (read.status_code, page.status_code) == (200, 200)
                assert read.json() == before  # the waiting write has changed nothing yet
        # Every read answered while the write waited (its busy timeout is 30 s): on the event loop, the
        # waiting write would have stopped them all until the lock was released.
        patch.setblocking(False)
        with pytest.raises(BlockingIOError):
            patch.recv(1)  # no answer to the update yet
        assert sorted(timings)[len(timings) // 2] < 0.5
    except BaseException:
        patch.close()
        raise
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with patch:
        patch.settimeout(30)
        answer = _response(patch)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["comment"] == "written after the lock"
    assert httpx.get(order_url, headers=shop.headers).json()["comment"] == "written after the lock"


def _response(connection: socket.socket) -> bytes:
    """One whole HTTP response (its Content-Length says where it ends)."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, rest = received.split(b"\r\n\r\n", 1)
    length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(rest) < length:
        rest += connection.recv(65536)
    return head + b"\r\n\r\n" + rest
