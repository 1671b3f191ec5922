"""Request bodies and query strings, decoded with Webflow's errors."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from litestar import Request

from orderdesk.errors import BadRequest, FieldProblem, ValidationFailed

T = TypeVar("T")
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]*)`")


def _check_content_type(request: Request, body: bytes) -> None:
    if body and "json" not in request.headers.get("content-type", "").lower():
        raise BadRequest("Bad Request: Request is malformed (send Content-Type: application/json)")


def json_object(request: Request, body: bytes) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}`."""
    _check_content_type(request, body)
    if not body.strip():
        return {}
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise BadRequest() from None
    if not isinstance(value, dict):
        raise ValidationFailed.of("body", "must be a JSON object")
    return value


def typed(request: Request, body: bytes, kind: type[T]) -> T:
    """The body decoded into `kind`, with a validation_error naming the offending field."""
    _check_content_type(request, body)
    try:
        return msgspec.json.decode(body or b"{}", type=kind)
    except msgspec.ValidationError as error:
        raise ValidationFailed([_problem(str(error))]) from None
    except msgspec.DecodeError:
        raise BadRequest() from None


def _problem(message: str) -> FieldProblem:
    path_match = _PATH.search(message)
    path = path_match.group("path").lstrip(".") if path_match else ""
    text = message[: path_match.start()] if path_match else message
    unknown = _UNKNOWN.match(text)
    if unknown:
        field = ".".join(p for p in (path, unknown.group("field")) if p)
        return FieldProblem(field, "is not a known field")
    return FieldProblem(path or "body", text)


def query_int(request: Request, name: str, default: int, minimum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed.of(name, "must be an integer") from None
    if value < minimum:
        raise ValidationFailed.of(name, f"must be at least {minimum}")
    return value


def query_choice(request: Request, name: str, choices: type[T]) -> T | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return choices(raw)  # type: ignore[call-arg]
    except ValueError:
        allowed = ", ".join(c.value for c in choices)  # type: ignore[attr-defined]
        raise ValidationFailed.of(name, f"must be one of {allowed}") from None
