"""Per-token request budgets in fixed one-minute windows."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until a request would pass; 0 when allowed


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int) -> Verdict: ...


class MemoryRateLimiter:
    """One process's view; use Redis to share the budget across worker processes."""

    def __init__(self, clock=time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, limit: int) -> Verdict:
        now = self._clock()
        window = int(now // WINDOW_SECONDS)
        with self._lock:
            start, used = self._windows.get(key, (window, 0))
            if start != window:
                used = 0
            if used >= limit:
                self._windows[key] = (window, used)
                retry = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
                return Verdict(False, limit, 0, retry)
            self._windows[key] = (window, used + 1)
            return Verdict(True, limit, limit - used - 1, 0)
