"""`python -m bench.seeding`: `orderdesk seed --orders 100000` into the SQLite database a server is serving,
while wrk reads (one order, a 100-order page) and updates. Prints each load's req/s, p50, p99 and failed
requests, first with the server alone, then while the seed holds the write lock batch after batch.

The seed is another process, so the server's writes wait for the lock; its reads must not (goal: reads'
p99 under 50 ms during the seed, no failed request)."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time

from bench.harness import Server, sqlite_url
from bench.load import Run, request_file, start_wrk, wrk_available, wrk_result
from bench.run import machine, prepare, scenarios

# Connections per load: the reads are what is judged; the updates show where the writes went.
LOADS = {"get order": 12, "list 100, first page": 4, "update (PATCH comment)": 4}
LONGEST_SECONDS = 900


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.seeding", description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000, help="orders in the served site before (default 20,000)")
    parser.add_argument("--seed-orders", type=int, default=100_000, help="orders the seed writes (default 100,000)")
    parser.add_argument("--quiet-seconds", type=float, default=5, help="length of the run without the seed (default 5)")
    return parser.parse_args()


def loaded(base: str, token: str, plans: dict, until) -> dict[str, Run]:
    """Every load at once, from the start of `until()` to its end."""
    running = {name: start_wrk(base, request_file(plans[name]), token, LONGEST_SECONDS, connections)
               for name, connections in LOADS.items()}
    try:
        until()
    finally:
        for process in running.values():
            process.send_signal(signal.SIGINT)  # wrk stops and reports what it measured
    return {name: wrk_result(process) for name, process in running.items()}


def table(title: str, runs: dict[str, Run]) -> None:
    print(f"\n{title}")
    print("| load                         | conns |    req/s | p50 ms  | p99 ms  | non-2xx | socket errors |")
    print("|------------------------------|-------|----------|---------|---------|---------|---------------|")
    for name, run in runs.items():
        print(f"| {name:<28} | {LOADS[name]:>5} | {run.rate:>8,.0f} | {run.p50_ms:>7.1f} | {run.p99_ms:>7.1f} "
              f"| {run.non2xx:>7} | {run.socket_errors:>13} |")


def main() -> None:
    options = arguments()
    if not wrk_available():
        sys.exit("wrk is not installed: `apt-get install wrk` (make bench does this)")
    url = sqlite_url()
    print(f"seeding {options.orders:,} orders into SQLite ...", flush=True)
    db, site_id, token, _ = prepare(url, options.orders)
    plans = scenarios(db, site_id, options.orders)
    db.dispose()
    with Server(url) as server:
        base = server.api.removesuffix("/v2")
        print(f"machine: {machine()}")
        table(f"server alone, {options.quiet_seconds:g} s", loaded(base, token, plans,
                                                                  lambda: time.sleep(options.quiet_seconds)))
        seed = [sys.executable, "-m", "orderdesk", "seed", "--site", site_id, "--orders", str(options.seed_orders),
                "--database", url]
        timing: dict[str, float] = {}

        def seeding() -> None:
            started = time.perf_counter()
            subprocess.run(seed, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            timing["seconds"] = time.perf_counter() - started

        runs = loaded(base, token, plans, seeding)
        table(f"during `orderdesk seed --orders {options.seed_orders:,}` into the served database "
              f"({timing['seconds']:.1f} s)", runs)
        print(f"machine after: {machine()}")


if __name__ == "__main__":
    main()
