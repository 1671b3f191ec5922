"""Rate limits shared through Redis (BEHAVIOUR.md section 3: the limit holds across all worker processes).

Needs a Redis at ORDERDESK_TEST_REDIS_URL (default redis://127.0.0.1:6379/0). Outside CI an unreachable
Redis skips these tests; under CI it fails them. Every test uses keys of its own (a fresh prefix, or a
fresh token id), so tests never share a budget.
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis

from orderdesk.api.ratelimit import REDIS_RETRY_SECONDS, WINDOW_SECONDS, MemoryRateLimiter, RedisRateLimiter, Verdict
from tests.api.test_rate_limits import TOO_MANY, budget, orders_url, start_of_a_window
from tests.factories import make_shop
from tests.server import free_port, start_server

REDIS_URL = os.environ.get("ORDERDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WINDOW_START = 28_000_000 * WINDOW_SECONDS  # an arbitrary window's first second, for the injected clock


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL} and CI requires it: {error}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: start redis-server (CI requires it)")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def client(redis_url):
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def prefix(client) -> str:
    """Keys of this test's own, deleted afterwards."""
    own = f"orderdesk-test:{uuid.uuid4().hex}:"
    yield own
    keys = list(client.scan_iter(match=own + "*"))
    if keys:
        client.delete(*keys)


def redis_limiter(client, prefix: str, clock, monotonic=time.monotonic) -> RedisRateLimiter:
    return RedisRateLimiter(client, clock=clock, monotonic=monotonic, prefix=prefix)


@pytest.fixture(params=["memory", "redis"])
def limiter_at(request):
    """Both limiters, to hold them to one contract: given a clock, a limiter (only Redis's needs Redis)."""
    if request.param == "memory":
        return lambda clock: MemoryRateLimiter(clock)
    client, prefix = request.getfixturevalue("client"), request.getfixturevalue("prefix")
    return lambda clock: redis_limiter(client, prefix, clock)


# --- the limiter --------------------------------------------------------------------------------------


def test_a_budget_counts_down_then_refuses_until_the_window_ends(limiter_at):
    clock = Clock(WINDOW_START + 15.5)
    limiter = limiter_at(clock)

    verdicts = [limiter.hit("token", 3) for _ in range(5)]

    assert verdicts == [Verdict(True, 3, 2, 0), Verdict(True, 3, 1, 0), Verdict(True, 3, 0, 0),
                        Verdict(False, 3, 0, 45), Verdict(False, 3, 0, 45)]  # 44.5 s left: 45 whole seconds


def test_retry_after_is_never_below_one_second(limiter_at):
    clock = Clock(WINDOW_START + WINDOW_SECONDS - 0.2)
    limiter = limiter_at(clock)
    limiter.hit("token", 1)

    refused = limiter.hit("token", 1)

    assert refused == Verdict(False, 1, 0, 1)


def test_a_new_window_starts_a_new_budget(limiter_at):
    clock = Clock(WINDOW_START + 59.0)
    limiter = limiter_at(clock)
    before = [limiter.hit("token", 2) for _ in range(3)]

    clock.now = WINDOW_START + WINDOW_SECONDS
    after = [limiter.hit("token", 2) for _ in range(3)]

    assert before == [Verdict(True, 2, 1, 0), Verdict(True, 2, 0, 0), Verdict(False, 2, 0, 1)]
    assert after == [Verdict(True, 2, 1, 0), Verdict(True, 2, 0, 0), Verdict(False, 2, 0, 60)]


def test_each_key_has_its_own_budget(limiter_at):
    limiter = limiter_at(Clock(WINDOW_START))
    limiter.hit("first", 1)

    verdicts = [limiter.hit("first", 1), limiter.hit("second", 1)]

    assert verdicts == [Verdict(False, 1, 0, 60), Verdict(True, 1, 0, 0)]


def test_the_window_key_expires_a_second_after_its_window(client, prefix):
    limiter = redis_limiter(client, prefix, Clock(WINDOW_START + 15.5))

    limiter.hit("token", 3)

    key = f"{prefix}token:{WINDOW_START // WINDOW_SECONDS}"
    assert (client.get(key), client.ttl(key)) == (b"1", 46)  # 44.5 s left in the window, rounded up, plus 1


