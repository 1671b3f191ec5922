"""Per-token request budgets in fixed one-minute windows: in memory, or shared through Redis."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import redis
import structlog

from orderdesk.api import metrics
from orderdesk.config import Settings

WINDOW_SECONDS = 60
REDIS_TIMEOUT_SECONDS = 0.25  # Redis answers in well under a millisecond on a healthy network
REDIS_RETRY_SECONDS = 2.0  # after a failure, requests use the memory budget this long before trying Redis again

log = structlog.get_logger("orderdesk.ratelimit")


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until a request would pass; 0 when allowed


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int) -> Verdict: ...
    def forget(self, key: str) -> None: ...  # the key's window starts afresh (the sandbox's reset)


def _window_of(now: float) -> int:
    return int(now // WINDOW_SECONDS)


def _seconds_left(window: int, now: float) -> int:
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def _refused(limit: int, window: int, now: float) -> Verdict:
    metrics.RATE_LIMIT_REJECTIONS.inc()
    return Verdict(False, limit, 0, _seconds_left(window, now))


class MemoryRateLimiter:
    """One process's view; use Redis to share the budget across worker processes."""

    def __init__(self, clock=time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, limit: int) -> Verdict:
        now = self._clock()
        window = _window_of(now)
        with self._lock:
            start, used = self._windows.get(key, (window, 0))
            if start != window:
                used = 0
            if used >= limit:
                self._windows[key] = (window, used)
                return _refused(limit, window, now)
            self._windows[key] = (window, used + 1)
            return Verdict(True, limit, limit - used - 1, 0)

    def forget(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)


class RedisRateLimiter:
    """The budget shared by every process that uses the same Redis: one INCR per request, in one round trip."""

    def __init__(self, client: redis.Redis, clock=time.time, monotonic=time.monotonic,
                 prefix: str = "orderdesk:ratelimit:") -> None:
        self._client = client
        self._clock, self._monotonic = clock, monotonic
        self._prefix = prefix
        self._fallback = MemoryRateLimiter(clock)
        self._retry_at = 0.0  # monotonic time before which Redis is not asked again after a failure
        self._failing = False

    def hit(self, key: str, limit: int) -> Verdict:
        if self._failing and self._monotonic() < self._retry_at:
            return self._fallback.hit(key, limit)
        now = self._clock()
        window = _window_of(now)
        try:
            used = self._count(f"{self._prefix}{key}:{window}", _seconds_left(window, now) + 1)
        except redis.RedisError as error:
            # Fail open: a Redis outage must not take the API down with it. Until Redis answers again
            # each process enforces the limit on its own (so N workers admit up to N times the limit),
            # and the warning is logged once per outage, not once per request.
            if not self._failing:
                log.warning("redis unreachable: rate limits are counted per process until it answers",
                            error=str(error))
            self._failing, self._retry_at = True, self._monotonic() + REDIS_RETRY_SECONDS
            return self._fallback.hit(key, limit)
        if self._failing:
            log.info("redis reachable again: rate limits are shared across processes")
            self._failing = False
        if used > limit:
            return _refused(limit, window, now)
        return Verdict(True, limit, limit - used, 0)

    def forget(self, key: str) -> None:
        self._fallback.forget(key)
        try:
            self._client.delete(f"{self._prefix}{key}:{_window_of(self._clock())}")
        except redis.RedisError as error:
            log.warning("redis unreachable: a rate-limit window was not reset", error=str(error))

    def _count(self, window_key: str, ttl: int) -> int:
        # MULTI/EXEC: the increment and the expiry are applied together, and sent in one round trip. The
        # window number is part of the key, so a new window starts at 0 and the old key expires after
        # its window. A relative EXPIRE is immune to a difference between our clock and Redis's.
        with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(window_key)
            pipe.expire(window_key, ttl)
            used, _ = pipe.execute()
        return used

    def close(self) -> None:
        self._client.close()


def rate_limiter_for(settings: Settings) -> RateLimiter:
    """Redis when `redis_url` is set, so that every worker process shares one budget; memory otherwise."""
    if not settings.redis_url:
        return MemoryRateLimiter()
    client = redis.Redis.from_url(
        settings.redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        retry=None,  # no retries: a failed hit falls back to memory at once
    )
    return RedisRateLimiter(client)
