"""Load with wrk on loopback: requests from a file of lines, medians of several runs."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).parent / "lua" / "rotate.lua"
_RESULT = re.compile(r"BENCH requests=(\d+) seconds=([\d.]+) p50=([\d.]+) p99=([\d.]+) non2xx=(\d+) socket=(\d+)")


@dataclass(frozen=True)
class Run:
    rate: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def request_file(lines: list[tuple[str, str, str]]) -> str:
    handle, path = tempfile.mkstemp(prefix="orderdesk-bench-", suffix=".tsv")
    with os.fdopen(handle, "w") as out:
        for method, target, body in lines:
            out.write(f"{method}\t{target}\t{body}\n")
    return path


def run_wrk(base: str, requests: str, token: str, seconds: float, connections: int, threads: int = 2) -> Run:
    return wrk_result(start_wrk(base, requests, token, seconds, connections, threads))


def start_wrk(base: str, requests: str, token: str, seconds: float, connections: int,
              threads: int = 2) -> subprocess.Popen:
    """wrk running for `seconds`, or until it is sent SIGINT (it then stops and reports what it measured)."""
    environment = {**os.environ, "ORDERDESK_BENCH_REQUESTS": requests, "ORDERDESK_BENCH_TOKEN": token}
    return subprocess.Popen(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA), base],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )


def wrk_result(process: subprocess.Popen) -> Run:
    stdout, stderr = process.communicate()
    found = _RESULT.search(stdout)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"wrk said: {stdout}\n{stderr}")
    requests_done, elapsed, p50, p99, non2xx, socket = found.groups()
    return Run(int(requests_done) / float(elapsed), float(p50), float(p99), int(non2xx), int(socket))


def median_run(runs: list[Run]) -> Run:
    """The run with the median rate; its latencies come with it."""
    return sorted(runs, key=lambda run: run.rate)[len(runs) // 2]


def median(values: list[float]) -> float:
    return statistics.median(values)
