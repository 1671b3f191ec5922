"""`make bench` (`python -m bench`): seed a site, serve it, drive each endpoint with wrk, and measure a
bare ASGI baseline on the same server software in the same run. Prints req/s, p50, p99 and the ratio
to the baseline per endpoint: the median of several runs. Never part of the test run."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.harness import Server, free_port
from bench.load import Run, median_run, request_file, run_wrk, wrk_available
from orderdesk.domain.sites import Scope
from orderdesk.services import access, orders
from orderdesk.seed.orders import seed_orders
from orderdesk.store.engine import create_engine, is_sqlite
from orderdesk.store.migrate import upgrade
from orderdesk.store.database import Database

PLACE_BODY = ('{"customerInfo":{"fullName":"Bench Mark","email":"bench@example.com"},"purchasedItems":[{"count":1,'
              '"productName":"Thing","variantId":"aaaaaaaaaaaaaaaaaaaaaaaa","variantPrice":{"unit":"USD","value":"2500"}}],'
              '"stripeCard":{"last4":"4242","brand":"Visa","ownerName":"Bench Mark","expires":{"year":2030,"month":1}}}')


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000, help="orders to seed (default 100,000)")
    parser.add_argument("--database", default=None, help="database URL (default: a new SQLite file)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="server processes to measure, e.g. 1 2")
    parser.add_argument("--seconds", type=float, default=5, help="length of one run (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="runs per endpoint; the median is reported (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--redis", default=None, help="Redis URL for the server's rate limits (ORDERDESK_REDIS_URL)")
    return parser.parse_args()


def machine() -> str:
    """What the numbers were measured on: they mean little without it."""
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load} (1, 5, 15 min), Python {sys.version.split()[0]}"


class MemoryWatch:
    """The highest resident memory of a process and its children, sampled twice a second."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_kb = max(self.peak_kb, _rss_kb(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


def _rss_kb(pid: int) -> int:
    found = subprocess.run(["ps", "-o", "rss=", "--pid", str(pid), "--ppid", str(pid)], capture_output=True, text=True)
    return sum(int(value) for value in found.stdout.split())


# With Redis, every request is counted there (a limit no run reaches); without, the token is unlimited.
COUNTED_LIMIT = 1_000_000_000


def prepare(url: str, count: int, counted: bool = False) -> tuple[Database, str, str, float]:
    engine = create_engine(url)
    upgrade(engine)
    db = Database(engine)
    site = access.create_site(db, "Bench Store", "USD")
    token, _ = access.create_token(db, site.id, [scope.value for scope in Scope],
                                   rate_limit=COUNTED_LIMIT if counted else 0)
    started = time.perf_counter()
    seed_orders(db, site, count, seed=42)
    return db, site.id, token, time.perf_counter() - started


def order_ids(db: Database, site_id: str, status: str | None, limit: int) -> list[str]:
    import msgspec

    ids: list[str] = []
    offset = 0
    while len(ids) < limit:
        page = orders.list_orders(db, site_id, None if status is None else orders.OrderStatus(status), offset, 100)
        if not page.documents:
            break
        ids += [msgspec.json.decode(document)["orderId"] for document in page.documents]
        offset += 100
    return ids[:limit]


def scenarios(db: Database, site_id: str, count: int) -> dict[str, list[tuple[str, str, str]]]:
    base = f"/v2/sites/{site_id}/orders"
    some = order_ids(db, site_id, None, 2000)
    open_orders = order_ids(db, site_id, "unfulfilled", 1000)
    refundable = order_ids(db, site_id, "fulfilled", 2000)
    deep = max(count - 100, 0)
    return {
        "get order": [("GET", f"{base}/{order_id}", "") for order_id in some],
        "list 100, first page": [("GET", f"{base}?limit=100", "")],
        **({"list 100, offset 100,000": [("GET", f"{base}?limit=100&offset=100000", "")]} if count > 200_000 else {}),
        f"list 100, offset {deep:,}": [("GET", f"{base}?limit=100&offset={deep}", "")],
        "update (PATCH comment)": [("PATCH", f"{base}/{order_id}", '{"comment":"bench {n}"}') for order_id in some],
        "fulfill + unfulfill (each)": [line for order_id in open_orders for line in (
            ("POST", f"{base}/{order_id}/fulfill", "{}"), ("POST", f"{base}/{order_id}/unfulfill", ""))],
        "place order": [("POST", base, PLACE_BODY)],
        "create refund (0.01)": [("POST", f"/v2/sites/{site_id}/refunds",
                                  f'{{"orderId":"{order_id}","currency":"USD","amount":0.01}}') for order_id in refundable],
    }


