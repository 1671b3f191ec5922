"""The strict JSON decoder every request body and Stripe event goes through."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderdesk.errors import AppError, BadRequest, FieldProblem, ValidationFailed
from orderdesk.wire.strict_json import MAX_DEPTH, NO_NUL, NO_SURROGATE, decode, join

MALFORMED = "Bad Request: Request is malformed"


def refusal(body: bytes) -> tuple[type[AppError], str, list[FieldProblem]]:
    with pytest.raises(AppError) as raised:
        decode(body)
    return type(raised.value), raised.value.message, raised.value.details


def nested(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"[]" + b"}" * (depth - 1)


def test_strict_json_decodes_to_plain_values_with_exact_decimals():
    value = decode(b'{"amount": 27.01, "count": 3, "items": [true, false, null, "x"]}')

    assert value == {"amount": Decimal("27.01"), "count": 3, "items": [True, False, None, "x"]}
    assert type(value["amount"]) is Decimal


@pytest.mark.parametrize(("body", "key"), [
    (b'{"a": 1, "a": 2}', "a"),
    (b'{"outer": {"k": 1, "k": 2}}', "k"),
    # A key UTF-8 cannot write is named with "?" in its place.
    (b'{"\\ud800": 1, "\\ud800": 2}', "?"),
])
def test_a_duplicate_key_is_refused_and_named(body, key):
    assert refusal(body) == (BadRequest, MALFORMED, [FieldProblem(key, "appears more than once")])


@pytest.mark.parametrize("body", [b"NaN", b'{"a": Infinity}', b"[-Infinity]"])
def test_nan_and_infinity_are_not_json(body):
    assert refusal(body) == (BadRequest, MALFORMED, [])


def test_nesting_as_deep_as_the_limit_is_taken_whole():
    value = decode(nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        value = value["a"]

    assert (MAX_DEPTH, value) == (16, [])


def test_nesting_one_deeper_than_the_limit_is_refused():
    assert refusal(nested(MAX_DEPTH + 1)) == (
        BadRequest, MALFORMED, [FieldProblem("body", "nests deeper than 16 levels")])


def test_nesting_deeper_than_the_parser_can_walk_is_a_bad_request():
    assert refusal(b"[" * 100_000 + b"]" * 100_000) == (BadRequest, MALFORMED, [])


@pytest.mark.parametrize(("body", "field"), [
    (b'{"name": "a\\u0000b"}', "name"),
    (b'{"purchasedItems": [{"productName": "\\u0000"}]}', "purchasedItems[0].productName"),
    # A NUL in a key cannot be named by that key: its parent is.
    (b'{"customData": {"k\\u0000": 1}}', "customData"),
    (b'"\\u0000"', "body"),
])
def test_a_nul_character_is_refused_where_it_is(body, field):
    assert refusal(body) == (ValidationFailed, f"Validation Error: {field}: {NO_NUL}", [FieldProblem(field, NO_NUL)])


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul():
    assert decode(b'{"a": "\\\\u0000"}') == {"a": "\\u0000"}


def test_a_raw_control_character_in_a_string_is_malformed():
    assert refusal(b'{"a": "x\x00"}') == (BadRequest, MALFORMED, [])


@pytest.mark.parametrize(("body", "field"), [
    (b'{"name": "\\ud800"}', "name"),
    (b'{"lines": [{"text": "\\udc00"}]}', "lines[0].text"),
])
def test_a_lone_surrogate_is_refused_where_it_is(body, field):
    assert refusal(body) == (
        ValidationFailed, f"Validation Error: {field}: {NO_SURROGATE}", [FieldProblem(field, NO_SURROGATE)])


def test_a_surrogate_pair_is_one_character():
    assert decode(b'{"e": "\\ud83d\\ude00"}') == {"e": "\U0001f600"}


@pytest.mark.parametrize("body", [
    b'{"a": "\xff"}',
    # A surrogate written straight in UTF-8 bytes is not UTF-8.
    b'{"a": "\xed\xa0\x80"}',
    # Latin-1, not UTF-8.
    b'{"a": "caf\xe9"}',
])
def test_a_body_that_is_not_utf8_is_refused(body):
    assert refusal(body) == (BadRequest, MALFORMED, [FieldProblem("body", "is not valid UTF-8")])


def test_utf8_text_is_decoded():
    assert decode('{"city": "Zürich", "name": "山田"}'.encode()) == {"city": "Zürich", "name": "山田"}


@pytest.mark.parametrize("body", [
    b"\xef\xbb\xbf{}",  # a byte order mark
    b"1" * 5000,  # more digits than Python turns into an int
    b'{"a": 1,}',
])
def test_other_malformed_json_is_a_bad_request_without_details(body):
    assert refusal(body) == (BadRequest, MALFORMED, [])


@pytest.mark.parametrize(("path", "key", "joined"), [
    ("", "skuId", "skuId"),
    ("items[0]", "skuId", "items[0].skuId"),
    ("items", "[0]", "items[0]"),
])
def test_join_names_a_field_as_the_errors_do(path, key, joined):
    assert join(path, key) == joined
