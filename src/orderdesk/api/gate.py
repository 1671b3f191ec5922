"""The token is checked before a write's body is read, as ASGI middleware.

A client without a live token gets its 401 for the price of one indexed read: the server never waits
for its body, never holds it in memory, and never answers `Expect: 100-continue` (so a careful client
does not even send it). The lookup is kept in the request's state, so the handler's own checks
(`auth.check_caller`: rate limit, scope, site) reuse it instead of looking the token up again.

Only routes that exist are gated: an unknown path or a wrong method gets the framework's 404 or 405 as
before. Processor events (`/v2/processors/...`) carry no token; their signature covers the body, which
has to be read to be checked.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.utils import normalize_path

from orderdesk.api.auth import authenticated
from orderdesk.api.errors import send_failure
from orderdesk.api.threads import on_database
from orderdesk.store.database import Database


_WRITES = frozenset({"POST", "PATCH"})
_SIGNED = "/v2/processors/"


class TokenGate:
    def __init__(self, app, framework: Litestar, db: Database) -> None:
        self.app, self.framework, self.db = app, framework, db

    async def __call__(self, scope, receive, send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if scope.get("method") not in _WRITES or not path.startswith("/v2/") or path.startswith(_SIGNED):
            await self.app(scope, receive, send)
            return
        try:
            # The framework's own (cached) routing: the handler will find the same route again.
            *_, template = self.framework.asgi_router.handle_routing(path=normalize_path(path), method=scope["method"])
        except (NotFoundException, MethodNotAllowedException):
            await self.app(scope, receive, send)
            return
        header = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        scope["path_template"] = template  # a refusal here is counted under its route, as the framework's was
        try:
            await on_database(self.db, authenticated, self.db, header.decode("latin-1"), scope)
        except Exception as error:
            await send_failure(scope, send, error)
            return
        await self.app(scope, receive, send)
