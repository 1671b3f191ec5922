"""Where a request's blocking work runs: in one hop to a worker thread, or, for short database work on
SQLite, right on the event loop.

A hop to a thread costs more than an indexed SQLite query (the hand-over, and the two threads taking
turns with the GIL), and SQLite in WAL mode never makes a reader wait. Writes on SQLite take its one
write lock, which every other writer (this process's or another's) holds only for a short transaction.
PostgreSQL is over a socket, so its work always goes to a thread, and so does anything that waits on
the outside world (a payment processor).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from orderdesk.store.database import Database

T = TypeVar("T")


async def in_thread(function: Callable[..., T], *args: Any, limiter: anyio.CapacityLimiter | None = None) -> T:
    return await anyio.to_thread.run_sync(partial(function, *args), limiter=limiter)


# Threads doing PostgreSQL work at once, per process: enough to keep two cores and the server busy;
# more would only queue for the engine's pool (or open connections past it) and fight over the GIL.
DATABASE_THREADS = 16
_database_threads: anyio.CapacityLimiter | None = None


async def on_database(db: Database, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, which only talks to the database: inline on SQLite, in a thread otherwise."""
    global _database_threads
    if db.is_sqlite:
        return function(*args)
    if _database_threads is None:  # made on the event loop that uses it
        _database_threads = anyio.CapacityLimiter(DATABASE_THREADS)
    return await in_thread(function, *args, limiter=_database_threads)


async def with_processor(db: Database, processors: Any, site_id: str, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, which may call the site's processor: inline only when nothing in it leaves the
    process (SQLite, and a processor that answers from the database without waiting), in a thread otherwise.
    Asking SQLite which processor the site has is itself a short read, made inline."""
    if db.is_sqlite and getattr(processors.for_site(site_id), "answers_at_once", False):
        return function(*args)
    return await in_thread(function, *args)
