"""The one place errors become HTTP: Webflow's envelope, never a framework default or a trace."""

from __future__ import annotations

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from orderdesk.domain.orders import TransitionNotAllowed
from orderdesk.errors import (
    AppError, BadRequest, Conflict, MethodNotAllowed, PayloadTooLarge, ResourceNotFound, TooManyRequests,
)
from orderdesk.wire.errors import error_body

log = structlog.get_logger("orderdesk.errors")


def error_response(error: AppError) -> Response:
    headers = {}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    return Response(content=error_body(error), status_code=error.status, media_type=MediaType.JSON, headers=headers)


async def send_error(send, error: AppError) -> None:
    """The envelope exactly as the exception handlers write it, for ASGI code ahead of the framework."""
    response = error_response(error)
    headers = [(name.lower().encode(), value.encode()) for name, value in response.headers.items()]
    await send_response(send, response.status_code, MediaType.JSON.value, response.content, headers)


async def send_response(send, status: int, content_type: str | None, body: bytes, extra=()) -> None:
    """A whole response, sent as ASGI messages."""
    headers = [(b"content-length", str(len(body)).encode()), *extra]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def on_app_error(_: Request, error: AppError) -> Response:
    return error_response(error)


def on_transition(_: Request, error: TransitionNotAllowed) -> Response:
    return error_response(Conflict(str(error)))


def on_http_exception(_: Request, error: HTTPException) -> Response:
    if isinstance(error, NotFoundException):
        return error_response(ResourceNotFound("Requested resource not found: The route cannot be found"))
    if isinstance(error, MethodNotAllowedException):
        headers = {key.lower(): value for key, value in (error.headers or {}).items()}
        allowed = sorted(m for m in headers.get("allow", "").replace(" ", "").split(",") if m and m != "OPTIONS")
        return error_response(MethodNotAllowed(allowed))
    if isinstance(error, RequestEntityTooLarge):
        return error_response(PayloadTooLarge())
    if isinstance(error, ValidationException) or error.status_code < 500:
        return error_response(BadRequest())
    return on_unexpected(_, error)


def on_unexpected(request: Request, error: Exception) -> Response:
    log.exception("unexpected error", request_id=request.scope.get("state", {}).get("request_id"))
    return error_response(AppError())


EXCEPTION_HANDLERS = {
    AppError: on_app_error,
    TransitionNotAllowed: on_transition,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