def baseline_server(db: Database, site_id: str) -> tuple[subprocess.Popen, str]:
    folder = Path(tempfile.mkdtemp(prefix="orderdesk-baseline-"))
    page = orders.list_orders(db, site_id, None, 0, 100)
    (folder / "order.json").write_bytes(page.documents[0])
    (folder / "page.json").write_bytes(
        b'{"orders":[' + b",".join(page.documents)
        + b'],"pagination":{"limit":100,"offset":0,"total":%d}}' % page.total)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.baseline:app", "--port", str(port), "--loop", "uvloop", "--http",
         "httptools", "--log-level", "warning", "--no-access-log"],
        env={**os.environ, "ORDERDESK_BASELINE_DIR": str(folder)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(base + "/order", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    return process, base


def measure(base: str, lines: list[tuple[str, str, str]], token: str, options) -> Run:
    requests = request_file(lines)
    run_wrk(base, requests, token, 1, options.connections)  # warm up
    return median_run([run_wrk(base, requests, token, options.seconds, options.connections)
                       for _ in range(options.runs)])


def row(name: str, run: Run, baseline: Run | None = None) -> str:
    ratio = f"{run.rate / baseline.rate:5.2f}" if baseline else "    -"
    errors = f"  ({run.non2xx} non-2xx)" if run.non2xx else ""
    return f"| {name:<28} | {run.rate:>9,.0f} | {run.p50_ms:>7.1f} | {run.p99_ms:>7.1f} | {ratio} |{errors}"


def main() -> None:
    options = arguments()
    if max(options.workers) > 1 and not options.redis:
        # serve refuses several workers without Redis: each would count the rate limits on its own.
        sys.exit("--workers over 1 needs --redis (several workers share their rate limits through Redis)")
    if not wrk_available():
        sys.exit("wrk is not installed: `apt-get install wrk` (make bench does this)")
    url = options.database or f"sqlite:///{tempfile.mkdtemp(prefix='orderdesk-bench-')}/bench.db"
    print(f"seeding {options.orders:,} orders into {'SQLite' if is_sqlite(url) else 'PostgreSQL'} ...", flush=True)
    db, site_id, token, seeded = prepare(url, options.orders, counted=bool(options.redis))
    print(f"seeded {options.orders:,} orders in {seeded:.1f} s ({options.orders / seeded:,.0f} orders/s)")
    plans = scenarios(db, site_id, options.orders)
    baseline_process, baseline = baseline_server(db, site_id)
    try:
        get_floor = measure(baseline, [("GET", "/order", "")], token, options)
        list_floor = measure(baseline, [("GET", "/list", "")], token, options)
    finally:
        baseline_process.terminate()
        baseline_process.wait()
    env = {"ORDERDESK_REDIS_URL": options.redis} if options.redis else {}
    for workers in options.workers:
        with Server(url, env=env, workers=workers) as server:
            watch = MemoryWatch(server.process.pid)
            base = server.api.removesuffix("/v2")
            print(f"\n{workers} worker(s) on {'SQLite' if is_sqlite(url) else 'PostgreSQL'}"
                  f"{' with Redis rate limits' if options.redis else ''}, {options.connections} connections, median of "
                  f"{options.runs} runs of {options.seconds:g} s; ratio = req/s over the bare ASGI baseline in this run")
            print(f"machine: {machine()}")
            print("| endpoint                     |     req/s | p50 ms  | p99 ms  | ratio |")
            print("|------------------------------|-----------|---------|---------|-------|")
            print(row("baseline: one order", get_floor))
            print(row("baseline: a 100-order page", list_floor))
            for name, lines in plans.items():
                floor = list_floor if name.startswith("list") else get_floor
                print(row(name, measure(base, lines, token, options), floor), flush=True)
            print(f"server memory, peak resident: {watch.stop():.0f} MB")
    db.dispose()


if __name__ == "__main__":
    main()
