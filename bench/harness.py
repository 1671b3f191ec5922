"""What every benchmark shares: a fresh database, a real server process, a closed-loop load generator."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`orderdesk serve` on a free port, stopped on exit."""

    def __init__(self, database_url: str, env: dict[str, str] | None = None, workers: int = 1) -> None:
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/v2"
        environment = {**os.environ, "ORDERDESK_LOG_LEVEL": "warning", **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orderdesk", "serve", "--port", str(self.port), "--database", database_url,
             "--workers", str(workers)], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.api}/token/introspect", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def sqlite_url() -> str:
    return f"sqlite:///{tempfile.mkdtemp(prefix='orderdesk-bench-')}/bench.db"


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


async def _drive(make_request: Callable[[int], tuple[str, str, dict | None]], headers: dict, connections: int,
                 seconds: float) -> Result:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
        async def worker() -> None:
            nonlocal counter
            while time.perf_counter() < deadline:
                counter += 1
                method, url, body = make_request(counter)
                started = time.perf_counter()
                response = await client.request(method, url, json=body)
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return Result(len(latencies), elapsed, latencies, statuses)


def drive(make_request, headers: dict, connections: int = 16, seconds: float = 5.0) -> Result:
    """Closed-loop load: `connections` clients, each sending its next request when the last returns."""
    return asyncio.run(_drive(make_request, headers, connections, seconds))


def median_run(runs: list[Result]) -> Result:
    return sorted(runs, key=lambda result: result.rate)[len(runs) // 2]


def row(name: str, result: Result, baseline: Result | None) -> str:
    ratio = f"{result.rate / baseline.rate:5.2f}" if baseline else "    -"
    return (f"{name:<34} {result.rate:9.0f} req/s  p50 {result.percentile(0.5):6.1f} ms  "
            f"p99 {result.percentile(0.99):6.1f} ms  ratio {ratio}  {dict(sorted(result.statuses.items()))}")


def median(values: list[float]) -> float:
    return statistics.median(values)
