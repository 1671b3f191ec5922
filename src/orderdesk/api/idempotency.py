"""Idempotency-Key on POST and PATCH under /v2 (BEHAVIOUR.md section 7), as ASGI middleware.

Requests without the header pass straight through: only keyed writes touch the database here.
"""

from __future__ import annotations

import anyio

from orderdesk.api.auth import authenticated, bearer_token, spend_rate_limit
from orderdesk.api.errors import send_failure, send_response
from orderdesk.api.ratelimit import RateLimiter
from orderdesk.api.threads import in_thread
from orderdesk.errors import AppError, NotAuthorized
from orderdesk.services import idempotency
from orderdesk.services.idempotency import Claim, StoredResponse
from orderdesk.store.database import Database


_METHODS = frozenset({"POST", "PATCH"})
_REPLAYED = [(b"idempotent-replayed", b"true")]


class Idempotency:
    def __init__(self, app, db: Database, max_body_bytes: int, rate_limiter: RateLimiter, rate_limit: int) -> None:
        self.app = app
        self.db = db
        self.max_body_bytes = max_body_bytes
        self.rate_limiter, self.rate_limit = rate_limiter, rate_limit

    async def __call__(self, scope, receive, send) -> None:
        key = _idempotency_key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive, self.max_body_bytes)
        replaying = _replaying(messages, receive)
        if body is None or bearer_token(_header(scope["headers"], b"authorization") or "") is None:
            # An oversized body or no token: the app refuses it (413, 401) as it always does.
            await self.app(scope, replaying, send)
            return
        request = idempotency.fingerprint(scope["method"], scope["path"], scope["query_string"].decode("latin-1"),
                                          body)
        try:
            outcome = await in_thread(self._begin, key, request, scope)
        except Exception as error:
            await send_failure(scope, send, error)
            return
        if outcome is None:
            await self.app(scope, replaying, send)
        elif isinstance(outcome, StoredResponse):
            await send_response(send, outcome.status, outcome.content_type, outcome.body, _REPLAYED)
        else:
            scope.setdefault("state", {})["request_key"] = outcome.request_key
            await self._run(outcome, scope, replaying, send)

    def _begin(self, key: str, request: str, scope) -> Claim | StoredResponse | None:
        """None when the token does not authenticate: the app answers that 401 itself."""
        try:
            # Usually already done by the gate (api/gate.py), before the body was read.
            token, _ = authenticated(self.db, _header(scope["headers"], b"authorization") or "", scope)
        except NotAuthorized:
            return None
        try:
            outcome = idempotency.begin(self.db, token.id, key, request)
        except AppError:
            spend_rate_limit(self.rate_limiter, self.rate_limit, token, scope)
            raise
        if isinstance(outcome, StoredResponse):
            # Answered here, not by the app: the replay counts and carries the limit's headers.
            spend_rate_limit(self.rate_limiter, self.rate_limit, token, scope)
        return outcome

    async def _run(self, claim: Claim, scope, receive, send) -> None:
        status, content_type, chunks = 500, None, []
        finished = False

        async def keeping(message) -> None:
            nonlocal status, content_type, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = _header(message.get("headers", []), b"content-type")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Stored before the last chunk leaves: a client that has the whole answer
                    # and repeats the request gets the replay, never a 409.
                    await in_thread(idempotency.finish, self.db, claim, status, content_type, b"".join(chunks))
                    finished = True
            await send(message)

        try:
            await self.app(scope, receive, keeping)
        finally:
            if not finished:
                with anyio.CancelScope(shield=True):
                    await in_thread(idempotency.abandon, self.db, claim)


def _header(headers, name: bytes) -> str | None:
    for header, value in headers:
        if header.lower() == name:
            return value.decode("latin-1")
    return None


def _idempotency_key(scope) -> str | None:
    if scope["type"] != "http" or scope["method"] not in _METHODS or not scope["path"].startswith("/v2/"):
        return None
    return _header(scope["headers"], b"idempotency-key")


async def _read_body(receive, limit: int) -> tuple[list[dict], bytes | None]:
    """The messages read, and the body; None when it is over `limit` or the client left."""
    messages, size = [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > limit:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages)


def _replaying(messages: list[dict], receive):
    """A `receive` that gives the app the messages already read, then the rest."""
    pending = list(messages)

    async def replaying() -> dict:
        return pending.pop(0) if pending else await receive()

    return replaying
