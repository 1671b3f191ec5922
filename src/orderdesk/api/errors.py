"""The one place errors become HTTP: Webflow's envelope, never a framework default or a trace.

Every refusal, whoever makes it (a handler, the pipeline ahead of the framework, the server's own
protocol), is an AppError answered from `error_parts`: its status, the headers that belong to it
(Retry-After on a 429, Allow on a 405) and its envelope.
"""

from __future__ import annotations

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from orderdesk.domain.orders import TransitionNotAllowed
from orderdesk.errors import (
    NO_ROUTE, AppError, BadRequest, Conflict, MethodNotAllowed, PayloadTooLarge, ResourceNotFound,
)
from orderdesk.wire.errors import error_body

log = structlog.get_logger("orderdesk.errors")
CLIENT_LEFT = "client disconnected prematurely"  # Litestar's words, as an InternalServerException
JSON = "application/json"


def error_parts(error: AppError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The answer to `error`: its status, its own headers (content type and length aside), its body."""
    headers = [(name.lower().encode(), value.encode()) for name, value in error.headers().items()]
    return error.status, headers, error_body(error)


def app_error(error: Exception, request_id: str | None, max_body_bytes: int = 0) -> AppError:
    """What any exception means to the client, as an AppError. An unexpected one is logged with the request
    id and is a 500: call this from the `except` block (or an exception handler), so that the trace is logged."""
    if isinstance(error, AppError):
        return error
    if isinstance(error, TransitionNotAllowed):
        return Conflict(str(error))
    if isinstance(error, NotFoundException):
        return ResourceNotFound(NO_ROUTE)
    if isinstance(error, MethodNotAllowedException):
        headers = {key.lower(): value for key, value in (error.headers or {}).items()}
        return MethodNotAllowed([method for method in headers.get("allow", "").replace(" ", "").split(",") if method])
    if isinstance(error, RequestEntityTooLarge):
        return PayloadTooLarge(max_body_bytes)
    if isinstance(error, HTTPException) and (isinstance(error, ValidationException) or error.status_code < 500):
        return BadRequest()
    if isinstance(error, HTTPException) and error.detail == CLIENT_LEFT:
        # Nobody will read this answer; it is logged as what it is, not as our failure.
        log.info("the client closed the connection before sending the whole body")
        return BadRequest("Bad Request: The connection closed before the whole body arrived")
    log.exception("unexpected error", request_id=request_id)
    return AppError()


def on_exception(request: Request, error: Exception) -> Response:
    """The framework's exception handler, for every exception."""
    limit = request.app.state.settings.max_body_bytes if isinstance(error, RequestEntityTooLarge) else 0
    status, headers, body = error_parts(app_error(error, request.scope.get("state", {}).get("request_id"), limit))
    return Response(content=body, status_code=status, media_type=JSON,
                    headers={name.decode(): value.decode() for name, value in headers})


async def send_error(send, error: AppError) -> None:
    """`error`'s answer as ASGI messages, for code ahead of the framework."""
    status, headers, body = error_parts(error)
    await send_response(send, status, JSON, body, headers)


async def send_failure(scope, send, error: Exception) -> None:
    """What an ASGI layer ahead of the framework raised, as its answer. Call it from the `except` block."""
    await send_error(send, app_error(error, scope.get("state", {}).get("request_id")))


async def send_response(send, status: int, content_type: str | None, body: bytes, extra=()) -> None:
    """A whole response, sent as ASGI messages."""
    headers = [(b"content-length", str(len(body)).encode()), *extra]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


EXCEPTION_HANDLERS = {Exception: on_exception}
