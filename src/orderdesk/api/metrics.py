"""Prometheus metrics: request counts and latencies kept per request, database gauges read at scrape time.

With several worker processes `orderdesk serve` sets PROMETHEUS_MULTIPROC_DIR before any worker starts:
each process then writes its counters to files there, and a scrape, whichever process answers it,
sums them all (https://prometheus.github.io/client_python/multiprocess/).
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from orderdesk.domain.refunds import RefundState
from orderdesk.store import status as database_status
from orderdesk.store.database import Database

# The classic text format, which every Prometheus reads; Litestar appends the "; charset=utf-8" itself.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4.removesuffix("; charset=utf-8")
UNROUTED = "unrouted"  # requests that matched no route (and those the server refused before any app)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "orderdesk_http_requests", "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "orderdesk_http_request_duration_seconds", "Time from request to the end of the response, by route template.",
    ["method", "route"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RATE_LIMIT_REJECTIONS = Counter("orderdesk_rate_limit_rejections", "Requests refused (429) for a token's rate limit.")

# The labelled children, looked up once per label set: `labels()` validates and locks on every call.
# A race between two threads would only repeat the lookup, so a plain dict is enough.
_children: dict[tuple[str, str, int], tuple] = {}


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request. `route` must be a template, never a raw path: labels stay few."""
    key = (method, route, status)
    children = _children.get(key)
    if children is None:
        known = method if method in _METHODS else "other"  # the method is the client's word: bound it too
        children = _children[key] = (REQUESTS.labels(known, route, str(status)), DURATION.labels(known, route))
    children[0].inc()
    children[1].observe(seconds)


class DatabaseGauges:
    """Outbox depth and refunds by state, counted when Prometheus asks (these are facts of the database,
    the same whichever process answers)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self):
        backlog = database_status.backlog(self.db)
        if backlog is None:
            return  # the request metrics matter most when the database is in trouble: serve them anyway
        yield GaugeMetricFamily("orderdesk_webhook_deliveries_pending",
                                "Webhook deliveries waiting in the outbox (not yet delivered or given up).",
                                value=backlog.pending_deliveries)
        refunds = GaugeMetricFamily("orderdesk_refunds", "Refunds by state.", labels=["state"])
        by_state = backlog.refunds_by_state
        for state in sorted({*(state.value for state in RefundState), *by_state}):
            refunds.add_metric([state], by_state.get(state, 0))
        yield refunds


def exposition(db: Database) -> bytes:
    """Every metric in Prometheus's text format: this process's, or all processes' in multiprocess mode."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(DatabaseGauges(db))
