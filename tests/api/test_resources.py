"""Bounded resources (issue 9, item 6): what a hostile client can hold of a server, over raw sockets.

Header, body and idle timeouts; the connection cap; the token checked before a body is read; the
server's own refusals in the envelope; PostgreSQL connections within the pool under a burst; and
`serve --workers N` refusing to count rate limits per process. Servers here run with timeouts of a
second or less (ORDERDESK_* variables), so that each case takes about that long.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from orderdesk.services import orders as order_service
from orderdesk.store.engine import create_engine, is_sqlite
from orderdesk.store.database import Database
from tests.api.test_errors import envelope
from tests.api.test_rate_limits import start_of_a_window
from tests.factories import make_shop, order_body, place
from tests.server import free_port, start_server

HEADER_TIMEOUT, BODY_TIMEOUT, KEEP_ALIVE_TIMEOUT = 1.0, 1.0, 0.5
SLACK = 1.5  # seconds a loaded CI machine may add to a timeout before the server acts on it
EARLY = 0.2  # seconds by which the server's clock, started as it took the bytes, may lead ours
MIB = 1024 * 1024
REQUEST_ID = re.compile(rb"[0-9a-f]{32}\Z")
NOT_AUTHORIZED = envelope("not_authorized", "Request not authorized")
TIMED_OUT = envelope("bad_request", "Bad Request: The request did not arrive in time")
TOO_MANY_CONNECTIONS = envelope("service_unavailable", "Service Unavailable: Too many open connections, try again shortly")


@pytest.fixture(scope="module")
def bounded(database_url):
    """A server with short timeouts, on the session's database."""
    running = start_server(database_url, env={
        "ORDERDESK_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "ORDERDESK_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "ORDERDESK_KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE_TIMEOUT), "ORDERDESK_DELIVERY_WORKER": "false"})
    yield running
    running.stop()


# --- a client on a raw socket ---------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict[bytes, bytes]
    body: bytes
    head: bytes  # everything before the body, as sent


class Connection:
    def __init__(self, server) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port))
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self, within: float = 5.0) -> Answer:
        """The next response, read whole (by its Content-Length)."""
        deadline = time.monotonic() + within
        while b"\r\n\r\n" not in self.buffer:
            self._receive(deadline)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
        length = int(headers.get(b"content-length", b"0"))
        while len(self.buffer) < length:
            self._receive(deadline)
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(int(lines[0].split()[1]), headers, body, head)

    def closed_after(self, within: float = 5.0) -> float:
        """Seconds until the server closes the connection; fails if it sends more or stays open."""
        started = time.monotonic()
        deadline = started + within
        while True:
            try:
                if not self._receive(deadline):
                    return time.monotonic() - started
            except ConnectionResetError:
                return time.monotonic() - started
            assert self.buffer == b"", self.buffer

    def _receive(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        assert left > 0, "the server neither answered nor closed in time"
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return chunk

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def connect():
    """Opens raw connections to a server, and closes them after the test."""
    opened: list[Connection] = []

    def connected(server) -> Connection:
        opened.append(Connection(server))
        return opened[-1]

    yield connected
    for connection in opened:
        connection.close()


def head_of(method: str, path: str, *headers: str) -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: orderdesk", *headers, "", ""]).encode()


def assert_envelope(answer: Answer, status: int, body: bytes) -> None:
    assert (answer.status, answer.body) == (status, body)
    assert answer.headers[b"content-type"] == b"application/json"
    assert REQUEST_ID.match(answer.headers[b"x-request-id"])


# --- header, idle and body timeouts -----------------------------------------------------------------

def test_headers_sent_a_byte_at_a_time_are_answered_408_and_closed_after_the_header_timeout(bounded, connect):
    # Given a client that sends a request's headers a byte at a time and never finishes them
    connection = connect(bounded)
    started = time.monotonic()
    slow = iter(head_of("GET", "/v2/token/introspect").removesuffix(b"\r\n\r\n") + b"\r\nX-Slow: " + b"a" * 10_000)
    connection.sock.settimeout(0.05)
    while not connection.buffer and time.monotonic() - started < HEADER_TIMEOUT + SLACK:
        connection.send(bytes([next(slow)]))
        try:  # each wait for the server's answer paces the next byte
            connection.buffer += connection.sock.recv(65536)
        except TimeoutError:
            pass

    # When the header timeout passes
    answer = connection.answer()
    elapsed = time.monotonic() - started

    # Then the server answers 408 in the envelope and closes the connection
    assert_envelope(answer, 408, TIMED_OUT)
    assert answer.headers[b"connection"] == b"close"
    assert connection.closed_after() < SLACK
    assert HEADER_TIMEOUT - EARLY <= elapsed < HEADER_TIMEOUT + SLACK


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(bounded, connect):
    connection = connect(bounded)

    elapsed = connection.closed_after()

    assert connection.buffer == b""  # nothing to answer
    assert HEADER_TIMEOUT - EARLY <= elapsed < HEADER_TIMEOUT + SLACK


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(bounded, connect):
    # Given a connection that was answered and kept alive
    connection = connect(bounded)
    connection.send(head_of("GET", "/healthz"))
    assert connection.answer().status == 200

    # When it sends nothing more, or only blank lines that begin no request
    elapsed = connection.closed_after()
    blank = connect(bounded)
    blank.send(head_of("GET", "/healthz"))
    assert blank.answer().status == 200
    blank.send(b"\r\n")
    blank_elapsed = blank.closed_after()

    # Then the server closes it: after the keep-alive timeout, or the header timeout once bytes came
    assert KEEP_ALIVE_TIMEOUT - EARLY <= elapsed < KEEP_ALIVE_TIMEOUT + SLACK
    assert HEADER_TIMEOUT - EARLY <= blank_elapsed < HEADER_TIMEOUT + SLACK


def test_a_body_that_stalls_is_answered_408_and_changes_nothing(bounded, db, connect):
    # Given an order, and an authenticated PATCH whose body stops after its first 10 bytes
    shop = make_shop(db)
    order = place(db, shop)
    before = order_service.get_order(db, shop.site.id, order.order_id)
    body = b'{"comment":"never arrives in full, ...."}'
    connection = connect(bounded)
    connection.send(head_of("PATCH", f"/v2/sites/{shop.site.id}/orders/{order.order_id}",
                            f"Authorization: Bearer {shop.token}", "Content-Type: application/json",
                            f"Content-Length: {len(body)}") + body[:10])
    started = time.monotonic()

    # When the body timeout passes
    answer = connection.answer()
    elapsed = time.monotonic() - started

    # Then a 408 in the envelope, the connection closed, and the order unchanged
    assert_envelope(answer, 408, TIMED_OUT)
    assert connection.closed_after() < SLACK
    assert BODY_TIMEOUT - EARLY <= elapsed < BODY_TIMEOUT + SLACK
    assert order_service.get_order(db, shop.site.id, order.order_id) == before


# --- the connection cap -----------------------------------------------------------------------------

def test_connections_over_the_cap_are_refused_until_others_close(database_url, connect):
    # Given a server that allows 3 open connections, and 3 clients holding one each
    server = start_server(database_url, env={"ORDERDESK_MAX_CONNECTIONS": "3", "ORDERDESK_HEADER_TIMEOUT": "30",
                                             "ORDERDESK_DELIVERY_WORKER": "false"})
    try:
        holders = [connect(server) for _ in range(3)]

        # When a fourth asks for something, and a fifth says nothing
        refused = connect(server)
        refused.send(head_of("GET", "/healthz"))
        answer = refused.answer()
        silent = connect(server)
        silent_elapsed = silent.closed_after()

        # Then the fourth gets a 503 in the envelope and is closed; the fifth is closed within a second,
        # long before the header timeout; once the three holders leave, requests pass again
        assert_envelope(answer, 503, TOO_MANY_CONNECTIONS)
        assert answer.headers[b"connection"] == b"close"
        assert refused.closed_after() < SLACK
        assert silent_elapsed < 1.0 + SLACK
        for holder in holders:
            holder.close()
        statuses = []
        deadline = time.monotonic() + 5
        while not statuses or statuses[-1] != 200:  # the server sees the holders go in its own time
            assert time.monotonic() < deadline, statuses
            statuses.append(httpx.get(f"{server.url}/healthz").status_code)
        assert set(statuses[:-1]) <= {503}
        assert [httpx.get(f"{server.url}/healthz").status_code for _ in range(3)] == [200] * 3
    finally:
        server.stop()


# --- the token before the body ----------------------------------------------------------------------

GATED = [
    ("POST", "/v2/sites/{site}/orders"),
    ("PATCH", "/v2/sites/{site}/orders/{order}"),
    ("POST", "/v2/sites/{site}/orders/{order}/fulfill"),
    ("POST", "/v2/sites/{site}/orders/{order}/unfulfill"),
    ("POST", "/v2/sites/{site}/orders/{order}/refund"),
    ("POST", "/v2/sites/{site}/refunds"),
    ("POST", "/v2/sites/{site}/refunds/re_unknown"),
    ("POST", "/v2/sites/{site}/webhooks"),
    ("POST", "/v2/webhooks/{webhook}/deliveries/{webhook}/redeliver"),
    ("POST", "/v2/webhooks/{webhook}/reactivate"),
]


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz"])
@pytest.mark.parametrize(("method", "path"), GATED)
def test_a_write_without_a_live_token_is_refused_before_its_body_is_sent(bounded, db, connect, method, path,
                                                                      authorization):
    # Given a site with an order, and a client that announces a 1 MiB body and sends only the headers
    shop = make_shop(db)
    order = place(db, shop)
    before = order_service.list_orders(db, shop.site.id, None, 0, 100)
    headers = ["Content-Type: application/json", f"Content-Length: {MIB}"]
    connection = connect(bounded)
    connection.send(head_of(method, path.format(site=shop.site.id, order=order.order_id, webhook="0" * 24),
                            *headers, *([f"Authorization: {authorization}"] if authorization else [])))

    # When it waits, body unsent
    answer = connection.answer(within=BODY_TIMEOUT / 2)

    # Then the 401 comes at once, and nothing changed
    assert_envelope(answer, 401, NOT_AUTHORIZED)
    assert order_service.list_orders(db, shop.site.id, None, 0, 100) == before


def test_a_client_waiting_for_100_continue_gets_the_401_instead_and_is_closed(bounded, db, connect):
    shop = make_shop(db)
    connection = connect(bounded)

    connection.send(head_of("POST", f"/v2/sites/{shop.site.id}/orders", "Content-Type: application/json",
                            f"Content-Length: {MIB}", "Expect: 100-continue"))
    answer = connection.answer(within=BODY_TIMEOUT / 2)

    assert answer.head.startswith(b"HTTP/1.1 401 ")  # no 100 Continue before it: the body is never asked for
    assert_envelope(answer, 401, NOT_AUTHORIZED)
    assert connection.closed_after() < KEEP_ALIVE_TIMEOUT - EARLY  # at once, before any timeout could close it
    assert order_service.list_orders(db, shop.site.id, None, 0, 100).total == 0


def test_after_an_early_401_the_rest_of_the_body_has_the_body_timeout_to_arrive(bounded, db, connect):
    # Given a client answered 401 before it sent its 1 MiB body
    shop = make_shop(db)
    connection = connect(bounded)
    connection.send(head_of("POST", f"/v2/sites/{shop.site.id}/orders", f"Content-Length: {MIB}"))
    assert connection.answer().status == 401
    answered = time.monotonic()

    # When it trickles the body on, a byte at a time
    connection.sock.settimeout(0.1)
    closed = False
    while not closed and time.monotonic() - answered < BODY_TIMEOUT + SLACK:
        try:
            connection.send(b"x")
            closed = connection.sock.recv(65536) == b""  # each wait for the close paces the next byte
        except TimeoutError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    elapsed = time.monotonic() - answered

    # Then the server drops it the body timeout after its answer
    assert closed
    assert BODY_TIMEOUT - EARLY <= elapsed < BODY_TIMEOUT + SLACK


def test_after_an_early_401_a_silent_connection_is_closed_after_the_keep_alive_timeout(bounded, db, connect):
    shop = make_shop(db)
    connection = connect(bounded)
    connection.send(head_of("POST", f"/v2/sites/{shop.site.id}/orders", f"Content-Length: {MIB}"))
    assert connection.answer().status == 401

    elapsed = connection.closed_after()

    assert KEEP_ALIVE_TIMEOUT - EARLY <= elapsed < KEEP_ALIVE_TIMEOUT + SLACK


def test_a_live_token_spends_its_rate_limit_once_per_write(bounded, db):
    # Given a token allowed 10 requests a minute
    shop = make_shop(db, rate_limit=10)
    order = place(db, shop)
    site_orders = f"{bounded.api}/sites/{shop.site.id}/orders"
    start_of_a_window()  # the three requests must fall in one minute's window

    # When it updates an order, places one with an Idempotency-Key, and repeats that placing
    with httpx.Client(headers=shop.headers) as client:
        updated = client.patch(f"{site_orders}/{order.order_id}", json={"comment": "once"})
        placed = client.post(site_orders, json=order_body(), headers={"Idempotency-Key": "resources-1"})
        replayed = client.post(site_orders, json=order_body(), headers={"Idempotency-Key": "resources-1"})

    # Then each request counts exactly once
    assert [r.status_code for r in (updated, placed, replayed)] == [200, 201, 201]
    assert [r.headers["x-ratelimit-remaining"] for r in (updated, placed, replayed)] == ["9", "8", "7"]
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == placed.content


# --- the server's own refusals ----------------------------------------------------------------------

@pytest.mark.parametrize(("request_bytes", "status", "message"), [
    (b"NOT A REQUEST LINE\r\n\r\n", 400, "Bad Request: Request is malformed"),
    (head_of("GET", "/v2/sites", "Bad Header Without A Colon"), 400, "Bad Request: Request is malformed"),
    (head_of("GET", "/v2/sites/" + "a" * 70_000), 414, "Bad Request: The URL is longer than 64 KiB"),
    (head_of("GET", "/v2/sites", "X-Big: " + "a" * 70_000), 431, "Bad Request: Request headers are larger than 64 KiB"),
], ids=["request line", "header line", "url over 64 KiB", "headers over 64 KiB"])
def test_a_request_the_parser_refuses_is_answered_in_the_envelope(bounded, request_bytes, status, message, connect):
    connection = connect(bounded)

    connection.send(request_bytes)
    answer = connection.answer()

    assert_envelope(answer, status, envelope("bad_request", message))
    assert answer.headers[b"connection"] == b"close"
    assert connection.closed_after() < SLACK


# --- PostgreSQL connections -------------------------------------------------------------------------

def test_a_burst_on_two_workers_stays_within_their_pools(fresh_database_url):
    if is_sqlite(fresh_database_url):
        pytest.skip("PostgreSQL only: SQLite has no connections to count")
    # Given a site with orders, on a database of its own that only the server then uses
    own = Database(create_engine(fresh_database_url, pool_size=1))
    shop = make_shop(own)
    order_ids = [place(own, shop).order_id for _ in range(10)]
    own.dispose()
    server = start_server(fresh_database_url, workers=2, env={"ORDERDESK_DATABASE_POOL_SIZE": "10",
                                                              "ORDERDESK_DELIVERY_WORKER": "false"})
    database = make_url(fresh_database_url).database
    admin = make_url(fresh_database_url).set(drivername="postgresql", database="postgres")
    peak, sampling = [0], threading.Event()

    def sample() -> None:
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as connection:
            while not sampling.wait(0.005):  # until the burst is over, a look every 5 ms
                count = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                           (database,)).fetchone()[0]
                peak[0] = max(peak[0], count)

    async def burst() -> list[int]:
        site_orders = f"{server.api}/sites/{shop.site.id}/orders"
        limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
        async with httpx.AsyncClient(headers=shop.headers, limits=limits, timeout=60) as client:
            calls = [client.get(f"{site_orders}/{order_ids[n % 10]}") for n in range(100)]
            calls += [client.get(site_orders, params={"limit": "5"}) for _ in range(50)]
            calls += [client.patch(f"{site_orders}/{order_ids[n % 10]}", json={"comment": f"burst {n}"})
                      for n in range(75)]
            calls += [client.post(site_orders, json=order_body()) for _ in range(75)]
            return [response.status_code for response in await asyncio.gather(*calls)]

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        # When 300 requests arrive at once, each on a connection of its own
        statuses = asyncio.run(burst())
    finally:
        sampling.set()
        sampler.join()
        server.stop()

    # Then every one is answered, and the two processes never held more than their pools, 10 each
    assert statuses == [200] * 225 + [201] * 75
    assert 0 < peak[0] <= 2 * 10, peak[0]


# --- several workers, one rate limit ------------------------------------------------------------------

def test_serve_with_several_workers_and_no_redis_refuses_to_start(tmp_path):
    database = tmp_path / "never.db"
    environment = {key: value for key, value in os.environ.items() if key != "ORDERDESK_REDIS_URL"}

    finished = subprocess.run(
        [sys.executable, "-m", "orderdesk", "serve", "--workers", "2", "--port", str(free_port()),
         "--database", f"sqlite:///{database}"], env=environment, capture_output=True, text=True, timeout=60)

    assert finished.returncode == 2
    assert finished.stderr == ("error: --workers 2 needs ORDERDESK_REDIS_URL: without Redis each worker process "
                               "would count rate limits on its own, allowing 2 times the limit\n")
    assert not database.exists()  # refused before anything was touched
