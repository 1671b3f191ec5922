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
CLIENT_LEFT = "client disconnected prematurely"  # Litestar's words, as an InternalServerException


def error_response(error: AppError) -> Response:
    headers = {}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = allow_header(error.allowed)
    return Response(content=error_body(error), status_code=error.status, media_type=MediaType.JSON, headers=headers)


def allow_header(methods) -> str:
    """Every method a path answers: HEAD wherever GET is, and OPTIONS everywhere."""
    methods = set(methods) | {"OPTIONS"}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def send_error(send, error: AppError) -> None:
    """The envelope exactly as the exception handlers write it, for ASGI code ahead of the framework."""
    response = error_response(error)
    headers = [(name.lower().encode(), value.encode()) for name, value in response.headers.items()]
    await send_response(send, response.status_code, MediaType.JSON.value, response.content, headers)


async def send_failure(scope, send, error: Exception) -> None:
    """What an ASGI layer ahead of the framework raised, as its answer: an AppError's envelope, or a 500
    (logged with the request id). Call it from the `except` block, so that the trace is logged."""
    if not isinstance(error, AppError):
        log.exception("unexpected error", request_id=scope.get("state", {}).get("request_id"))
        error = AppError()
    await send_error(send, error)


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


def on_http_exception(request: Request, error: HTTPException) -> Response:
    if isinstance(error, NotFoundException):
        return error_response(ResourceNotFound("Requested resource not found: The route cannot be found"))
    if isinstance(error, MethodNotAllowedException):
        headers = {key.lower(): value for key, value in (error.headers or {}).items()}
        allowed = [method for method in headers.get("allow", "").replace(" ", "").split(",") if method]
        return error_response(MethodNotAllowed(allowed))
    if isinstance(error, RequestEntityTooLarge):
        return error_response(PayloadTooLarge(request.app.state.settings.max_body_bytes))
    if isinstance(error, ValidationException) or error.status_code < 500:
        return error_response(BadRequest())
    if error.detail == CLIENT_LEFT:
        # Nobody will read this answer; it is logged as what it is, not as our failure.
        log.info("the client closed the connection before sending the whole body")
        return error_response(BadRequest("Bad Request: The connection closed before the whole body arrived"))
    return on_unexpected(request, error)


def on_unexpected(request: Request, error: Exception) -> Response:
    log.exception("unexpected error", request_id=request.scope.get("state", {}).get("request_id"))
    return error_response(AppError())


EXCEPTION_HANDLERS = {
    AppError: on_app_error,
    TransitionNotAllowed: on_transition,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
