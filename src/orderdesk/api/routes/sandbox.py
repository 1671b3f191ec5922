"""The sandbox workbench's controls (sites, reset, seed, snapshots, faults, processor events), under /_orderdesk/: registered only in sandbox mode (`serve --sandbox`,
ORDERDESK_SANDBOX=true); without it every such path is the framework's 404, so an operator's ledger cannot
be reset by accident.

`POST /_orderdesk/sites` needs no token from loopback; from anywhere else it takes ORDERDESK_SANDBOX_KEY as
a bearer token. Every `/_orderdesk/sites/{site_id}/...` call takes that site's own token, of any scope,
admitted as the API's are (`auth.admit`); another site's token finds no such site.
"""

from __future__ import annotations

import hmac

import msgspec
from litestar import MediaType, Request, Response, delete, get, post
from litestar.params import FromPath, RawBody

from orderdesk.api.auth import Caller, admit, bearer_token, header
from orderdesk.api.bodies import decode
from orderdesk.api.routes.docs import operation_ids
from orderdesk.api.threads import in_thread, on_database
from orderdesk.domain.faults import PROCESSOR
from orderdesk.errors import NotAuthorized, SiteNotFound, ValidationFailed
from orderdesk.payments.simulated import SimulatedProcessor
from orderdesk.seed.orders import seed_orders
from orderdesk.services import disputes, faults, sandbox
from orderdesk.wire import requests
from orderdesk.wire.sandbox import FaultListDoc, SandboxSiteDoc, SnapshotListDoc, fault_doc, snapshot_doc

SITES = "/_orderdesk/sites"
SITE = SITES + "/{site_id:str}"
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _may_make_sites(request: Request) -> bool:
    client = request.client.host if request.client else ""
    if client in _LOOPBACK or client.startswith("127."):
        return True
    key = request.app.state.settings.sandbox_key
    presented = bearer_token(header(request.scope["headers"], b"authorization") or "")
    return bool(key) and presented is not None and hmac.compare_digest(presented.encode(), key.encode())


@post(SITES)
async def create_site(request: Request, body: RawBody) -> Response:
    if not _may_make_sites(request):
        raise NotAuthorized()
    new = decode(request, body, requests.NewSandboxSite)
    db = request.app.state.db
    site, token = await on_database(db, sandbox.create_site, db, new.name, new.currency)
    return Response(content=msgspec.json.encode(SandboxSiteDoc(site.id, token)), media_type=MediaType.JSON,
                    status_code=201)


async def site_caller(request: Request, site_id: str) -> Caller:
    """The caller, if its token belongs to `site_id` (any scope); SiteNotFound for another site's token."""
    state = request.app.state
    caller = await on_database(state.db, admit, state.db, state.settings.rate_limit, request.scope)
    if caller.site.id != site_id:
        raise SiteNotFound()
    return caller


@post(SITE + "/reset", status_code=204)
async def reset_site(request: Request, site_id: FromPath[str]) -> None:
    await site_caller(request, site_id)
    state = request.app.state
    for token_id in await on_database(state.db, sandbox.reset_site, state.db, site_id):
        state.rate_limiter.forget(token_id)


def _json(value: object, status: int = 200) -> Response:
    return Response(content=msgspec.json.encode(value), media_type=MediaType.JSON, status_code=status)


# The operations a fault may name: those of the API that take a token (signed processor events do not).
_FAULTABLE = frozenset(operation for (_, path), operation in operation_ids().items()
                       if path.startswith("/v2/") and not path.startswith("/v2/processors/"))


@post(SITE + "/faults")
async def add_fault(request: Request, site_id: FromPath[str], body: RawBody) -> Response:
    await site_caller(request, site_id)
    new = decode(request, body, requests.NewFault)
    state = request.app.state
    if new.operation == PROCESSOR and \
            (await on_database(state.db, state.processors.for_site, site_id)).name != SimulatedProcessor.name:
        raise ValidationFailed.of("operation", "a processor fault shapes the simulated processor's refunds; this "
                                               "site refunds through its own processor")
    fault = await on_database(state.db, faults.add_fault, state.db, site_id, _FAULTABLE, new.operation, new.status,
                              new.delay_ms, new.drop, new.times, new.probability, new.outcome, new.chaos)
    return _json(fault_doc(fault), status=201)


