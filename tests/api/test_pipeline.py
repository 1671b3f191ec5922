"""The pipeline's parts in this process: the one error mapper, and handlers that trust only what the
pipeline admitted."""

from __future__ import annotations

import anyio
import httpx
from litestar import Litestar

from orderdesk.api.errors import EXCEPTION_HANDLERS, error_parts
from orderdesk.api.routes import sites
from orderdesk.errors import MethodNotAllowed, TooManyRequests
from orderdesk.wire.errors import error_body


def test_a_429_carries_its_retry_after_and_a_405_its_allow():
    # Given a rate-limit refusal and a method refusal
    too_many, not_allowed = TooManyRequests(7), MethodNotAllowed(["PATCH", "GET"])

    # When each is mapped
    parts = error_parts(too_many), error_parts(not_allowed)

    # Then each answer carries its own headers and the envelope
    assert parts == ((429, [(b"retry-after", b"7")], error_body(too_many)),
                     (405, [(b"allow", b"GET, HEAD, OPTIONS, PATCH")], error_body(not_allowed)))


def test_a_handler_reached_without_the_pipeline_refuses_even_a_well_formed_token():
    # Given the sites routes alone, with no pipeline in front to admit the caller
    app = Litestar(route_handlers=sites.ROUTES, exception_handlers=EXCEPTION_HANDLERS, openapi_config=None)

    # When a request with a bearer token reaches a handler
    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://orderdesk") as client:
            return await client.get("/v2/sites", headers={"Authorization": "Bearer " + "0" * 64})

    response = anyio.run(get)

    # Then it is refused as unauthenticated, never served unchecked
    assert (response.status_code, response.content) == (
        401, b'{"code":"not_authorized","message":"Request not authorized","externalReference":"","details":[]}')
