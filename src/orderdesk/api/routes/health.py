"""For operators and their load balancers: liveness, readiness and Prometheus metrics; no token needed."""

from __future__ import annotations

import threading
import time

import msgspec
from litestar import MediaType, Request, Response, get

from orderdesk.api import metrics
from orderdesk.api.threads import in_thread
from orderdesk.store.database import Database
from orderdesk.store.status import not_ready_because

READINESS_SECONDS = 5.0  # how long one readiness answer is reused: the check parses every migration script


class Readiness:
    """Whether this process can serve: the database answers and is at the newest migration."""

    def __init__(self, db: Database, ttl: float = READINESS_SECONDS, clock=time.monotonic) -> None:
        self.db, self.ttl, self.clock = db, ttl, clock
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._reason: str | None = None

    def reason(self) -> str | None:
        """None when ready; otherwise why not, in words safe to show anyone."""
        with self._lock:  # one check at a time: a burst of probes waits for it instead of repeating it
            now = self.clock()
            if self._checked_at is None or now - self._checked_at >= self.ttl:
                self._reason, self._checked_at = not_ready_because(self.db), now
            return self._reason


def _json(value: object, status: int = 200) -> Response:
    return Response(content=msgspec.json.encode(value), media_type=MediaType.JSON, status_code=status)


@get("/healthz")
async def healthz() -> Response:
    return _json({"status": "ok"})


@get("/readyz")
async def readyz(request: Request) -> Response:
    state = request.app.state
    readiness = state.get("readiness") or state.setdefault("readiness", Readiness(state.db))
    reason = await in_thread(readiness.reason)
    if reason is None:
        return _json({"status": "ready"})
    return _json({"status": "unavailable", "reason": reason}, status=503)


@get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    body = await in_thread(metrics.exposition, request.app.state.db)
    return Response(content=body, media_type=metrics.CONTENT_TYPE)


ROUTES = [healthz, readyz, prometheus_metrics]
