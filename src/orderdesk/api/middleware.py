"""Every response carries X-Request-Id and, once a token is known, its rate-limit headers; every request is
counted in the metrics, and everything logged while it is handled carries its request id."""

from __future__ import annotations

import os
import time

import structlog

from orderdesk.api import metrics

log = structlog.get_logger("orderdesk.http")


class RequestContext:
    def __init__(self, app, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = os.urandom(16).hex()  # as random as uuid4().hex, at a tenth of the cost
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(state.get("response_headers", ()))
                message = {**message, "headers": headers}
            await send(message)

        # Context variables follow the request into the worker threads that run its handlers (anyio copies
        # the context). bind/reset rather than `bound_contextvars`: a quarter of the cost on the hot path.
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            # Litestar leaves the matched route's template in the scope; a raw path would give every
            # order its own time series.
            route = scope.get("path_template") or metrics.UNROUTED
            metrics.record_request(scope["method"], route, status, seconds)
            if self.access_log:
                log.info("request", method=scope["method"], path=scope["path"], route=route, status=status,
                         duration_ms=round(seconds * 1000, 2))
            structlog.contextvars.reset_contextvars(**bound)