@get(SITE + "/faults")
async def list_faults(request: Request, site_id: FromPath[str]) -> Response:
    await site_caller(request, site_id)
    db = request.app.state.db
    return _json(FaultListDoc([fault_doc(fault) for fault in await on_database(db, faults.list_faults, db, site_id)]))


@delete(SITE + "/faults/{fault_id:str}", status_code=204)
async def remove_fault(request: Request, site_id: FromPath[str], fault_id: FromPath[str]) -> None:
    await site_caller(request, site_id)
    db = request.app.state.db
    await on_database(db, faults.remove_fault, db, site_id, fault_id)


@delete(SITE + "/faults", status_code=204)
async def clear_faults(request: Request, site_id: FromPath[str]) -> None:
    await site_caller(request, site_id)
    db = request.app.state.db
    await on_database(db, faults.clear_faults, db, site_id)


def _optional(request: Request, body: bytes, kind):
    """The body as `kind`; no body at all is `kind()`, every field left out."""
    return decode(request, body, kind) if body.strip() else kind()


def _document(document: bytes) -> Response:
    return Response(content=document, media_type=MediaType.JSON)


@post(SITE + "/orders/{order_id:str}/dispute", status_code=200)
async def dispute_order(request: Request, site_id: FromPath[str], order_id: FromPath[str], body: RawBody) -> Response:
    await site_caller(request, site_id)
    event = _optional(request, body, requests.SandboxDispute)
    db = request.app.state.db
    document, _ = await on_database(db, disputes.simulate_dispute, db, site_id, order_id, event.outcome)
    return _document(document)


@post(SITE + "/orders/{order_id:str}/capture", status_code=200)
async def capture_order(request: Request, site_id: FromPath[str], order_id: FromPath[str], body: RawBody) -> Response:
    await site_caller(request, site_id)
    event = _optional(request, body, requests.SandboxCapture)
    db = request.app.state.db
    return _document(await on_database(db, disputes.capture_payment, db, site_id, order_id, event.amount))


@post(SITE + "/seed", status_code=200)
async def seed_site(request: Request, site_id: FromPath[str], body: RawBody) -> Response:
    caller = await site_caller(request, site_id)
    plan = decode(request, body, requests.SandboxSeed)
    written = await in_thread(seed_orders, request.app.state.db, caller.site, plan.orders, plan.seed, 5000, None, False)
    return _json({"orders": written})


@post(SITE + "/snapshots")
async def save_snapshot(request: Request, site_id: FromPath[str], body: RawBody) -> Response:
    await site_caller(request, site_id)
    new = decode(request, body, requests.NewSnapshot)
    db = request.app.state.db
    saved = await on_database(db, sandbox.save_snapshot, db, site_id, new.name)
    return _json(snapshot_doc(saved.name, saved.created_on, saved.orders), status=201)


@get(SITE + "/snapshots")
async def list_snapshots(request: Request, site_id: FromPath[str]) -> Response:
    await site_caller(request, site_id)
    db = request.app.state.db
    saved = await on_database(db, sandbox.list_snapshots, db, site_id)
    return _json(SnapshotListDoc([snapshot_doc(info.name, info.created_on, info.orders) for info in saved]))


@post(SITE + "/snapshots/{name:str}/restore", status_code=204)
async def restore_snapshot(request: Request, site_id: FromPath[str], name: FromPath[str]) -> None:
    await site_caller(request, site_id)
    db = request.app.state.db
    await on_database(db, sandbox.restore_snapshot, db, site_id, name)


@delete(SITE + "/snapshots/{name:str}", status_code=204)
async def delete_snapshot(request: Request, site_id: FromPath[str], name: FromPath[str]) -> None:
    await site_caller(request, site_id)
    db = request.app.state.db
    await on_database(db, sandbox.delete_snapshot, db, site_id, name)


ROUTES = [create_site, reset_site, add_fault, list_faults, remove_fault, clear_faults, dispute_order, capture_order,
          save_snapshot, list_snapshots, restore_snapshot, delete_snapshot, seed_site]
