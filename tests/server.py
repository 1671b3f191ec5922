"""Starting and stopping a real `orderdesk serve` process for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import httpx

# `serve --workers N` refuses to start without Redis (its workers share rate limits only there).
REDIS_URL = os.environ.get("ORDERDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    process: subprocess.Popen
    port: int
    database_url: str
    log: object  # the server's stderr, kept in a file so that a full pipe never blocks it

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return self.url + "/v2"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if sig == signal.SIGTERM or self.process.poll() is not None:
            self.log.close()


def start_server(database_url: str, port: int | None = None, env: dict[str, str] | None = None,
                 workers: int = 1) -> RunningServer:
    port = port or free_port()
    # Test servers deliver webhooks to the tests' own receivers on loopback, and retry within a
    # fifth of a second: every server on the shared database may claim any test's delivery, so all
    # of them must deliver it the same way. A server that refuses private addresses must not run a
    # delivery worker on a shared database: start it with ORDERDESK_DELIVERY_WORKER=false.
    environment = {**os.environ, "ORDERDESK_LOG_LEVEL": "warning", "ORDERDESK_WEBHOOK_ALLOW_PRIVATE": "true",
                   "ORDERDESK_WEBHOOK_RETRY_INTERVAL": "0.2", **(env or {})}
    if workers > 1:
        environment.setdefault("ORDERDESK_REDIS_URL", REDIS_URL)
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "orderdesk", "serve", "--port", str(port), "--database", database_url,
         "--workers", str(workers)],
        env=environment, stdout=subprocess.DEVNULL, stderr=log,
    )
    running = RunningServer(process, port, database_url, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {running.output()}")
        try:
            httpx.get(f"{running.api}/token/introspect", timeout=1)
            return running
        except httpx.TransportError:
            time.sleep(0.1)
    running.stop()
    raise RuntimeError("server did not start in 30 s")
