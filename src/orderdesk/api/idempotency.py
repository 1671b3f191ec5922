"""Idempotency-Key on POST and PATCH under /v2 (docs/behaviour.md section 7): the pipeline's step for a
keyed write, once its caller is admitted and its body read. A write without the header never gets here."""

from __future__ import annotations

import anyio

from orderdesk.api.auth import Caller, header
from orderdesk.api.errors import send_failure, send_response
from orderdesk.api.threads import in_thread
from orderdesk.services import idempotency
from orderdesk.services.idempotency import Claim, StoredResponse
from orderdesk.store.database import Database

_REPLAYED = [(b"idempotent-replayed", b"true")]
REQUEST_KEY = "request_key"  # the ASGI state's key for the claimed key, scoped to its token


class KeyedWrite:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, app, scope, receive, send, caller: Caller, key: str, body: bytes) -> None:
        request = idempotency.fingerprint(scope["method"], scope["path"], scope["query_string"].decode("latin-1"),
                                          body)
        try:
            outcome = await in_thread(idempotency.begin, self.db, caller.token.id, key, request)
        except Exception as error:
            await send_failure(scope, send, error)
            return
        if isinstance(outcome, StoredResponse):
            await send_response(send, outcome.status, outcome.content_type, outcome.body, _REPLAYED)
            return
        scope["state"][REQUEST_KEY] = outcome.request_key
        await self._run(app, outcome, scope, receive, send)

    async def _run(self, app, claim: Claim, scope, receive, send) -> None:
        status, content_type, chunks = 500, None, []
        finished = False

        async def keeping(message) -> None:
            nonlocal status, content_type, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = header(message.get("headers", []), b"content-type")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Stored before the last chunk leaves: a client that has the whole answer
                    # and repeats the request gets the replay, never a 409.
                    await in_thread(idempotency.finish, self.db, claim, status, content_type, b"".join(chunks))
                    finished = True
            await send(message)

        try:
            await app(scope, receive, keeping)
        finally:
            if not finished:
                with anyio.CancelScope(shield=True):
                    await in_thread(idempotency.abandon, self.db, claim)


def request_key(request) -> str | None:
    """The Idempotency-Key of this request, scoped to its token, when the pipeline claimed one for it."""
    return request.scope.get("state", {}).get(REQUEST_KEY)
