"""Where a request's blocking work runs: in one hop to a worker thread, or, for short database work on
SQLite, right on the event loop.

A hop to a thread costs more than an indexed SQLite query (the hand-over, and the two threads taking
turns with the GIL), and SQLite in WAL mode never makes a reader wait. A write does wait, for the one
write lock, whenever another connection holds it (`orderdesk worker`, `seed`, another server process),
so on the loop a write never waits: if the lock is taken when its transaction begins, nothing has been
written yet, and the same work is tried again on the loop a few milliseconds later (`_on_sqlite` below,
store/engine.py's `writes_without_waiting`). PostgreSQL is over a socket, so its work always goes to a
thread, and so does anything that waits on the outside world (a payment processor).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from orderdesk.store.database import Database
from orderdesk.store.engine import BUSY_TIMEOUT_MS, WriteLockBusy, writes_without_waiting

T = TypeVar("T")


async def in_thread(function: Callable[..., T], *args: Any, limiter: anyio.CapacityLimiter | None = None) -> T:
    return await anyio.to_thread.run_sync(partial(function, *args), limiter=limiter)


# Threads doing PostgreSQL work at once, per process. Measured (GET one order, one worker, 32 connections,
# medians of 7 runs, side by side): 16 threads 1,146-1,472 req/s, 6 threads 1,531-1,634, 4 threads
# 1,575-1,999: past a few, threads only take turns with the GIL. Six leave room for writes waiting on a
# row lock (a race of refunds on one order) without making every other request queue behind them.
DATABASE_THREADS = 6
_database_threads = ThreadPoolExecutor(DATABASE_THREADS, thread_name_prefix="orderdesk-database")
# A SQLite write that found the write lock taken tries again after 1 ms, then 2, 4, 8 and every 10 ms.
FIRST_RETRY_SECONDS, LAST_RETRY_SECONDS = 0.001, 0.010
# A write still refused after the whole busy timeout waits once more, in one thread at a time.
SQLITE_WRITER_THREADS = 1
_limiters: dict[str, anyio.CapacityLimiter] = {}


def _limiter(name: str, threads: int) -> anyio.CapacityLimiter:
    if name not in _limiters:  # made on the event loop that uses it
        _limiters[name] = anyio.CapacityLimiter(threads)
    return _limiters[name]


async def on_database(db: Database, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, which only talks to the database: inline on SQLite, in a thread otherwise."""
    if db.is_sqlite:
        return await _on_sqlite(function, *args)
    return await asyncio.get_running_loop().run_in_executor(
        _database_threads, copy_context().run, partial(function, *args))


async def with_processor(db: Database, processors: Any, site_id: str, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, which may call the site's processor: inline only when nothing in it leaves the
    process (SQLite, and a processor that answers from the database without waiting), in a thread otherwise.
    Asking SQLite which processor the site has is itself a short read, made inline."""
    if db.is_sqlite and getattr(processors.for_site(site_id), "answers_at_once", False):
        return await _on_sqlite(function, *args)
    return await in_thread(function, *args)


async def _on_sqlite(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` on the event loop; while another connection holds SQLite's write lock, tried again
    on the loop a little later, never waiting there.

    Waiting for the lock in a thread instead would make every write of the process queue behind it: while
    that thread holds the lock, each write the loop begins finds it taken too. Retried here, the process's
    own writes never find each other in the way, and only another process's holding costs retries."""
    delay, waited = FIRST_RETRY_SECONDS, 0.0
    while True:
        try:
            with writes_without_waiting():
                return function(*args)
        except WriteLockBusy:
            if waited >= BUSY_TIMEOUT_MS / 1000:
                break
        await asyncio.sleep(delay)
        waited += delay
        delay = min(delay * 2, LAST_RETRY_SECONDS)
    # Held for the whole busy timeout: one last try that waits as long again, in a thread, and fails as
    # SQLite does if the lock is still held then.
    return await in_thread(function, *args, limiter=_limiter("sqlite writer", SQLITE_WRITER_THREADS))
