"""What every benchmark shares: a fresh database and a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`orderdesk serve` on a free port, stopped on exit."""

    def __init__(self, database_url: str, env: dict[str, str] | None = None, workers: int = 1,
                 source: Path | None = None) -> None:
        """`source`: a tree of another commit (`extract`), whose `src/` is served instead of this one's."""
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/v2"
        environment = {**os.environ, "ORDERDESK_LOG_LEVEL": "warning", **(env or {})}
        if source is not None:
            environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source / "src"), os.environ.get("PYTHONPATH")]))
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


def extract(ref: str) -> Path:
    """The files of commit `ref` in a new folder (`git archive`: the repository's state is left alone); run
    with this checkout's virtual environment, so nothing is installed."""
    folder = Path(tempfile.mkdtemp(prefix="orderdesk-bench-ref-"))
    archive = subprocess.run(["git", "archive", ref], capture_output=True, check=True,
                             cwd=Path(__file__).resolve().parent.parent).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder
