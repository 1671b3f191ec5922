"""Request bodies and query strings: one strict decoder for every body, with Webflow's errors.

A body goes bytes → strict UTF-8 JSON (no duplicate keys, no NaN, bounded nesting, no NUL characters)
→ the operation's typed struct (`orderdesk.wire.requests`), every field converted on its own so that
one 400 names every bad field. No handler reads a body any other way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

import msgspec
from litestar import Request

from orderdesk.errors import BadRequest, FieldProblem, ValidationFailed
from orderdesk.wire import strict_json
from orderdesk.wire.strict_json import join

T = TypeVar("T")
_INTEGER = re.compile(r"-?[0-9]+")
# The largest query integer we read: past any count we hold, and exact in a JavaScript number. A larger
# one means the same (an offset past the end, a limit over the cap) and is read as this.
MAX_QUERY_INTEGER = 2**53 - 1
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]*)`")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]*)`")


def _check_content_type(request: Request, body: bytes) -> None:
    if body and "json" not in request.headers.get("content-type", "").lower():
        raise BadRequest("Bad Request: Request is malformed (send Content-Type: application/json)")


def read_json(request: Request, body: bytes) -> Any:
    """The body as a strict JSON value; an empty body is `{}`."""
    _check_content_type(request, body)
    return strict_json.decode(body) if body.strip() else {}


def decode(request: Request, body: bytes, kind: type[T]) -> T:
    """The body as the operation's struct, or one 400 naming every bad field."""
    values = read_json(request, body)
    if not isinstance(values, dict):
        raise ValidationFailed.of("body", "must be a JSON object")
    return convert(values, kind)


def convert(values: dict[str, Any], kind: type[T]) -> T:
    """A JSON object as `kind`, field by field. `kind.messages` (optional) replaces the message for a
    top-level field by its wire name, and for unknown fields under the key `"*"`; `kind.checks` (optional)
    are further checks of a converted field's value, each returning a problem's message or None."""
    fields = _fields(kind)
    messages: dict[str, str] = getattr(kind, "messages", {})
    checks: dict[str, Callable[[Any], str | None]] = getattr(kind, "checks", {})
    problems = [FieldProblem(key, messages.get("*", "is not a known field")) for key in values if key not in fields]
    converted = {}
    for name, info in fields.items():
        if name not in values:
            if info.required:
                problems.append(FieldProblem(name, messages.get(name, "is required")))
            continue
        try:
            converted[info.name] = value = msgspec.convert(values[name], info.type)
        except msgspec.ValidationError as error:
            problems.append(_problem(name, _located(values[name], info.type, str(error)), messages))
            continue
        message = checks[name](value) if name in checks else None
        if message:
            problems.append(FieldProblem(name, message))
    if problems:
        raise ValidationFailed(problems)
    return kind(**converted)


@lru_cache(maxsize=64)
def _fields(kind: type) -> dict[str, msgspec.structs.FieldInfo]:
    return {info.encode_name: info for info in msgspec.structs.fields(kind)}


def _located(value: Any, kind: Any, message: str) -> str:
    """msgspec names a bad value inside an object of free keys `[...]`; converted key by key, it is named."""
    if "at `$[...]" not in message or not isinstance(value, dict):
        return message
    for key, item in value.items():
        try:
            msgspec.convert({key: item}, kind)
        except msgspec.ValidationError as error:
            return str(error).replace("`$[...]", "`$." + key, 1)
    return message


def _problem(name: str, message: str, messages: dict[str, str]) -> FieldProblem:
    path_match = _PATH.search(message)
    path = path_match.group("path") if path_match else ""
    text = message[: path_match.start()] if path_match else message
    unknown = _UNKNOWN.match(text)
    field = join(name, path.lstrip(".")) if path.startswith(".") else name + path
    if unknown:
        return FieldProblem(join(field, unknown.group("field")), "is not a known field")
    missing = _MISSING.match(text)
    if missing:
        return FieldProblem(join(field, missing.group("field")), "is required")
    if not path and name in messages:
        return FieldProblem(name, messages[name])
    return FieldProblem(field, _readable(text))


_EXPECTED = re.compile(r"Expected `(?P<kind>[^`]*)`, got `[^`]*`$")
_KINDS = {"str": "a string", "int": "an integer", "bool": "a boolean", "object": "an object", "array": "a list",
          "null": "null", "float": "a number", "decimal": "a number"}


def _readable(text: str) -> str:
    """msgspec's words as ours: "Expected `str | null`, got `int`" is "must be a string or null"."""
    expected = _EXPECTED.match(text)
    if expected:
        kinds = [_KINDS.get(kind.strip(), kind.strip()) for kind in expected.group("kind").split("|")]
        return "must be " + " or ".join(kinds)
    bound = re.match(r"Expected `(?P<kind>\w+)` (?P<op>[<>]=?) (?P<limit>-?[0-9.]+)$", text)
    if bound:
        words = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}[bound.group("op")]
        return f"must be {words} {bound.group('limit')}"
    length = re.match(r"Expected `(?P<kind>\w+)` of length (?P<op>[<>]=?) (?P<limit>[0-9]+)$", text)
    if length:
        words = {">=": "at least", "<=": "at most"}.get(length.group("op"), length.group("op"))
        unit = ("character" if length.group("kind") == "str" else "item") + ("" if length.group("limit") == "1" else "s")
        return f"must have {words} {length.group('limit')} {unit}"
    if text.startswith("Invalid enum value"):
        return "is not one of the allowed values"
    if text == "Number out of range":
        return "is out of range"
    return text


class Query:
    """Query parameters, read one by one; `done()` raises one error naming every bad one."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params
        self.problems: list[FieldProblem] = []

    def integer(self, name: str, default: int, minimum: int, maximum: int = MAX_QUERY_INTEGER) -> int:
        """An integer; one over `maximum` is `maximum` (as Webflow caps `limit`)."""
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        if not _INTEGER.fullmatch(raw):
            # int() would also take "5_0", " 5" and non-ASCII digits.
            self.problems.append(FieldProblem(name, "must be an integer"))
            return default
        digits = raw.lstrip("-")
        # Past 18 digits the number is beyond every bound; int() of thousands of digits would cost.
        value = int(raw) if len(digits) <= 18 else (-1 if raw.startswith("-") else 1) * 10**18
        if value < minimum:
            self.problems.append(FieldProblem(name, f"must be at least {minimum}"))
            return default
        return min(value, maximum)

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
