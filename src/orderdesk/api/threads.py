"""Where a request's blocking work runs: in one hop to a worker thread, or, for short database work on
SQLite, right on the event loop.

A hop to a thread costs more than an indexed SQLite query (the hand-over, and the two threads taking
turns with the GIL), and SQLite in WAL mode never makes a reader wait. A write does wait, for the one
write lock, whenever another connection holds it (`orderdesk worker`, `seed`, another server process),
so on the loop a write never waits: if the lock is taken when its transaction begins, nothing has been
written yet, and the same work runs again in the writer thread, which waits for the lock there (store/
engine.py, `writes_without_waiting`). PostgreSQL is over a socket, so its work always goes to a thread,
and so does anything that waits on the outside world (a payment processor).
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
from orderdesk.store.engine import WriteLockBusy, writes_without_waiting

T = TypeVar("T")


async def in_thread(function: Callable[..., T], *args: Any, limiter: anyio.CapacityLimiter | None = None) -> T:
    return await anyio.to_thread.run_sync(partial(function, *args), limiter=limiter)


# Threads doing PostgreSQL work at once, per process: enough to keep two cores and the server busy;
# more would only queue for the engine's pool (or open connections past it) and fight over the GIL.
DATABASE_THREADS = 16
_database_threads = ThreadPoolExecutor(DATABASE_THREADS, thread_name_prefix="orderdesk-database")
# SQLite writes that found the lock taken wait in one thread at a time: SQLite has one write lock, and
# several threads polling for it in its busy handler (sleeps of up to 100 ms) only delay each other.
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
    try:
        with writes_without_waiting():
            return function(*args)
    except WriteLockBusy:
        return await in_thread(function, *args, limiter=_limiter("sqlite writer", SQLITE_WRITER_THREADS))
