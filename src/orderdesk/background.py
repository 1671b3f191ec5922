"""The background loop: the reconciler, webhook deliveries, emails and SQLite checkpoints, as jobs of one
event loop that runs in a thread of its own.

Every job is written the same way: a pass (`run`) says how much work it found; a pass that found some
is followed at once by the next, one that found none rests the job's `idle` seconds. Every rest goes
through one place, so `wake()` ends it (a test asks for a pass instead of sleeping) and `stop()` ends
them all. A job's passes run one at a time, but jobs run side by side: a pass that blocks (an SMTP
conversation, a processor's API, SQLite's write lock) runs on its job's own thread, so a slow one holds
up only its own job, never the loop or the others.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from functools import partial
from typing import Protocol

import structlog

from orderdesk.config import Settings
from orderdesk.services.ports import ProcessorDirectory
from orderdesk.services.reconciler import reconcile_and_purge
from orderdesk.store.database import Database
from orderdesk.store.engine import checkpoint
from orderdesk.webhooks import mailer
from orderdesk.webhooks.delivery import IDLE, Deliverer, Deliveries

log = structlog.get_logger("orderdesk.background")
CHECKPOINT_SECONDS = 1.0
# Seconds `stop()` takes at most: half for the passes under way to end, the rest for the jobs to close
# (deliveries in flight get their grace, then give back what they could not finish).
STOP_WITHIN = 10.0


class Job(Protocol):
    name: str
    idle: float  # seconds to rest after a pass that found no work

    async def open(self, wake: Callable[[], None]) -> None: ...
    async def run(self) -> int: ...  # one pass: how much work it found
    async def close(self) -> None: ...


class Blocking:
    """A job whose pass is a blocking function, run on a daemon thread of its own: a pass that hangs
    holds neither the other jobs nor the process's exit (as a pool's thread would)."""

    def __init__(self, name: str, function: Callable[[], int], idle: float) -> None:
        self.name, self.function, self.idle = name, function, idle
        self._passes: queue.SimpleQueue[Future[int] | None] = queue.SimpleQueue()

    async def open(self, wake: Callable[[], None]) -> None:
        threading.Thread(target=self._serve, name=f"orderdesk-{self.name}", daemon=True).start()

    async def run(self) -> int:
        done: Future[int] = Future()
        self._passes.put(done)
        return await asyncio.wrap_future(done)

    async def close(self) -> None:
        self._passes.put(None)  # the thread ends after the pass it is in, if any

    def _serve(self) -> None:
        while (done := self._passes.get()) is not None:
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(self.function())
            except BaseException as error:  # noqa: BLE001 - handed to the loop, which logs it
                done.set_exception(error)


class Background:
    """`start()`, `wake()`, `stop()`; `wait()` blocks until stopped (for `orderdesk worker`)."""

    def __init__(self, jobs: list[Job], stop_within: float = STOP_WITHIN) -> None:
        self.jobs, self.stop_within = jobs, stop_within
        self._wakes = {job.name: asyncio.Event() for job in jobs}
        self._stopped = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = threading.Event()
        self._stop_asked = False
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="orderdesk-background",
                                        daemon=True)

    def start(self) -> None:
        if self._stop_asked:  # stopped before it started (a SIGTERM at once): it never runs
            return
        self._thread.start()
        self._running.wait()  # from now on wake() and stop() reach the loop

    def wake(self, name: str | None = None) -> None:
        """End the rest of the job called `name` (of every job, without one): it runs a pass now, or, when
        one is under way, once more right after it."""
        self._call(self._wake, name)

    def stop(self) -> None:
        """Stop every job; returns within `stop_within` seconds, and at once when stopped or never started."""
        self._stop_asked = True
        if self._thread.ident is None:
            return
        self._call(self._begin_stop)
        self._thread.join(self.stop_within)
        if self._thread.is_alive():
            log.warning("background jobs still stopping; the process's exit ends them", seconds=self.stop_within)

    def wait(self) -> None:
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def _call(self, function: Callable[..., None], *args: object) -> None:
        if self._loop is None:
            return
        with suppress(RuntimeError):  # the loop has ended: nothing is left to wake or stop
            self._loop.call_soon_threadsafe(function, *args)

    def _wake(self, name: str | None) -> None:
        for job_name, wake in self._wakes.items():
            if name in (None, job_name):
                wake.set()

    def _begin_stop(self) -> None:
        self._stopped.set()
        self._wake(None)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._running.set()
        for job in self.jobs:
            await job.open(partial(self._wake, job.name))
        passes = [asyncio.create_task(self._keep_running(job), name=job.name) for job in self.jobs]
        await self._stopped.wait()
        _, late = await asyncio.wait(passes, timeout=self.stop_within / 2)
        for task in late:
            task.cancel()  # a blocking pass goes on in its thread, and what it returns is dropped
        await asyncio.gather(*late, return_exceptions=True)
        for job in self.jobs:
            try:
                await job.close()
            except Exception:  # noqa: BLE001 - one job's failure to close must not keep the others open
                log.exception("background job failed to close", job=job.name)

    async def _keep_running(self, job: Job) -> None:
        wake = self._wakes[job.name]
        while not self._stopped.is_set():
            wake.clear()  # a wake from now on asks for another pass after this one
            try:
                found = await job.run()
            except Exception:  # noqa: BLE001 - the job must outlive a database or network hiccup
                log.exception("background job failed", job=job.name)
                found = 0
            if not found:
                with suppress(TimeoutError):
                    async with asyncio.timeout(job.idle):
                        await wake.wait()  # set by wake(), by the job itself, and by stop()


def delivery_jobs(db: Database, settings: Settings) -> list[Job]:
    """What `orderdesk worker` runs, and `serve` too unless ORDERDESK_DELIVERY_WORKER=false: webhook
    deliveries and emails, each a job of its own, so that no email waits behind a slow receiver."""
    return [Deliveries(Deliverer(db, settings)), Blocking("emails", partial(mailer.send_due, db, settings), IDLE)]


def server_jobs(db: Database, settings: Settings, processors: ProcessorDirectory) -> list[Job]:
    """What every `serve` process runs: the reconciler (its first pass at start-up), SQLite checkpoints
    (requests commit without waiting for the disk), and the delivery jobs."""
    jobs: list[Job] = [Blocking("reconciler", partial(reconcile_and_purge, db, processors, settings.reconcile_after),
                                settings.reconcile_interval)]
    if db.is_sqlite:
        jobs.append(Blocking("checkpoints", partial(checkpoint, db.engine), CHECKPOINT_SECONDS))
    if settings.delivery_worker:
        jobs.extend(delivery_jobs(db, settings))
    return jobs
