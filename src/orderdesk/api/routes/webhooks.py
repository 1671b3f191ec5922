"""Webflow's four webhook endpoints, and our deliveries, redeliver and reactivate extensions.

A webhook is addressed without its site (`/v2/webhooks/{id}`), so the token's own site is the one
it must belong to: another site's webhook is as missing as one that never existed.
"""

from __future__ import annotations

import msgspec
from litestar import MediaType, Request, Response, delete, get, post
from litestar.params import FromPath, RawBody

from orderdesk.api.auth import authorize
from orderdesk.api.bodies import Query, decode
from orderdesk.api.threads import in_thread
from orderdesk.domain.sites import Scope
from orderdesk.errors import FieldProblem
from orderdesk.services import webhooks
from orderdesk.wire import requests
from orderdesk.wire.webhooks import AttemptListDoc, Pagination, WebhookListDoc, attempt_doc, webhook_doc

READ, WRITE = Scope.SITES_READ, Scope.SITES_WRITE
SITE_WEBHOOKS = "/v2/sites/{site_id:str}/webhooks"
WEBHOOK = "/v2/webhooks/{webhook_id:str}"


def _json(value: object, status: int = 200) -> Response:
    return Response(content=msgspec.json.encode(value), media_type=MediaType.JSON, status_code=status)


@post(SITE_WEBHOOKS)
async def create_webhook(request: Request, site_id: FromPath[str], body: RawBody) -> Response:
    return await in_thread(_create_webhook, request, site_id, body)


def _create_webhook(request: Request, site_id: str, body: bytes) -> Response:
    authorize(request, WRITE, site_id)
    new = decode(request, body, requests.NewWebhook)
    state = request.app.state
    webhook = webhooks.create_webhook(state.db, site_id, new.trigger_type, new.url, new.filter,
                                      allow_private=state.settings.webhook_allow_private)
    return _json(webhook_doc(webhook, with_secret=True), status=201)


@get(SITE_WEBHOOKS)
async def list_webhooks(request: Request, site_id: FromPath[str]) -> Response:
    return await in_thread(_list_webhooks, request, site_id)


def _list_webhooks(request: Request, site_id: str) -> Response:
    authorize(request, READ, site_id)
    query = Query(request.query_params)
    offset = query.integer("offset", 0, minimum=0)
    limit = query.integer("limit", webhooks.MAX_PAGE, minimum=1)
    query.done()
    page = webhooks.list_webhooks(request.app.state.db, site_id, offset, limit)
    return _json(WebhookListDoc([webhook_doc(webhook) for webhook in page.webhooks],
                                Pagination(page.limit, page.offset, page.total)))


@get(WEBHOOK)
async def get_webhook(request: Request, webhook_id: FromPath[str]) -> Response:
    return await in_thread(_get_webhook, request, webhook_id)


def _get_webhook(request: Request, webhook_id: str) -> Response:
    caller = authorize(request, READ)
    return _json(webhook_doc(webhooks.get_webhook(request.app.state.db, caller.site.id, webhook_id)))


# The spec says `sites:read` for removing a webhook, a copy of get-webhook's line; removing is a write.
@delete(WEBHOOK, status_code=204)
async def remove_webhook(request: Request, webhook_id: FromPath[str]) -> None:
    await in_thread(_remove_webhook, request, webhook_id)


def _remove_webhook(request: Request, webhook_id: str) -> None:
    caller = authorize(request, WRITE)
    webhooks.delete_webhook(request.app.state.db, caller.site.id, webhook_id)


@get(WEBHOOK + "/deliveries")
async def list_deliveries(request: Request, webhook_id: FromPath[str]) -> Response:
    return await in_thread(_list_deliveries, request, webhook_id)


def _list_deliveries(request: Request, webhook_id: str) -> Response:
    caller = authorize(request, READ)
    query = Query(request.query_params)
    limit = query.integer("limit", webhooks.MAX_PAGE, minimum=1)
    if limit > webhooks.MAX_PAGE:
        query.problems.append(FieldProblem("limit", f"must be at most {webhooks.MAX_PAGE}"))
    query.done()
    attempts = webhooks.delivery_attempts(request.app.state.db, caller.site.id, webhook_id, limit)
    return _json(AttemptListDoc([attempt_doc(attempt) for attempt in attempts]))


@post(WEBHOOK + "/deliveries/{delivery_id:str}/redeliver", status_code=202)
async def redeliver(request: Request, webhook_id: FromPath[str], delivery_id: FromPath[str], body: RawBody) -> Response:
    return await in_thread(_redeliver, request, webhook_id, delivery_id, body)


def _redeliver(request: Request, webhook_id: str, delivery_id: str, body: bytes) -> Response:
    caller = authorize(request, WRITE)
    decode(request, body, requests.NoFields)
    queued = webhooks.redeliver(request.app.state.db, caller.site.id, webhook_id, delivery_id)
    return _json({"deliveryId": str(queued)}, status=202)


@post(WEBHOOK + "/reactivate", status_code=200)
async def reactivate_webhook(request: Request, webhook_id: FromPath[str], body: RawBody) -> Response:
    return await in_thread(_reactivate_webhook, request, webhook_id, body)


def _reactivate_webhook(request: Request, webhook_id: str, body: bytes) -> Response:
    caller = authorize(request, WRITE)
    decode(request, body, requests.NoFields)
    return _json(webhook_doc(webhooks.reactivate_webhook(request.app.state.db, caller.site.id, webhook_id)))


ROUTES = [create_webhook, list_webhooks, get_webhook, remove_webhook, list_deliveries, redeliver, reactivate_webhook]
