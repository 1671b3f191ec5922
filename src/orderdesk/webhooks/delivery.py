"""The delivery worker: claims due deliveries with a lease, posts them signed, records every attempt.

Only HTTP 200 counts; redirects, timeouts and other codes are failures, retried `webhook_retries`
more times `webhook_retry_interval` apart; a delivery that fails every attempt deactivates its
webhook. Claims are leases, so a worker that dies mid-delivery leaves its deliveries to be sent
again (at least once), and two workers never send the same attempt: an attempt ends by its deadline
(`webhook_timeout`), and the lease outlasts the deadline by `LEASE_MARGIN`.

Attempts run side by side on the background loop (`orderdesk.background`), at most
`webhook_concurrency` at once, each the head of a different webhook's queue (so every webhook's events
still go in order); one slow receiver holds only its own webhook. A slot whose delivery succeeded goes
on with that webhook's next due one, claimed in the transaction that records the last (`CHAIN` in a
row at most). Emails are a job of their own (`mailer`), never behind a receiver.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import httpcore
import structlog

from orderdesk.config import Settings
from orderdesk.domain import clock
from orderdesk.domain.faults import WEBHOOK_DELIVERY
from orderdesk.services.faults import fault_for
from orderdesk.store.repositories.webhooks import Claimed, WebhookRepository
from orderdesk.store.database import Database
from orderdesk.webhooks import sending
from orderdesk.webhooks.sending import Attempt

log = structlog.get_logger("orderdesk.webhooks")
T = TypeVar("T")
# Seconds a lease outlasts the attempt's deadline: room to record the outcome, which may wait for
# SQLite's write lock or a pooled connection (each up to 30 s, see store/engine.py).
LEASE_MARGIN = 60.0
STOP_GRACE = 2.0  # seconds a stopping worker lets its attempts finish; the rest are given back, to be sent again
IDLE = 0.2  # seconds between looks for due deliveries when there were none
# Deliveries of one webhook a slot sends in a row before it goes back to the queue, oldest head first,
# so that a webhook with a long backlog does not keep its slot from the others.
CHAIN = 10


class Deliverer:
    """Claims, attempts and records deliveries; its database work runs in a thread of its own."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.concurrency = max(1, settings.webhook_concurrency)
        self.lease_ms = int((settings.webhook_timeout + LEASE_MARGIN) * 1000)
        # One thread: this worker holds at most one database connection, and its event loop never
        # waits on the database (SQLite's write lock may be held by another process).
        self._database = ThreadPoolExecutor(1, thread_name_prefix="orderdesk-delivery-db")
        # getaddrinfo cannot be cancelled: a lookup that outlives its attempt finishes here on its own.
        self._resolver = ThreadPoolExecutor(self.concurrency, thread_name_prefix="orderdesk-resolve")

    def deliver_due(self) -> int:
        """One pass: attempt what is due now, side by side, and wait for every outcome; how many there were."""
        return asyncio.run(self._deliver_due())

    async def _deliver_due(self) -> int:
        async with sending.new_pool(self.concurrency) as pool:
            claimed = await self.claim(self.concurrency)
            await asyncio.gather(*(self.deliver(pool, one, chain=1) for one in claimed))
        return len(claimed)

    async def claim(self, limit: int) -> list[Claimed]:
        return await self._on_database(self._claim, limit)

    async def deliver(self, pool: httpcore.AsyncConnectionPool, claimed: Claimed, chain: int = CHAIN) -> None:
        """Attempt the delivery and record it, then the webhook's next ones while they are due, `chain`
        in all at most; never raises, and a cancelled one gives its delivery back."""
        current: Claimed | None = claimed
        try:
            for turn in range(1, chain + 1):
                current = await self._deliver_one(pool, current, go_on=turn < chain)
                if current is None:
                    return
        except asyncio.CancelledError:
            if current is not None:
                await self.release(current)  # a no-op for an outcome already recorded
            raise
        except Exception:  # noqa: BLE001 - one delivery's failure must not end the loop; its lease runs out
            failed = current or claimed
            log.exception("webhook delivery failed", webhook_id=failed.webhook_id, event_id=failed.event_id)

    async def _deliver_one(self, pool: httpcore.AsyncConnectionPool, claimed: Claimed,
                           go_on: bool) -> Claimed | None:
        # Begun only while the lease outlasts the deadline by half its margin or more (it was claimed a
        # moment ago), so the outcome is recorded before anyone else may claim the delivery.
        left = (claimed.claimed_until - clock.to_millis(self.db.clock.now())) / 1000 - self.settings.webhook_timeout
        if left < LEASE_MARGIN / 2:
            await self.release(claimed)
            return None
        chaos = await self._on_database(self._chaos, claimed)
        if chaos == "delay":  # held back until its next attempt's time, as if the receiver had been slow
            await self._on_database(self._hold_back, claimed)
            return None
        if chaos == "drop":  # lost on the way: recorded as a receiver's 500 would be
            attempt = Attempt(500, 0, "dropped by a sandbox fault (webhook-delivery chaos)")
        else:
            attempt = await sending.attempt(pool, claimed, self.settings.webhook_timeout,
                                            self.settings.webhook_allow_private, self._resolver)
            if chaos == "duplicate":  # the receiver gets it twice, the same event id both times
                await sending.attempt(pool, claimed, self.settings.webhook_timeout,
                                      self.settings.webhook_allow_private, self._resolver)
        return await self._on_database(self.record, claimed, attempt, go_on)

    def _chaos(self, claimed: Claimed) -> str | None:
        """The site's webhook-delivery fault this delivery meets, if any (faults.py; whatever process delivers)."""
        fault = fault_for(self.db, claimed.site_id, WEBHOOK_DELIVERY) if claimed.site_id else None
        return None if fault is None else fault.chaos

    def _hold_back(self, claimed: Claimed) -> None:
        until = clock.to_millis(self.db.clock.now()) + int(self.settings.webhook_retry_interval * 1000)
        with self.db.unit_of_work() as work:
            WebhookRepository(work.connection).hold_back(claimed, until)
            work.commit()

    async def release(self, claimed: Claimed) -> None:
        """Give the delivery back unattempted, due at once for any worker."""
        await self._on_database(self._release, claimed)

    def record(self, claimed: Claimed, attempt: Attempt, go_on: bool = False) -> Claimed | None:
        """Record the attempt and settle the delivery; with `go_on`, the webhook's next delivery if one is
        due, claimed in the same transaction (one write per delivery while a webhook has a backlog)."""
        at = clock.to_millis(self.db.clock.now())
        following = None
        with self.db.unit_of_work() as work:
            repository = WebhookRepository(work.connection)
            repository.record_attempt(claimed, attempt.status_code, attempt.duration_ms, attempt.error, at)
            if attempt.succeeded:
                settled = repository.delivered(claimed, at)
                if settled and go_on:
                    following = next(iter(repository.claim(at, self.lease_ms, 1, claimed.webhook_id)), None)
            elif claimed.attempts + 1 > self.settings.webhook_retries:
                settled = repository.given_up(claimed, at)
                if settled:
                    repository.set_deactivated(claimed.webhook_id, at)
                    log.warning("webhook deactivated: its delivery failed every attempt",
                                webhook_id=claimed.webhook_id, event_id=claimed.event_id, error=attempt.error)
            else:
                settled = repository.retry_later(claimed, at + int(self.settings.webhook_retry_interval * 1000))
            work.commit()
        if not settled:
            log.warning("webhook delivery outcome not applied: the delivery is no longer this worker's "
                        "(its lease ran out, or its webhook was removed)",
                        webhook_id=claimed.webhook_id, event_id=claimed.event_id)
        log.info("webhook delivery", webhook_id=claimed.webhook_id, event_id=claimed.event_id,
                 attempt=claimed.attempts + 1, status=attempt.status_code, error=attempt.error,
                 duration_ms=attempt.duration_ms)
        return following

    def close(self) -> None:
        self._database.shutdown(wait=True)
        self._resolver.shutdown(wait=False, cancel_futures=True)  # a hung lookup must not hold the shutdown

    def _claim(self, limit: int) -> list[Claimed]:
        now = clock.to_millis(self.db.clock.now())
        with self.db.reading() as connection:
            if not WebhookRepository(connection).anything_due(now):  # an idle worker takes no write lock
                return []
        with self.db.unit_of_work() as work:
            claimed = WebhookRepository(work.connection).claim(now, self.lease_ms, limit)
            work.commit()
        return claimed

    def _release(self, claimed: Claimed) -> None:
        with self.db.unit_of_work() as work:
            WebhookRepository(work.connection).release(claimed)
            work.commit()

    async def _on_database(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._database, partial(function, *args))


