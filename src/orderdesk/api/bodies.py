"""Request bodies and query strings, decoded with Webflow's errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import msgspec
from litestar import Request

from orderdesk.errors import BadRequest, FieldProblem, ValidationFailed

T = TypeVar("T")
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]*)`")


def _check_content_type(request: Request, body: bytes) -> None:
    if body and "json" not in request.headers.get("content-type", "").lower():
        raise BadRequest("Bad Request: Request is malformed (send Content-Type: application/json)")


def json_object(request: Request, body: bytes, decode: Callable[[bytes], Any] = msgspec.json.decode) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}`."""
    _check_content_type(request, body)
    if not body.strip():
        return {}
    try:
        value = decode(body)
    except (msgspec.DecodeError, RecursionError):
        # RecursionError: a body nested thousands of levels deep is malformed input, not our fault.
        raise BadRequest() from None
    if not isinstance(value, dict):
        raise ValidationFailed.of("body", "must be a JSON object")
    return value


def typed(request: Request, body: bytes, kind: type[T]) -> T:
    """The body decoded into `kind`, with a validation_error naming the offending fields."""
    values = json_object(request, body)
    known = {field.encode_name for field in msgspec.structs.fields(kind)}
    unknown = [FieldProblem(key, "is not a known field") for key in values if key not in known]
    if unknown:
        raise ValidationFailed(unknown)
    try:
        return msgspec.convert(values, kind)
    except msgspec.ValidationError as error:
        raise ValidationFailed([_problem(str(error))]) from None


def small_body(request: Request, body: bytes, checks: dict[str, Callable[[Any], str | None]]) -> dict[str, Any]:
    """A body of a few known fields; every unknown field and every failed check is named."""
    values = json_object(request, body)
    problems = []
    for key, value in values.items():
        check = checks.get(key)
        message = "is not a known field" if check is None else check(value)
        if message:
            problems.append(FieldProblem(key, message))
    if problems:
        raise ValidationFailed(problems)
    return values


def _problem(message: str) -> FieldProblem:
    path_match = _PATH.search(message)
    path = path_match.group("path").lstrip(".") if path_match else ""
    text = message[: path_match.start()] if path_match else message
    unknown = _UNKNOWN.match(text)
    if unknown:
        field = ".".join(p for p in (path, unknown.group("field")) if p)
        return FieldProblem(field, "is not a known field")
    return FieldProblem(path or "body", text)


class Query:
    """Query parameters, read one by one; `done()` raises one error naming every bad one."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params
        self.problems: list[FieldProblem] = []

    def integer(self, name: str, default: int, minimum: int) -> int:
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        if not _INTEGER.fullmatch(raw):
            # int() would also take "5_0", " 5" and non-ASCII digits.
            self.problems.append(FieldProblem(name, "must be an integer"))
            return default
        value = int(raw)
        if value < minimum:
            self.problems.append(FieldProblem(name, f"must be at least {minimum}"))
        return value

    def choice(self, name: str, choices: type[T]) -> T | None:
        raw = self.params.get(name)
        if raw is None or raw == "":
            return None
        try:
            return choices(raw)  # type: ignore[call-arg]
        except ValueError:
            allowed = ", ".join(c.value for c in choices)  # type: ignore[attr-defined]
            self.problems.append(FieldProblem(name, f"must be one of {allowed}"))
            return None

    def done(self) -> None:
        if self.problems:
            raise ValidationFailed(self.problems)
