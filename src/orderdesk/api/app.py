"""The app factory: settings in, a Litestar app out."""

from __future__ import annotations

import gc

from litestar import Litestar
from litestar.datastructures import State

from orderdesk.api.errors import EXCEPTION_HANDLERS
from orderdesk.api.middleware import Methods, RequestContext
from orderdesk.api.pipeline import Pipeline
from orderdesk.api.ratelimit import RateLimiter, rate_limiter_for
from orderdesk.api.routes import docs, health, mailbox, orders, processor_events, refunds, sandbox, sites, webhooks
from orderdesk.background import Background, server_jobs
from orderdesk.config import Settings
from orderdesk.logs import configure_logging
from orderdesk.payments.directory import Processors
from orderdesk.services.ports import PaymentProcessor
from orderdesk.store.database import Database


def create_app(settings: Settings | None = None, processor: PaymentProcessor | None = None,
               rate_limiter: RateLimiter | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    db = Database.connect(settings.database_url, settings.database_pool_size, checkpoint_on_commit=False)
    processors = Processors(db, settings, fixed=processor)
    background = Background(server_jobs(db, settings, processors))
    rate_limiter = rate_limiter or rate_limiter_for(settings)
    state = State({"settings": settings, "db": db, "processors": processors, "rate_limiter": rate_limiter})
    app = Litestar(
        route_handlers=[*orders.ROUTES, *refunds.ROUTES, *sites.ROUTES, *processor_events.ROUTES, *webhooks.ROUTES,
                        *mailbox.ROUTES, *health.ROUTES, *docs.ROUTES, *(sandbox.ROUTES if settings.sandbox else [])],
        exception_handlers=EXCEPTION_HANDLERS,
        state=state,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=None,
        on_startup=[background.start],
        on_shutdown=[background.stop, db.dispose],
        logging_config=None,
    )
    # Inside RequestContext, so that the pipeline's answers carry X-Request-Id and are counted too.
    pipeline = Pipeline(app, state)
    return RequestContext(Methods(pipeline, app.routes), access_log=settings.log_level == "debug")  # type: ignore[return-value]


def app_from_environment():
    """Entry point for server workers: settings come from ORDERDESK_* variables."""
    settings = Settings.from_env()
    configure_logging(settings)
    app = create_app(settings)
    # The half a million objects of the libraries and the app live as long as the process: frozen, the
    # collector stops walking them, and its rare full collections stop pausing every request for 100 ms.
    gc.freeze()
    return app
