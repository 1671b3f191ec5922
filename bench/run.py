"""`make bench` (`python -m bench`): seed a site, serve it, drive each endpoint with wrk, and measure a
bare ASGI baseline on the same server software in the same run. Prints req/s, p50, p99 and the ratio
to the baseline per endpoint: the median of several runs. Never part of the test run.

Several servers in one run (`--database` twice, `--compare REF`): all run at once, and each endpoint's
runs alternate between them, A B A B, so that a change in the machine's load falls on both; the table has
a column per server and their ratios (PostgreSQL/SQLite, new/old). Both commits serve the same database,
seeded by this one: REF must read its schema."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import Server, extract, free_port
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
    parser.add_argument("--database", action="append", default=None,
                        help="`sqlite` (a new SQLite file, the default) or a database URL; give it twice to measure "
                             "both side by side, e.g. --database sqlite --database postgresql://...")
    parser.add_argument("--compare", metavar="REF", default=None,
                        help="also serve commit REF (extracted with git archive, run with this venv) and print new/old")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="server processes to measure, e.g. 1 2")
    parser.add_argument("--seconds", type=float, default=5, help="length of one run (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="runs per endpoint; the median is reported (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--only", nargs="+", default=None, metavar="WORDS",
                        help="measure only the endpoints whose name contains one of these, e.g. --only get update")
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


def prepare(url: str, count: int, counted: bool = False, revision: str = "head") -> tuple[Database, str, str, float]:
    """A seeded site on a database migrated up to `revision`."""
    engine = create_engine(url)
    upgrade(engine, revision)
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


Load = tuple[str, list[tuple[str, str, str]], str]  # a server's address, its request lines, its token


def measure(loads: list[Load], options) -> list[Run]:
    """Each load's median run; the runs of several take turns, A B A B, so that a change in the machine's
    load falls on all of them alike."""
    files = [request_file(lines) for _, lines, _ in loads]
    for (base, _, token), file in zip(loads, files):
        run_wrk(base, file, token, 1, options.connections)  # warm up
    runs: list[list[Run]] = [[] for _ in loads]
    for _ in range(options.runs):
        for index, ((base, _, token), file) in enumerate(zip(loads, files)):
            runs[index].append(run_wrk(base, file, token, options.seconds, options.connections))
    return [median_run(each) for each in runs]


@dataclass(frozen=True)
class Target:
    """One server to measure: a database (with its site) served by this commit or by `--compare`'s."""
    label: str
    url: str
    source: Path | None


@dataclass
class Served:
    db: Database
    site_id: str
    token: str
    plans: dict[str, list[tuple[str, str, str]]]


def database_url(value: str) -> str:
    return f"sqlite:///{tempfile.mkdtemp(prefix='orderdesk-bench-')}/bench.db" if value == "sqlite" else value


def kind(url: str) -> str:
    return "SQLite" if is_sqlite(url) else "PostgreSQL"


def header(targets: list[Target], ratios: list[tuple[str, int, int]]) -> str:
    cells = [f"{t.label + ' req/s':>18} | {'p50 ms':>7} | {'p99 ms':>7} | {'/base':>5}" for t in targets]
    line = "| endpoint                     | " + " | ".join(cells + [f"{name:>13}" for name, _, _ in ratios]) + " |"
    return line + "\n" + "".join("-" if c != "|" else "|" for c in line)


def cells(name: str, runs: list[Run], floor: Run | None, ratios: list[tuple[str, int, int]]) -> str:
    parts = [f"{run.rate:>18,.0f} | {run.p50_ms:>7.1f} | {run.p99_ms:>7.1f} | "
             + (f"{run.rate / floor.rate:5.2f}" if floor else "    -") for run in runs]
    parts += [f"{runs[top].rate / runs[bottom].rate:>13.2f}" for _, top, bottom in ratios]
    errors = "; ".join(f"{run.non2xx} non-2xx on {index + 1}" for index, run in enumerate(runs) if run.non2xx)
    return f"| {name:<28} | " + " | ".join(parts) + " |" + (f"  ({errors})" if errors else "")


