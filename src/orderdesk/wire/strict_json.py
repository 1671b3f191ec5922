"""JSON as we take it from anyone: strict UTF-8, no duplicate keys, no NaN, bounded nesting, no NUL.

Request bodies (`orderdesk.api.bodies`) and Stripe's events both come through here, so every client-given
string that reaches the database is one PostgreSQL can hold, and no input costs more to walk than to send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from orderdesk.errors import BadRequest, FieldProblem, ValidationFailed

# An order, the deepest body we take, nests five levels; a client's free-form fields (customData,
# variantImage) get a few more. Deeper is malformed, and walking it would cost us, not the client.
MAX_DEPTH = 16
# "\u0000" preceded by an even number of backslashes is a NUL character; "\\u0000" is the text "\u0000".
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
NO_NUL = "must not contain NUL characters"
# A surrogate escape: most are halves of a pair, which decode to one character; a lone one decodes to a
# string that cannot be written as UTF-8 again.
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
NO_SURROGATE = "must not contain unpaired surrogates"


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# Non-integer numbers stay exact (Decimal): a refund of 27.01 must not pass through a float.
_JSON = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_float=Decimal, parse_constant=_no_constant)


def malformed(field: str, message: str) -> BadRequest:
    return BadRequest("Bad Request: Request is malformed", [FieldProblem(field, message)])


def decode(body: bytes) -> Any:
    """The JSON value of `body`; BadRequest when it is not strict JSON, ValidationFailed for a NUL character."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("body", "is not valid UTF-8") from None
    try:
        value = _JSON.decode(text)
    except _DuplicateKey as duplicate:
        # Named as UTF-8 can write it (a lone surrogate in the key becomes "?").
        key = duplicate.key[:64].encode("utf-8", "replace").decode("utf-8")
        raise malformed(key, "appears more than once") from None
    except (ValueError, RecursionError):
        # ValueError: malformed JSON, NaN, or an integer of thousands of digits. RecursionError: nested
        # thousands of levels deep. Both are the client's input, not our fault.
        raise BadRequest() from None
    if not _shallow(value):
        raise malformed("body", f"nests deeper than {MAX_DEPTH} levels")
    if _NUL.search(text):
        raise ValidationFailed.of(_path_of(value, _has_nul) or "body", NO_NUL)
    if _SURROGATE.search(text):
        unwritable = _path_of(value, _has_lone_surrogate)
        if unwritable is not None:
            raise ValidationFailed.of(unwritable, NO_SURROGATE)
    return value


def _has_nul(text: str) -> bool:
    return "\x00" in text


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _shallow(value: Any) -> bool:
    """No container nested more than MAX_DEPTH deep (the body itself is the first)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_DEPTH):
        level = [child for node in level
                 for child in (node.values() if isinstance(node, dict) else node) if isinstance(child, dict | list)]
        if not level:
            return True
    return False


def _path_of(value: Any, bad: Callable[[str], bool], path: str = "") -> str | None:
    """Where the first bad string (or key) is: `purchasedItems[0].productName`."""
    if isinstance(value, str):
        return (path or "body") if bad(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if bad(key):
                # The key itself cannot be named in the answer: its parent is.
                return path or "body"
            found = _path_of(item, bad, join(path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _path_of(item, bad, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def join(path: str, key: str) -> str:
    """A field's path as the errors name it: `items[0].skuId`."""
    if not path:
        return key
    return path + key if key.startswith("[") else f"{path}.{key}"
