"""Sites and token information, in the spec's shapes, so that the SDK's start-up calls work. Each is
answered from the caller the pipeline admitted: nothing more to read."""

from __future__ import annotations

import msgspec
from litestar import MediaType, Request, Response, get
from litestar.params import FromPath

from orderdesk.api.auth import authorize
from orderdesk.domain.sites import Scope
from orderdesk.wire.sites import SitesDoc, authorized_by_doc, introspection_doc, site_doc


def _json(value: object) -> Response:
    return Response(content=msgspec.json.encode(value), media_type=MediaType.JSON)


@get("/v2/sites")
async def list_sites(request: Request) -> Response:
    caller = authorize(request, Scope.SITES_READ)
    return _json(SitesDoc([site_doc(caller.site)]))


@get("/v2/sites/{site_id:str}")
async def get_site(request: Request, site_id: FromPath[str]) -> Response:
    caller = authorize(request, Scope.SITES_READ, site_id)
    return _json(site_doc(caller.site))


# Any live token may ask about itself, whatever its scopes.
@get("/v2/token/introspect")
async def introspect(request: Request) -> Response:
    caller = authorize(request, None)
    return _json(introspection_doc(caller.token, caller.site, caller.rate_limit))


@get("/v2/token/authorized_by")
async def authorized_by(request: Request) -> Response:
    return _json(authorized_by_doc(authorize(request, None).site))


ROUTES = [list_sites, get_site, introspect, authorized_by]
