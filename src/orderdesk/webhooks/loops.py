"""Background threads: a loop of blocking jobs, and several loops started and stopped as one."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import structlog

log = structlog.get_logger("orderdesk.webhooks")


class Loop(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wait(self) -> None: ...


class WorkLoop:
    """A daemon thread running `jobs` again and again; it rests `idle` seconds when none had work."""

    def __init__(self, name: str, jobs: list[Callable[[], int]], idle: float,
                 on_stop: list[Callable[[], None]] | None = None) -> None:
        self.jobs, self.idle = jobs, idle
        self.on_stop = on_stop or []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        for hook in self.on_stop:
            hook()

    def wait(self) -> None:
        """Block until stopped (for `orderdesk worker`)."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def _run(self) -> None:
        while not self._stop.is_set():
            busy = False
            for job in self.jobs:
                try:
                    busy = bool(job()) or busy
                except Exception:  # noqa: BLE001 - the loop must outlive a database or network hiccup
                    log.exception("background job failed", job=getattr(job, "__qualname__", repr(job)))
            if not busy:
                self._stop.wait(self.idle)


class Loops:
    """Loops that run side by side, each in its own thread, so that none waits on another's work."""

    def __init__(self, loops: list[Loop]) -> None:
        self.loops = loops

    def start(self) -> None:
        for loop in self.loops:
            loop.start()

    def stop(self) -> None:
        for loop in self.loops:
            loop.stop()

    def wait(self) -> None:
        for loop in self.loops:
            loop.wait()
