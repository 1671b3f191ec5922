"""For operators: /healthz, /readyz, /metrics (Prometheus text format) and JSON log lines with request ids."""

from __future__ import annotations

import json
import time
from collections import defaultdict

import anyio
import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from litestar import Litestar
from litestar.datastructures import State

from orderdesk.api.routes import health
from orderdesk.api.routes.health import Readiness
from orderdesk.services import webhooks
from orderdesk.store.engine import create_engine
from orderdesk.store.migrate import upgrade
from orderdesk.store.tables import orders
from orderdesk.store.database import Database
from tests.factories import make_shop, order_body
from tests.server import free_port, start_server

ORDERS = "/v2/sites/{site_id}/orders"
ORDER = ORDERS + "/{order_id}"
REFUNDS = "/v2/sites/{site_id}/refunds"
NOT_CURRENT = "database migrations are not current"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def own_db(fresh_database_url):
    database = Database(create_engine(fresh_database_url))
    yield database
    database.dispose()


@pytest.fixture
def start(fresh_database_url):
    """Servers of this test's own, on its own database (no other server counts or delivers there)."""
    servers = []

    def started(env: dict[str, str] | None = None, workers: int = 1):
        servers.append(start_server(fresh_database_url, workers=workers, env=env))
        return servers[-1]

    yield started
    for server in servers:
        server.stop()


def health_app(db: Database) -> Litestar:
    """Only the operations routes, in this process: `serve` migrates its database before it answers."""
    return Litestar(route_handlers=health.ROUTES, state=State({"db": db}), openapi_config=None)


def asgi_get(app, path: str) -> httpx.Response:
    """One request to an app in this process, without a server (and without its start-up jobs)."""
    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orderdesk") as client:
            return await client.get(path)

    return anyio.run(get)


# --- liveness and readiness ------------------------------------------------------------------------


def test_healthz_answers_without_a_token(server):
    response = httpx.get(f"{server.url}/healthz")

    assert (response.status_code, response.content) == (200, b'{"status":"ok"}')
    assert response.headers["content-type"] == "application/json"
    assert len(response.headers["x-request-id"]) == 32
    assert "x-ratelimit-limit" not in response.headers


def test_readyz_is_ready_when_the_database_is_current(server):
    response = httpx.get(f"{server.url}/readyz")

    assert (response.status_code, response.content) == (200, b'{"status":"ready"}')
    assert response.headers["content-type"] == "application/json"


def test_readyz_is_503_on_a_database_behind_on_migrations_and_healthz_still_200(tmp_path):
    # Given the routes on a database that no migration has touched (`serve` would have migrated it)
    db = Database(create_engine(f"sqlite:///{tmp_path / 'behind.db'}"))

    # When a load balancer asks
    ready, healthy = asgi_get(health_app(db), "/readyz"), asgi_get(health_app(db), "/healthz")
    db.dispose()

    # Then the app is alive but not ready, and says why
    assert (ready.status_code, ready.content) == (503, b'{"status":"unavailable","reason":"%s"}' % NOT_CURRENT.encode())
    assert (healthy.status_code, healthy.content) == (200, b'{"status":"ok"}')


