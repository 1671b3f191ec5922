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


def test_an_answered_route_is_matched_exactly_where_the_framework_routes_it(tmp_path):
    # The pipeline's own match of the ANSWER routes must agree with the framework's router on every route's
    # path (the same template, the same parameters) and leave every other form of path to it.
    import re

    from orderdesk.api.app import create_app
    from orderdesk.api.pipeline import Pipeline
    from orderdesk.config import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'o.db'}"))
    while not isinstance(app, Pipeline):
        app = app.app
    framework = app.app
    paths = [re.sub(r"\{(\w+)\}", lambda m: f"{m.group(1)}-1", route.path_format) for route in framework.routes]
    paths += ["/v2/sites/s/orders/o/", "/v2/sites//orders/o", "/v2/sites/s/orders/o/fulfill", "/v2/sites/s/orders"]
    answered = []
    for path in paths:
        for method in ("GET", "POST", "PATCH", "DELETE"):
            scope = {"path": path, "method": method}
            found = app._route(scope)
            if found is None or found[0] is None:
                continue
            answered.append((method, path))
            _, handler, _, params, template = framework.asgi_router._handle_routing(path=path, method=method)
            assert (found[0], found[1], scope["path_template"]) == (handler.opt["answer"], params, template)
    # GET one order and a page of orders, on their own paths (one with a trailing slash, through the
    # framework's router), and nothing else.
    assert sorted(answered) == [("GET", "/v2/sites/s/orders"), ("GET", "/v2/sites/s/orders/o/"),
                                ("GET", "/v2/sites/site_id-1/orders"), ("GET", "/v2/sites/site_id-1/orders/order_id-1")]
