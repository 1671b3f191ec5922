"""The delivery worker: claims due deliveries with a lease, posts them signed, records every attempt.

Only HTTP 200 counts; redirects, timeouts and other codes are failures, retried `webhook_retries`
more times `webhook_retry_interval` apart; a delivery that fails every attempt deactivates its
webhook. Claims are leases, so a worker that dies mid-delivery leaves its deliveries to be sent
again (at least once), and two workers never send the same attempt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import structlog

from orderdesk.config import Settings
from orderdesk.domain import clock
from orderdesk.store.repositories.webhooks import Claimed, WebhookRepository
from orderdesk.store.unit_of_work import Database
from orderdesk.webhooks import mailer
from orderdesk.webhooks.addresses import TargetRefused, check_url
from orderdesk.webhooks.signing import signed_headers

log = structlog.get_logger("orderdesk.webhooks")
BATCH = 16  # deliveries claimed at once: each the head of a different webhook's queue


@dataclass(frozen=True, slots=True)
class Attempt:
    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code == 200


class Deliverer:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.client = httpx.Client(timeout=settings.webhook_timeout, follow_redirects=False)
        self.lease_ms = int((settings.webhook_timeout * 2 + 10) * 1000)
        self.pool = ThreadPoolExecutor(BATCH, thread_name_prefix="orderdesk-delivery")

    def deliver_due(self) -> int:
        """Send what is due now; how many deliveries were attempted."""
        now = clock.to_millis(clock.now())
        with self.db.reading() as connection:
            if not WebhookRepository(connection).anything_due(now):
                return 0
        with self.db.unit_of_work() as work:
            claimed = WebhookRepository(work.connection).claim(now, self.lease_ms, BATCH)
            work.commit()
        # Each claimed delivery belongs to a different webhook, so sending them side by side keeps
        # every webhook's order, and one slow receiver does not hold up the others.
        list(self.pool.map(self._deliver, claimed))
        return len(claimed)

    def _deliver(self, claimed: Claimed) -> None:
        attempt = self.send(claimed)
        self.record(claimed, attempt)

    def send(self, claimed: Claimed) -> Attempt:
        started = time.perf_counter()
        try:
            check_url(claimed.url, self.settings.webhook_allow_private)  # DNS may have changed since
            timestamp = clock.to_millis(clock.now())
            headers = signed_headers(claimed.secret_key, timestamp, claimed.body, claimed.event_id)
            response = self.client.post(claimed.url, content=claimed.body, headers=headers)
            error = None if response.status_code == 200 else f"HTTP {response.status_code}"
            return Attempt(response.status_code, _since(started), error)
        except TargetRefused as refused:
            return Attempt(None, _since(started), f"refused: {refused}"[:255])
        except httpx.TimeoutException:
            return Attempt(None, _since(started), f"timed out after {self.settings.webhook_timeout:g} s")
        except (httpx.HTTPError, httpx.InvalidURL) as failure:
            return Attempt(None, _since(started), f"{type(failure).__name__}: {failure}"[:255])

    def record(self, claimed: Claimed, attempt: Attempt) -> None:
        at = clock.to_millis(clock.now())
        with self.db.unit_of_work() as work:
            repository = WebhookRepository(work.connection)
            repository.record_attempt(claimed, attempt.status_code, attempt.duration_ms, attempt.error, at)
            if attempt.succeeded:
                repository.delivered(claimed, at)
            elif claimed.attempts + 1 > self.settings.webhook_retries:
                if repository.given_up(claimed, at):
                    repository.set_deactivated(claimed.webhook_id, at)
                log.warning("webhook deactivated: its delivery failed every attempt", webhook_id=claimed.webhook_id,
                            event_id=claimed.event_id, error=attempt.error)
            else:
                repository.retry_later(claimed, at + int(self.settings.webhook_retry_interval * 1000))
            work.commit()
        log.info("webhook delivery", webhook_id=claimed.webhook_id, event_id=claimed.event_id,
                 attempt=claimed.attempts + 1, status=attempt.status_code, error=attempt.error,
                 duration_ms=attempt.duration_ms)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


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


def delivery_loop(db: Database, settings: Settings) -> WorkLoop:
    """The worker that `serve` runs by default, and `orderdesk worker` runs alone."""
    deliverer = Deliverer(db, settings)
    jobs = [deliverer.deliver_due, lambda: mailer.send_due(db, settings)]
    return WorkLoop("orderdesk-deliveries", jobs, idle=0.2, on_stop=[deliverer.close])