def test_readyz_is_503_when_the_database_cannot_be_opened(tmp_path):
    db = Database(create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"))

    ready, healthy = asgi_get(health_app(db), "/readyz"), asgi_get(health_app(db), "/healthz")
    db.dispose()

    assert (ready.status_code, ready.content) == (503, b'{"status":"unavailable","reason":"database unreachable"}')
    assert (healthy.status_code, healthy.content) == (200, b'{"status":"ok"}')


def test_readiness_is_checked_again_only_once_its_answer_is_old(tmp_path):
    # Given a database behind on migrations, and a readiness check that keeps an answer 5 seconds
    db = Database(create_engine(f"sqlite:///{tmp_path / 'behind.db'}"))
    clock = Clock(100.0)
    readiness = Readiness(db, ttl=5.0, clock=clock)
    before = readiness.reason()

    # When the migrations are applied
    upgrade(db.engine)
    clock.now = 104.9
    soon_after = readiness.reason()
    clock.now = 105.0
    later = readiness.reason()
    db.dispose()

    # Then the old answer holds until it is 5 seconds old
    assert (before, soon_after, later) == (NOT_CURRENT, NOT_CURRENT, None)


# --- metrics ------------------------------------------------------------------------------------------


def scrape(server) -> dict[str, dict[tuple, float]]:
    """Every sample, by name, then by its labels."""
    response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[str, dict[tuple, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def moved(before: dict, after: dict, name: str) -> dict[tuple, float]:
    """What each labelled sample of `name` went up by; unmoved ones left out."""
    return {labels: value - before[name].get(labels, 0) for labels, value in after[name].items()
            if value != before[name].get(labels, 0)}


def requests(method: str, route: str, status: int | None = None) -> tuple:
    labels = {"method": method, "route": route} | ({} if status is None else {"status": str(status)})
    return tuple(sorted(labels.items()))


def test_metrics_count_requests_by_route_template_and_read_the_database(start, own_db):
    # Given a server with no delivery worker (deliveries stay pending) and refunds that stay unsettled
    server = start({"ORDERDESK_DELIVERY_WORKER": "false", "ORDERDESK_SIMULATED_FAIL_AFTER": "600",
                    "ORDERDESK_SIMULATED_INFORMATION_WINDOW": "600", "ORDERDESK_RECONCILE_AFTER": "600"})
    shop = make_shop(own_db)
    limited = make_shop(own_db, rate_limit=1)
    webhooks.create_webhook(own_db, shop.site.id, "ecomm_new_order", "http://127.0.0.1:9/hook", None, True)
    site_orders = f"{server.api}/sites/{shop.site.id}/orders"
    before = scrape(server)

    # When orders are placed and refunded (one card for each refund state), read, missed, and over-asked
    with httpx.Client(headers=shop.headers) as client:
        placed = [client.post(site_orders, json=order_body(last4=last4)).json()["orderId"]
                  for last4 in ("4242", "4111", "5126", "0839")]
        refunded = [client.post(f"{server.api}/sites/{shop.site.id}/refunds",
                                json={"orderId": order_id, "currency": "USD", "amount": 10}).json()["state"]
                    for order_id in placed]
        reads = [client.get(f"{site_orders}/{placed[0]}").status_code for _ in range(2)]
        reads += [client.get(f"{site_orders}/fff-fff").status_code, client.get(f"{server.api}/nowhere").status_code]
    with httpx.Client(headers=limited.headers) as client:
        reads += [client.get(f"{server.api}/sites/{limited.site.id}/orders").status_code for _ in range(2)]
    after = scrape(server)

    # Then requests are counted by route template (never by raw path), and the database gauges are exact
    assert refunded == ["succeeded", "failed", "pending", "pending_information"]
    assert reads == [200, 200, 404, 404, 200, 429]
    assert moved(before, after, "orderdesk_http_requests_total") == {
        requests("GET", "/metrics", 200): 1,  # the first scrape
        requests("POST", ORDERS, 201): 4,
        requests("POST", REFUNDS, 201): 4,
        requests("GET", ORDER, 200): 2,
        requests("GET", ORDER, 404): 1,
        requests("GET", "unrouted", 404): 1,
        requests("GET", ORDERS, 200): 1,
        requests("GET", ORDERS, 429): 1,
    }
    assert moved(before, after, "orderdesk_http_request_duration_seconds_count") == {
        requests("GET", "/metrics"): 1, requests("POST", ORDERS): 4, requests("POST", REFUNDS): 4,
        requests("GET", ORDER): 3, requests("GET", "unrouted"): 1, requests("GET", ORDERS): 2,
    }
    assert {labels for labels in after["orderdesk_http_request_duration_seconds_bucket"]
            if dict(labels)["route"] == ORDER} == {
        tuple(sorted({"method": "GET", "route": ORDER, "le": le}.items()))
        for le in ("0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5",
                   "5.0", "10.0", "+Inf")
    }
    assert moved(before, after, "orderdesk_rate_limit_rejections_total") == {(): 1}
    assert after["orderdesk_webhook_deliveries_pending"] == {(): 4}
    assert after["orderdesk_refunds"] == {
        (("state", "expired"),): 0, (("state", "failed"),): 1, (("state", "pending"),): 1,
        (("state", "pending_information"),): 1, (("state", "succeeded"),): 1,
    }


def test_a_scrape_counts_the_requests_of_every_worker_process(start, tmp_path):
    # Given `serve --workers 2`, which keeps its workers' metrics in a folder of its own making
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    server = start({"TMPDIR": str(temporary)}, workers=2)
    folders = [path.name.startswith("orderdesk-metrics-") for path in temporary.iterdir()]

    # When 40 requests arrive, each on a new connection, so that either worker may take it
    statuses = [httpx.get(f"{server.url}/healthz").status_code for _ in range(40)]
    after = scrape(server)
    server.stop()

    # Then one scrape, whichever worker answers it, counts all 40; the folder goes with the server
    assert statuses == [200] * 40
    assert after["orderdesk_http_requests_total"][requests("GET", "/healthz", 200)] == 40
    assert folders == [True]
    assert list(temporary.iterdir()) == []


# --- JSON logs --------------------------------------------------------------------------------------------


def output_with(server, request_id: str) -> str:
    """The server's stderr once the access line of `request_id` is in it: it is written after the response."""
    deadline = time.monotonic() + 10
    while True:
        output = server.output()
        if any(line.get("event") == "request" and line.get("request_id") == request_id
               for line in logged_lines(output)):
            return output
        assert time.monotonic() < deadline, output
        time.sleep(0.05)


def logged_lines(output: str) -> list[dict]:
    """The complete JSON lines written so far (a line still being written is left for the next look)."""
    complete = output[: output.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.startswith("{")]


def test_json_logs_carry_the_request_id_on_every_line_of_a_request(start, own_db, fresh_database_url):
    # Given a server logging JSON at debug level, whose Redis does not answer (it warns during a request)
    server = start({"ORDERDESK_LOG_FORMAT": "json", "ORDERDESK_LOG_LEVEL": "debug",
                    "ORDERDESK_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "ORDERDESK_DELIVERY_WORKER": "false"})
    shop = make_shop(own_db, rate_limit=100)
    site_orders = f"{server.api}/sites/{shop.site.id}/orders"

    # When an order is placed, then read back after its stored document was broken (an unexpected error)
    with httpx.Client(headers=shop.headers) as client:
        placed = client.post(site_orders, json=order_body())
        with own_db.unit_of_work() as work:
            work.connection.execute(sa.update(orders).where(orders.c.site_id == shop.site.id).values(document=b"{"))
            work.commit()
        broken = client.patch(f"{site_orders}/{placed.json()['orderId']}", json={"comment": "hello"})

    # Then every line is one JSON object; each request's lines carry the request id its response carried
    lines = [json.loads(line) for line in output_with(server, broken.headers["x-request-id"]).splitlines()]
    by_request = defaultdict(list)
    for line in lines:
        by_request[line.get("request_id")].append(line)
    first, second = placed.headers["x-request-id"], broken.headers["x-request-id"]
    assert (placed.status_code, broken.status_code) == (201, 500)
    assert [(line["event"], line["level"]) for line in by_request[first]] == [
        ("redis unreachable: rate limits are counted per process until it answers", "warning"),
        ("request", "info"),
    ]
    access = by_request[first][-1]
    assert {key: access[key] for key in ("method", "path", "route", "status")} == {
        "method": "POST", "path": f"/v2/sites/{shop.site.id}/orders", "route": ORDERS, "status": 201}
    assert [(line["event"], line["level"]) for line in by_request[second]] == [
        ("unexpected error", "error"), ("request", "info")]
    error, access = by_request[second]
    assert error["exception"].startswith("Traceback (most recent call last):")
    assert "msgspec.DecodeError" in error["exception"]
    assert (access["route"], access["status"]) == (ORDER, 500)
    assert [line["event"] for line in by_request[None]] == ["listening"]  # no request, no request id
    probes = [lines for request_id, lines in by_request.items() if request_id not in (None, first, second)]
    assert [[(line["event"], line["path"]) for line in lines] for lines in probes] == [
        [("request", "/v2/token/introspect")]]  # tests.server's probe for the server being up
