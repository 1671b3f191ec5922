"""One delivery attempt: the signed POST, under one deadline for everything it waits on.

Per-read timeouts let a receiver that sends a byte now and then, or a DNS server that answers slowly,
hold an attempt for ever; `asyncio.timeout` bounds the whole attempt: the lookup, connecting, TLS, the
request and the answer. The answer's head is bounded by h11 (100 KiB) and at most `MAX_BODY` of its
body is read, only so that the connection can serve the webhook's next delivery; the status, once its
head has arrived, is the answer, whatever becomes of the body.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from orderdesk.domain import clock
from orderdesk.store.repositories.webhooks import Claimed
from orderdesk.webhooks.addresses import Address, TargetRefused, check_url, resolve
from orderdesk.webhooks.signing import signed_headers

MAX_BODY = 64 * 1024
FAILURES = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, httpcore.TimeoutException)
# The addresses the current attempt checked: where its connection goes, whatever the URL's name resolves to now.
_CHECKED: contextvars.ContextVar[list[Address]] = contextvars.ContextVar("checked_addresses")


@dataclass(frozen=True, slots=True)
class Attempt:
    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code == 200


class _CheckedAddresses(httpcore.AsyncNetworkBackend):
    """Connects to the addresses the attempt checked, never to a second lookup's answer (DNS rebinding).
    Connections are pooled by the URL's scheme, name and port, so a kept-alive one only ever serves
    that name, over TLS checked for that name, at an address checked when it was opened."""

    def __init__(self) -> None:
        self._sockets = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        addresses = _CHECKED.get()
        for index, address in enumerate(addresses):
            try:
                return await self._sockets.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except httpcore.ConnectError:
                if index == len(addresses) - 1:
                    raise
        raise httpcore.ConnectError(f"no address to connect to for {host}")

    async def sleep(self, seconds: float) -> None:
        await self._sockets.sleep(seconds)


def new_pool(size: int) -> httpcore.AsyncConnectionPool:
    """The connections of one event loop's attempts (no proxy: it would connect wherever it resolved the name).
    An idle one is closed after 4 s, before a Node.js receiver's own 5 s would close it under a request."""
    return httpcore.AsyncConnectionPool(ssl_context=httpx.create_ssl_context(), max_connections=size,
                                        max_keepalive_connections=size, keepalive_expiry=4.0,
                                        network_backend=_CheckedAddresses())


@dataclass(slots=True)
class _Answer:
    status: int | None = None  # set once the answer's head has arrived


async def attempt(pool: httpcore.AsyncConnectionPool, claimed: Claimed, seconds: float, allow_private: bool,
                  resolver: Executor) -> Attempt:
    """POST the delivery once, giving up after `seconds` whatever the receiver (or its DNS) does."""
    started, answer, error = time.perf_counter(), _Answer(), None
    try:
        async with asyncio.timeout(seconds):
            await _post(pool, claimed, allow_private, resolver, answer)
    except TimeoutError:
        error = f"timed out after {seconds:g} s"
    except TargetRefused as refused:
        error = f"refused: {refused}"
    except FAILURES as failure:
        error = f"{type(failure).__name__}: {_innermost(failure)}"
    if answer.status is not None:
        return Attempt(answer.status, _since(started), None if answer.status == 200 else f"HTTP {answer.status}")
    return Attempt(None, _since(started), error[:255] if error else None)


async def _post(pool: httpcore.AsyncConnectionPool, claimed: Claimed, allow_private: bool, resolver: Executor,
                answer: _Answer) -> None:
    target = check_url(claimed.url, allow_private)  # checked again: the rules may be stricter than at registration
    _CHECKED.set(await resolve(target, allow_private, resolver))  # and DNS may have changed since
    headers = {**signed_headers(claimed.secret_key, clock.to_millis(clock.now()), claimed.body, claimed.event_id),
               "Host": target.authority}
    url = httpcore.URL(scheme=target.scheme, host=target.host, port=target.port, target=target.path)
    async with pool.stream("POST", url, headers=list(headers.items()), content=claimed.body) as response:
        answer.status = response.status
        read = 0
        async for chunk in response.aiter_stream():
            read += len(chunk)
            if read > MAX_BODY:
                break  # the connection is closed instead of kept


def _innermost(failure: BaseException) -> BaseException:
    """What went wrong at the bottom: anyio reports a refused connection as "All connection attempts failed",
    and httpcore wraps that (its first argument; the pool drops the `__cause__`)."""
    while True:
        wrapped = failure.args[0] if failure.args and isinstance(failure.args[0], BaseException) else None
        inner = failure.__cause__ or wrapped
        if inner is None:
            return failure
        failure = inner


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