def test_two_limiters_on_one_redis_share_the_budget_exactly_under_concurrency(client, prefix, redis_url):
    # Given two limiters with their own connections, as two worker processes would have
    other = redis.Redis.from_url(redis_url)
    limiters = [redis_limiter(client, prefix, Clock(WINDOW_START)), redis_limiter(other, prefix, Clock(WINDOW_START))]
    allowed = []

    def spend(limiter: RedisRateLimiter) -> None:
        for _ in range(25):
            allowed.append(limiter.hit("token", 60).allowed)

    # When eight threads spend 200 hits between them
    threads = [threading.Thread(target=spend, args=(limiters[index % 2],)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    other.close()

    # Then exactly the budget passes
    assert (allowed.count(True), allowed.count(False)) == (60, 140)
    assert client.get(f"{prefix}token:{WINDOW_START // WINDOW_SECONDS}") == b"200"


class SwitchableRedis:
    """A real Redis client that can be made to fail as an unreachable Redis does."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.down = False
        self.pipelines = 0

    def pipeline(self, transaction: bool = True):
        self.pipelines += 1
        if self.down:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return self.client.pipeline(transaction=transaction)


def test_an_unreachable_redis_fails_open_to_this_process_budget_and_comes_back(client, prefix):
    # Given a limiter whose Redis has counted one request
    switchable = SwitchableRedis(client)
    monotonic = Clock(1000.0)
    limiter = RedisRateLimiter(switchable, clock=Clock(WINDOW_START), monotonic=monotonic, prefix=prefix)
    first = limiter.hit("token", 3)

    # When Redis goes away: the memory budget answers (it has counted nothing yet), and Redis is not asked
    # again until the retry interval has passed, even once it is back
    switchable.down = True
    while_down = [limiter.hit("token", 3), limiter.hit("token", 3)]
    switchable.down = False
    before_retry = limiter.hit("token", 3)
    monotonic.now += REDIS_RETRY_SECONDS
    after_retry = limiter.hit("token", 3)

    # Then no request was refused for the outage, and Redis's count picks up where it was
    assert first == Verdict(True, 3, 2, 0)
    assert while_down == [Verdict(True, 3, 2, 0), Verdict(True, 3, 1, 0)]
    assert before_retry == Verdict(True, 3, 0, 0)
    assert after_retry == Verdict(True, 3, 1, 0)
    assert switchable.pipelines == 3  # the first hit, the failed one, the retry


# --- over HTTP ------------------------------------------------------------------------------------------


@pytest.fixture
def start(database_url):
    """Starts servers of this test's own on the session's database, and stops them after it."""
    servers = []

    def started(redis_url: str, workers: int = 1, env: dict[str, str] | None = None):
        # No delivery worker: these servers share the session's database and only answer GETs.
        servers.append(start_server(database_url, workers=workers, env={
            "ORDERDESK_REDIS_URL": redis_url, "ORDERDESK_DELIVERY_WORKER": "false", **(env or {})}))
        return servers[-1]

    yield started
    for server in servers:
        server.stop()


def assert_refusals(refused: list[httpx.Response], sent: float, answered: float) -> None:
    window_end = (math.floor(sent / WINDOW_SECONDS) + 1) * WINDOW_SECONDS
    assert {response.content for response in refused} == {TOO_MANY}
    assert {budget(response) for response in refused} == {("60", "0")}
    for response in refused:
        assert response.headers["retry-after"].isdigit()
        assert math.ceil(window_end - answered) <= int(response.headers["retry-after"]) <= math.ceil(window_end - sent)


def test_two_servers_on_one_redis_share_one_budget(start, db, redis_url):
    # Given two separate server processes on one Redis, and a token allowed 60 requests a minute
    first, second = start(redis_url), start(redis_url)
    shop = make_shop(db, rate_limit=60)
    start_of_a_window(margin=20)

    # When 200 requests alternate between them
    sent = time.time()
    with httpx.Client(headers=shop.headers) as one, httpx.Client(headers=shop.headers) as other:
        responses = [(one if index % 2 == 0 else other).get(orders_url(first if index % 2 == 0 else second,
                                                                       shop.site.id))
                     for index in range(200)]
    answered = time.time()

    # Then exactly 60 pass, counted down as one budget, half through each server; the rest are 429s
    assert [r.status_code for r in responses] == [200] * 60 + [429] * 140
    assert [budget(r) for r in responses[:60]] == [("60", str(left)) for left in range(59, -1, -1)]
    assert_refusals(responses[60:], sent, answered)


def test_two_workers_of_one_server_share_one_budget(start, db, redis_url, tmp_path):
    # Given `serve --workers 2` on Redis (its metrics folder shows which worker processes answered)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    server = start(redis_url, workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    shop = make_shop(db, rate_limit=60)
    start_of_a_window(margin=20)

    # When 200 requests arrive, each on a new connection, so that either worker may take it
    sent = time.time()
    responses = [httpx.get(orders_url(server, shop.site.id), headers=shop.headers) for _ in range(200)]
    answered = time.time()

    # Then both workers answered, and exactly 60 passed between them
    assert len(histogram_files(metrics_dir)) == 2
    assert [r.status_code for r in responses] == [200] * 60 + [429] * 140
    assert [budget(r) for r in responses[:60]] == [("60", str(left)) for left in range(59, -1, -1)]
    assert_refusals(responses[60:], sent, answered)


def histogram_files(metrics_dir: Path) -> list[str]:
    """One file per process that has timed a request (prometheus_client names them by process id)."""
    return sorted(path.name for path in metrics_dir.glob("histogram_*.db"))


def test_an_unreachable_redis_does_not_fail_requests(start, db):
    # Given a server whose Redis does not answer (nothing listens on its port)
    server = start(f"redis://127.0.0.1:{free_port()}/0")
    shop = make_shop(db, rate_limit=3)
    start_of_a_window()

    # When the token spends its budget and more
    with httpx.Client(headers=shop.headers) as client:
        responses = [client.get(orders_url(server, shop.site.id)) for _ in range(4)]

    # Then the process's own budget answers, and the outage is logged once
    assert [(r.status_code, budget(r)) for r in responses] == [
        (200, ("3", "2")), (200, ("3", "1")), (200, ("3", "0")), (429, ("3", "0"))]
    assert responses[-1].content == TOO_MANY
    assert server.output().count("redis unreachable: rate limits are counted per process until it answers") == 1