class Deliveries:
    """The background job of deliveries: each pass fills the free slots, up to `concurrency` attempts in
    flight on the loop, and an attempt that ends wakes the job to claim again at once."""

    name = "deliveries"
    idle = IDLE

    def __init__(self, deliverer: Deliverer) -> None:
        self.deliverer = deliverer
        self._in_flight: set[asyncio.Task[None]] = set()

    async def open(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._pool = sending.new_pool(self.deliverer.concurrency)

    async def run(self) -> int:
        free = self.deliverer.concurrency - len(self._in_flight)
        for claimed in await self.deliverer.claim(free) if free else []:
            task = asyncio.create_task(self.deliverer.deliver(self._pool, claimed))
            self._in_flight.add(task)
            task.add_done_callback(self._ended)
        return 0  # never again at once: the slots are full, or nothing more is due; an ending attempt wakes it

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake()

    async def close(self) -> None:
        """Let the attempts in flight end, STOP_GRACE seconds at most; the rest give their deliveries back."""
        if self._in_flight:
            _, unfinished = await asyncio.wait(self._in_flight, timeout=STOP_GRACE)
            for task in unfinished:
                task.cancel()
            for outcome in await asyncio.gather(*unfinished, return_exceptions=True):
                if isinstance(outcome, Exception):  # giving back failed: the lease runs out instead
                    log.error("releasing a webhook delivery failed", error=repr(outcome))
        await self._pool.aclose()
        self.deliverer.close()
