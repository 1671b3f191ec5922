"""The app factory: settings in, a Litestar app out."""

from __future__ import annotations

import gc
from functools import partial

from litestar import Litestar
from litestar.datastructures import State

from orderdesk.api.errors import EXCEPTION_HANDLERS
from orderdesk.api.gate import TokenGate
from orderdesk.api.idempotency import Idempotency
from orderdesk.api.middleware import Methods, RequestContext
from orderdesk.api.ratelimit import RateLimiter, rate_limiter_for
from orderdesk.api.reads import OrderReads
from orderdesk.api.routes import docs, health, mailbox, orders, processor_events, refunds, sites, webhooks
from orderdesk.config import Settings
from orderdesk.services.reconciler import Reconciler
from orderdesk.logs import configure_logging
from orderdesk.payments.directory import Processors
from orderdesk.services.ports import PaymentProcessor
from orderdesk.store.engine import checkpoint
from orderdesk.store.database import Database
from orderdesk.webhooks.delivery import delivery_loop
from orderdesk.webhooks.loops import WorkLoop

CHECKPOINT_SECONDS = 1.0


def create_app(settings: Settings | None = None, processor: PaymentProcessor | None = None,
               rate_limiter: RateLimiter | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    db = Database.connect(settings.database_url, settings.database_pool_size, checkpoint_on_commit=False)
    processors = Processors(db, settings, fixed=processor)
    reconciler = Reconciler(db, processors, settings.reconcile_interval, settings.reconcile_after)
    background = [reconciler]
    if db.is_sqlite:
        # Requests commit without waiting for the disk; this thread copies the log into the file.
        background.append(WorkLoop("orderdesk-checkpoints", [partial(checkpoint, db.engine)], idle=CHECKPOINT_SECONDS))
    if settings.delivery_worker:
        background.append(delivery_loop(db, settings))
    rate_limiter = rate_limiter or rate_limiter_for(settings)
    state = State({"settings": settings, "db": db, "processors": processors, "rate_limiter": rate_limiter})
    app = Litestar(
        route_handlers=[*orders.ROUTES, *refunds.ROUTES, *sites.ROUTES, *processor_events.ROUTES, *webhooks.ROUTES,
                        *mailbox.ROUTES, *health.ROUTES, *docs.ROUTES],
        exception_handlers=EXCEPTION_HANDLERS,
        state=state,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=None,
        on_startup=[loop.start for loop in background],
        on_shutdown=[*(loop.stop for loop in background), db.dispose],
        logging_config=None,
    )
    # Inside RequestContext, so that their answers carry X-Request-Id too; the gate before anything reads a body.
    keyed = Idempotency(app, db, settings.max_body_bytes, rate_limiter, settings.rate_limit)
    gated = TokenGate(OrderReads(keyed, state), app, db)
    return RequestContext(Methods(gated, app.routes), access_log=settings.log_level == "debug")  # type: ignore[return-value]


def app_from_environment():
    """Entry point for server workers: settings come from ORDERDESK_* variables."""
    settings = Settings.from_env()
    configure_logging(settings)
    app = create_app(settings)
    # The half a million objects of the libraries and the app live as long as the process: frozen, the
    # collector stops walking them, and its rare full collections stop pausing every request for 100 ms.
    gc.freeze()
    return app
