"""What every benchmark shares: a fresh database and a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

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
