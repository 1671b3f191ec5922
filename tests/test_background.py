"""The background loop: jobs run side by side, a pass that found work is followed at once by the next,
a failing job goes on failing alone, wake() asks for a pass now, stop() returns within its bound; and
`orderdesk worker` is that loop, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from orderdesk.background import Background, Blocking, server_jobs
from orderdesk.config import Settings
from orderdesk.payments.directory import Processors

NEVER = 3600.0  # an idle rest no test outlasts: a second pass comes only from wake() or found work


class Passes:
    """Counts each job's passes, and lets a test wait until a count is reached."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._changed = threading.Condition()

    def job(self, name: str, found: int = 0) -> Blocking:
        return Blocking(name, lambda: self.record(name, found), NEVER)

    def held_job(self, name: str, release: threading.Event) -> Blocking:
        """A job whose every pass, once counted, blocks until `release` is set."""
        def held() -> int:
            self.record(name)
            release.wait(30)
            return 0

        return Blocking(name, held, NEVER)

    def record(self, name: str, found: int = 0) -> int:
        with self._changed:
            self.counts[name] += 1
            self._changed.notify_all()
        return found

    def wait_for(self, name: str, count: int, seconds: float = 10) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self.counts[name] >= count, seconds), dict(self.counts)


@pytest.fixture
def passes() -> Passes:
    return Passes()


@pytest.fixture
def started() -> Iterator[list[Background]]:
    """Backgrounds a test starts, stopped at its end whatever happened."""
    backgrounds: list[Background] = []
    yield backgrounds
    for background in backgrounds:
        background.stop()


def start(started: list[Background], jobs, stop_within: float = 10.0) -> Background:
    background = Background(jobs, stop_within=stop_within)
    started.append(background)
    background.start()
    return background


def test_every_job_runs_a_pass_at_start_and_wake_runs_the_one_named_now(passes, started):
    background = start(started, [passes.job("reconciler"), passes.job("emails")])
    passes.wait_for("reconciler", 1)
    passes.wait_for("emails", 1)

    background.wake("emails")
    passes.wait_for("emails", 2)

    assert passes.counts == {"reconciler": 1, "emails": 2}


def test_a_job_that_raises_does_not_stop_the_others_nor_itself(passes, started):
    def failing() -> int:
        passes.record("failing")
        raise RuntimeError("the database went away")

    background = start(started, [Blocking("failing", failing, NEVER), passes.job("steady")])
    passes.wait_for("failing", 1)
    passes.wait_for("steady", 1)

    background.wake()
    passes.wait_for("failing", 2)
    passes.wait_for("steady", 2)

    assert passes.counts == {"failing": 2, "steady": 2}


def test_a_pass_that_found_work_is_followed_at_once_by_the_next(passes, started):
    backlog = [1, 1, 1]  # three passes find work; the fourth finds none and the job rests

    def draining() -> int:
        passes.record("draining")
        return backlog.pop() if backlog else 0

    start(started, [Blocking("draining", draining, NEVER)])
    passes.wait_for("draining", 4)

    assert (passes.counts["draining"], backlog) == (4, [])


def test_a_wake_during_a_pass_asks_for_one_more_after_it(passes, started):
    entered, release = threading.Event(), threading.Event()

    def slow() -> int:
        passes.record("slow")
        if passes.counts["slow"] == 1:
            entered.set()
            release.wait(10)
        return 0

    background = start(started, [Blocking("slow", slow, NEVER)])
    assert entered.wait(10)

    background.wake("slow")
    release.set()
    passes.wait_for("slow", 2)

    assert passes.counts["slow"] == 2


def test_a_slow_pass_holds_up_only_its_own_job(passes, started):
    release = threading.Event()
    background = start(started, [passes.held_job("stuck", release), passes.job("other")])
    try:
        passes.wait_for("stuck", 1)
        passes.wait_for("other", 1)

        background.wake("other")
        passes.wait_for("other", 2)
    finally:
        release.set()

    assert passes.counts == {"stuck": 1, "other": 2}


def test_stop_returns_within_its_bound_though_a_pass_never_ends(passes, started):
    release = threading.Event()
    background = start(started, [passes.held_job("hanging", release), passes.job("resting")], stop_within=0.5)
    passes.wait_for("hanging", 1)
    passes.wait_for("resting", 1)
    try:
        began = time.monotonic()
        background.stop()
        took = time.monotonic() - began
    finally:
        release.set()

    assert 0.25 <= took < 1.0  # the resting job ended at once; the hanging pass was waited for half the bound


def test_stop_ends_every_rest_at_once_and_may_be_called_again(passes, started):
    background = start(started, [passes.job("resting")])
    passes.wait_for("resting", 1)

    began = time.monotonic()
    background.stop()
    took = time.monotonic() - began
    background.stop()
    background.wake()

    assert took < 1.0  # not the hour of its rest
    assert passes.counts == {"resting": 1}


def test_a_background_stopped_before_it_started_never_runs(passes):
    background = Background([passes.job("never")])

    background.stop()
    background.start()
    background.wait()

    assert passes.counts == {}


def test_serve_runs_the_reconciler_and_sqlite_checkpoints_and_deliveries_unless_told_not_to(db):
    def names(**options) -> list[str]:
        settings = Settings(database_url=str(db.engine.url), **options)
        return [job.name for job in server_jobs(db, settings, Processors(db, settings))]

    on_sqlite = ["checkpoints"] if db.is_sqlite else []
    assert names() == ["reconciler", *on_sqlite, "deliveries", "emails"]
    assert names(delivery_worker=False) == ["reconciler", *on_sqlite]


def test_the_worker_command_stops_cleanly_on_sigterm(fresh_database_url):
    environment = {**os.environ, "ORDERDESK_LOG_LEVEL": "warning"}
    with tempfile.TemporaryFile() as log:
        worker = subprocess.Popen([sys.executable, "-m", "orderdesk", "worker", "--database", fresh_database_url],
                                  env=environment, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 30
            while b"orderdesk worker delivering from" not in _read(log):
                assert worker.poll() is None and time.monotonic() < deadline, _read(log)
                time.sleep(0.05)
            began = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=30)
            took = time.monotonic() - began
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    assert code == 0
    assert took < 5.0  # its jobs were resting: no pass to wait for


def _read(log) -> bytes:
    log.seek(0)
    return log.read()
