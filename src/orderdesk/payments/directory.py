"""Finding each site's processor: Stripe where the site configured it, the simulated one otherwise."""

from __future__ import annotations

from orderdesk.config import Settings
from orderdesk.payments.simulated import SimulatedProcessor
from orderdesk.services.ports import PaymentProcessor, ProcessorUnavailable
from orderdesk.store.database import Database


class Processors:
    def __init__(self, db: Database, settings: Settings, fixed: PaymentProcessor | None = None) -> None:
        self.db = db
        self.settings = settings
        self.fixed = fixed  # one processor for every site (tests, embedding)
        self.simulated = SimulatedProcessor(
            db, settings.simulated_delay, settings.simulated_fail_after, settings.simulated_information_window,
            faults=settings.sandbox,
        )

    def for_site(self, site_id: str) -> PaymentProcessor:
        if self.fixed is not None:
            return self.fixed
        return self._stripe(site_id) or self.simulated

    def named(self, site_id: str, name: str) -> PaymentProcessor:
        if self.fixed is not None:
            return self.fixed
        if name == self.simulated.name:
            return self.simulated
        processor = self._stripe(site_id)
        if processor is None:
            # The site's Stripe account was removed while a refund was still open with it.
            raise ProcessorUnavailable(f"site {site_id} has no {name} processor configured")
        return processor

    def _stripe(self, site_id: str) -> PaymentProcessor | None:
        with self.db.reader() as read:
            config = read.processors.get(site_id)
        if config is None or config.kind != "stripe":
            return None
        from orderdesk.payments.stripe import StripeProcessor

        return StripeProcessor(config.secret_key, config.api_base, timeout=self.settings.processor_timeout)
