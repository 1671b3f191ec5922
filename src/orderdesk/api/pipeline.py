"""The one way a request to a route under /v2 goes, in the order of docs/behaviour.md section 2:

1. the route, found by the framework's own routing: an unknown path or method goes on to the
   framework's 404 or 405, before any token. A route with an ANSWER (below) is first tried against its
   own template, compiled once from the framework's route table: the framework's cache keeps the last
   1,024 paths, and an order id is a new path nearly every time (routing one costs more than reading
   it). A path in any other form (a trailing slash, an empty segment) is left to the framework;
2. the caller, admitted once (`auth.admit`), before any body is read: a client without a live token
   gets its 401 for the price of one indexed read, and the server never waits for its body, never
   holds it, and never answers `Expect: 100-continue`. Every later step uses that one result;
3. a write's body, read whole up to the limit; one over it (or cut short) goes on to the framework's
   413 (or 400), which spends no rate limit;
4. the rate limit;
5. the Idempotency-Key of a keyed write (`api/idempotency.py`; ignored in strict Webflow mode, where a
   route of our extensions is the framework's 404 before any of these);
6. in sandbox mode, the site's injected faults (`services/faults.py`): the last step before the handler,
   so a faulted write changes nothing. (Routes with an ANSWER then take one hop more: the fault comes
   between the admission and the answer);
7. the handler, which declares what it needs of the caller (`auth.authorize`: scope, site, ecommerce).

A handler may name, in its `opt`, an ANSWER: a function of the request's scope, the app's state and the
path's parameters that returns the response's JSON (or a `Later`: the JSON read in a thread, as a deep
page is). The pipeline calls it itself, in the same hop to the database as the admission, and skips the
framework's parameter parsing and response objects; these cost more than GET one order does (an indexed
read of stored bytes), most of an integration's traffic.

Processor events (`/v2/processors/...`) carry no token: their signature covers the body, which has to be
read to be checked, so they go straight to the framework, as does everything outside /v2.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from litestar import Litestar
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.utils import normalize_path

from orderdesk.api.auth import Caller, admit, header, spend_rate_limit
from orderdesk.api.errors import JSON, send_failure, send_response
from orderdesk.api.idempotency import KeyedWrite
from orderdesk.api.routes.docs import extensions, operation_ids
from orderdesk.api.server import DROP
from orderdesk.api.threads import in_thread, on_database
from orderdesk.errors import NO_ROUTE, InjectedFault, ResourceNotFound
from orderdesk.services import faults

ANSWER = "answer"  # the key, in a handler's `opt`, of the function the pipeline answers it with


@dataclass(frozen=True, slots=True)
class Later:
    """An ANSWER's answer to be read in a thread (a deep page walks its index for milliseconds): `read()`
    gives the JSON, run under `limiter()`, made on the event loop."""

    read: Callable[[], bytes]
    limiter: Callable[[], object]
_WRITES = frozenset({"POST", "PATCH"})
_SIGNED = "/v2/processors/"


class Pipeline:
    def __init__(self, framework: Litestar, state) -> None:
        self.app, self.state = framework, state  # `app`, as in every ASGI layer: the one it wraps
        self.db, self.settings, self.limiter = state.db, state.settings, state.rate_limiter
        self.keyed_write = KeyedWrite(self.db)
        self.sandbox, self.strict = self.settings.sandbox, self.settings.strict_webflow
        # (method, compiled template, template, answer) of every route handler with an ANSWER.
        self._answered = [
            (method, _compiled(route.path_format), route.path_format, handler.opt[ANSWER])
            for route in framework.routes for handler in getattr(route, "route_handlers", ())
            if ANSWER in handler.opt for method in handler.http_methods
        ]

    async def __call__(self, scope, receive, send) -> None:
        if self.strict and scope["type"] == "http" and self._is_extension(scope):
            await send_failure(scope, send, ResourceNotFound(NO_ROUTE))
            return
        route = self._route(scope) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        answer, params = route
        if answer is not None and not self.sandbox:
            await self._answer_in_one_hop(scope, receive, send, answer, params)
            return
        try:
            caller = await on_database(self.db, admit, self.db, self.settings.rate_limit, scope)
        except Exception as error:
            await send_failure(scope, send, error)
            return
        key, body = None, b""
        if scope["method"] in _WRITES:
            key = None if self.strict else header(scope["headers"], b"idempotency-key")
            receive, body = await read_body(receive, self.settings.max_body_bytes)
            if body is None:
                await self.app(scope, receive, send)
                return
        try:
            spend_rate_limit(self.limiter, caller, scope)
        except Exception as error:
            await send_failure(scope, send, error)
            return
        if self.sandbox and await self._faulted(scope, send, caller):
            return
        if answer is not None:
            answering = partial(on_database, self.db, partial(answer, scope, self.state, **params))
            await self._send_answer(scope, send, answering)
        elif key is not None:
            await self.keyed_write(self.app, scope, receive, send, caller, key, body)
        else:
            await self.app(scope, receive, send)

    async def _answer_in_one_hop(self, scope, receive, send, answer, params) -> None:
        """A route with an ANSWER, outside sandbox mode: the caller admitted, its rate limit spent and the
        answer read in one hop to the database."""
        await self._send_answer(scope, send, partial(on_database, self.db, self._answer, scope, answer, params))

    async def _send_answer(self, scope, send, answering) -> None:
        """Send what `answering()` answers: its JSON, or, for a Later, what that reads in a thread."""
        try:
            body = await answering()
            if isinstance(body, Later):
                body = await in_thread(body.read, limiter=body.limiter())
        except Exception as error:
            await send_failure(scope, send, error)
            return
        await send_response(send, 200, JSON, body)

    async def _faulted(self, scope, send, caller: Caller) -> bool:
        """Step 6, in sandbox mode: the fault this request meets, if any, applied. True when it answered (or
        dropped the connection); a fault that only delays lets the request go on."""
        operation = operation_ids().get((scope["method"], scope.get("path_template", "")))
        if operation is None:
            return False
        try:
            fault = await on_database(self.db, faults.fault_for, self.db, caller.site.id, operation)
        except Exception as error:
            await send_failure(scope, send, error)
            return True
        if fault is None:
            return False
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault.drop:
            drop = scope.get("extensions", {}).get(DROP)
            if drop is not None:
                drop()
                return True
            await send_failure(scope, send, InjectedFault(503))  # a server without the hook: the nearest thing
            return True
        if fault.status is None:
            return False
        if fault.status == 429:  # as a real one: the budget shown spent
            scope.setdefault("state", {})["response_headers"] = [
                (b"x-ratelimit-limit", str(caller.rate_limit or self.settings.rate_limit).encode()),
                (b"x-ratelimit-remaining", b"0")]
        await send_failure(scope, send, InjectedFault(fault.status))
        return True

    def _is_extension(self, scope) -> bool:
        """Strict Webflow mode: whether the request is for one of our extensions' routes under /v2."""
        path = scope["path"]
        if not path.startswith("/v2/"):
            return False
        try:
            route = self.app.asgi_router.handle_routing(path=normalize_path(path), method=scope["method"])
        except (NotFoundException, MethodNotAllowedException):
            return False
        return (scope["method"], route[4]) in extensions()

    def _route(self, scope) -> tuple | None:
        """The route's ANSWER (or None) and path parameters, for a route that takes a token; None otherwise."""
        path = scope["path"]
        if not path.startswith("/v2/") or path.startswith(_SIGNED):
            return None
        method = scope["method"]
        for answered, pattern, template, answer in self._answered:
            if method == answered and (found := pattern.match(path)) is not None:
                scope["path_template"] = template
                return answer, found.groupdict()
        try:
            # The framework finds the same route again, from its cache, when the request reaches it.
            _, handler, _, params, template = self.app.asgi_router.handle_routing(
                path=normalize_path(path), method=method)
        except (NotFoundException, MethodNotAllowedException):
            return None
        scope["path_template"] = template  # a refusal here is counted under its route, as the framework's is
        return handler.opt.get(ANSWER), params

    def _answer(self, scope, answer, params: dict) -> bytes:
        caller: Caller = admit(self.db, self.settings.rate_limit, scope)
        spend_rate_limit(self.limiter, caller, scope)
        return answer(scope, self.state, **params)


async def read_body(receive, limit: int):
    """A `receive` that gives the app again what was read, and the body: None when it is over `limit` or
    the client left before sending it all."""
    messages, size, body = [], 0, None
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > limit:
            break
        if not message.get("more_body", False):
            body = b"".join(m.get("body", b"") for m in messages)
            break

    async def replaying() -> dict:
        return messages.pop(0) if messages else await receive()

    return replaying, body


def _compiled(path_format: str) -> re.Pattern:
    """`/v2/sites/{site_id}/orders/{order_id}` as a pattern that matches that path with every parameter a
    whole, non-empty segment (all of ours are strings), and nothing else."""
    parts = re.split(r"\{(\w+)\}", path_format)
    return re.compile("".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)"
                              for index, part in enumerate(parts)) + r"\Z")