def ratio_columns(targets: list[Target]) -> list[tuple[str, int, int]]:
    """(title, top, bottom): PostgreSQL over SQLite for each commit, and new over old for each database."""
    found = []
    for top, a in enumerate(targets):
        for bottom, b in enumerate(targets):
            if a.source == b.source and not is_sqlite(a.url) and is_sqlite(b.url):
                found.append((f"PG/SQLite{' old' if a.source else ''}", top, bottom))
            if a.url == b.url and a.source is None and b.source is not None:
                found.append((f"new/old {kind(a.url)}", top, bottom))
    return found


def newest_revision(tree: Path) -> str:
    """The newest migration of the commit extracted to `tree`."""
    versions = tree / "src" / "orderdesk" / "store" / "migrations" / "versions"
    return max(re.search(r'^revision = "([^"]+)"', path.read_text(), re.MULTILINE).group(1)
               for path in versions.glob("*.py") if path.name != "__init__.py")


def main() -> None:
    options = arguments()
    if max(options.workers) > 1 and not options.redis:
        # serve refuses several workers without Redis: each would count the rate limits on its own.
        sys.exit("--workers over 1 needs --redis (several workers share their rate limits through Redis)")
    if not wrk_available():
        sys.exit("wrk is not installed: `apt-get install wrk` (make bench does this)")
    urls = [database_url(value) for value in options.database or ["sqlite"]]
    old = extract(options.compare) if options.compare else None
    targets = [Target(kind(url) + (" new" if old else ""), url, None) for url in urls]
    if old is not None:
        targets += [Target(f"{kind(url)} {options.compare[:10]}", url, old) for url in urls]
    served: dict[str, Served] = {}
    for url in urls:
        print(f"seeding {options.orders:,} orders into {kind(url)} ...", flush=True)
        db, site_id, token, seeded = prepare(url, options.orders, counted=bool(options.redis),
                                             revision="head" if old is None else newest_revision(old))
        print(f"seeded {options.orders:,} orders in {seeded:.1f} s ({options.orders / seeded:,.0f} orders/s)")
        served[url] = Served(db, site_id, token, scenarios(db, site_id, options.orders))
    first = served[urls[0]]
    baseline_process, baseline = baseline_server(first.db, first.site_id)
    try:
        get_floor, list_floor = measure([(baseline, [("GET", "/order", "")], first.token),
                                         (baseline, [("GET", "/list", "")], first.token)], options)
    finally:
        baseline_process.terminate()
        baseline_process.wait()
    env = {"ORDERDESK_REDIS_URL": options.redis} if options.redis else {}
    ratios = ratio_columns(targets)
    for workers in options.workers:
        with ExitStack() as stack:
            # The older commit's servers first, while the database is at a revision it knows; this commit's
            # then migrate it to their own head (tables the older code never reads).
            started = {id(t): stack.enter_context(Server(t.url, env=env, workers=workers, source=t.source))
                       for t in sorted(targets, key=lambda t: t.source is None)}
            servers = [started[id(t)] for t in targets]
            watches = [MemoryWatch(server.process.pid) for server in servers]
            bases = [server.api.removesuffix("/v2") for server in servers]
            print(f"\n{workers} worker(s){' with Redis rate limits' if options.redis else ''}, {options.connections} "
                  f"connections, median of {options.runs} runs of {options.seconds:g} s"
                  f"{', servers alternating A B A B' if len(targets) > 1 else ''}; /base = req/s over the bare "
                  f"ASGI baseline in this run")
            print(f"servers: {', '.join(f'{t.label} ({t.url})' for t in targets)}")
            print(f"machine: {machine()}")
            print(header(targets, ratios))
            print(cells("baseline: one order", [get_floor] * len(targets), None, []))
            print(cells("baseline: a 100-order page", [list_floor] * len(targets), None, []))
            for name in [name for name in first.plans if not options.only or any(w in name for w in options.only)]:
                floor = list_floor if name.startswith("list") else get_floor
                runs = measure([(base, served[t.url].plans[name], served[t.url].token)
                                for base, t in zip(bases, targets)], options)
                print(cells(name, runs, floor, ratios), flush=True)
            print("server memory, peak resident: " + ", ".join(
                f"{t.label} {watch.stop():.0f} MB" for t, watch in zip(targets, watches)))
            print(f"machine after: {machine()}")
    for each in served.values():
        each.db.dispose()


if __name__ == "__main__":
    main()
