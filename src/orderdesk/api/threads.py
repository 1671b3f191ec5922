"""Each request's blocking work (database, processor) runs in one hop to a worker thread."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter

T = TypeVar("T")
_limiter: CapacityLimiter | None = None


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    global _limiter
    if os.environ.get("PROF_THREADS") == "0":
        return function(*args)
    if _limiter is None:
        _limiter = CapacityLimiter(int(os.environ.get("PROF_THREADS", "4")))
    return await anyio.to_thread.run_sync(partial(function, *args), limiter=_limiter)
