"""Webflow's error envelope."""

from __future__ import annotations

import msgspec

from orderdesk.errors import AppError


class ErrorDetail(msgspec.Struct):
    field: str
    message: str


class ErrorDoc(msgspec.Struct, rename="camel"):
    code: str
    message: str
    # BEHAVIOUR.md shows null here, but the spec types it as a string and is not nullable;
    # where the two disagree on a shape the spec wins, so "no reference" is the empty string.
    external_reference: str
    details: list[ErrorDetail]


def error_body(error: AppError) -> bytes:
    return msgspec.json.encode(ErrorDoc(
        error.code, error.message, "", [ErrorDetail(d.field, d.message) for d in error.details]
    ))
