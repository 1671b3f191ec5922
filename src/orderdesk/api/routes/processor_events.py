"""Stripe's webhook endpoint, one per site: no bearer token, the Stripe-Signature header authenticates."""

from __future__ import annotations

from litestar import MediaType, Request, Response, post
from litestar.params import FromPath, RawBody

from orderdesk.api.threads import in_thread
from orderdesk.payments import stripe_events
from orderdesk.services import processors

RECEIVED = b'{"received":true}'


@post("/v2/processors/stripe/{site_id:str}/events")
async def stripe_event(request: Request, site_id: FromPath[str], body: RawBody) -> Response:
    return await in_thread(_stripe_event, request, site_id, body)


def _stripe_event(request: Request, site_id: str, body: bytes) -> Response:
    db = request.app.state.db
    secret = processors.stripe_webhook_secret(db, site_id)
    event = stripe_events.verified_event(body, request.headers.get("stripe-signature"), secret)
    processors.receive_event(db, site_id, event)
    # 200 for events we ignore too: anything else makes Stripe deliver them again for days.
    return Response(content=RECEIVED, media_type=MediaType.JSON, status_code=200)


ROUTES = [stripe_event]
