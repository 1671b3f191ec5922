"""The reference spec, fuzzed by schemathesis against a real server: every operation orderdesk serves
answers with a documented status, content type, headers and body shape, and never with a 5xx."""

from __future__ import annotations

from pathlib import Path

import hypothesis
import pytest
import schemathesis
import yaml
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)
from schemathesis.checks import not_a_server_error

from tests.factories import make_shop, place

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "reference" / "webflow-v2-orders.yml"

SERVED = [
    "list-orders", "get-order", "update-order", "fulfill-order", "unfulfill-order", "refund-order",
    "list-sites", "get-site", "introspect", "authorized_by",
]
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
    response_schema_conformance,
]


def nullable_as_type_union(node: object) -> object:
    """The spec says `openapi: 3.1.0` but marks null with the 3.0 keyword `nullable: true`, which a 3.1
    validator ignores: every null would then fail validation. BEHAVIOUR.md (section 1) says a field is
    null exactly where the spec marks it nullable, so `{type: X, nullable: true}` becomes the 3.1 spelling
    `type: [X, "null"]`. With an `enum`, null joins the enum too, as 3.0 validators read it: otherwise
    `disputeLastStatus: null` or `japanType: null` would fail the enum although the spec allows them."""
    if isinstance(node, list):
        return [nullable_as_type_union(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: nullable_as_type_union(value) for key, value in node.items()}
    if isinstance(converted.get("nullable"), bool):
        nullable = converted.pop("nullable")
        if nullable and "type" in converted:
            converted["type"] = [converted["type"], "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
    return converted


def load_spec() -> dict:
    with SPEC_PATH.open(encoding="utf-8") as file:
        return nullable_as_type_union(yaml.safe_load(file))


schema = schemathesis.openapi.from_dict(load_spec()).include(operation_id=SERVED)

# Filled by the `real_data` fixture before any example is generated: the hooks read it at draw time.
REAL: dict[str, list[str]] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters: dict) -> st.SearchStrategy:
    """Most examples address the real site and its real orders, so that the happy paths (and the
    409s of the status table) are exercised; the generated value is kept as one choice among them."""
    if not path_parameters:
        return st.just(path_parameters)
    choices = {}
    if "site_id" in path_parameters:
        choices["site_id"] = st.sampled_from([*REAL["site_ids"] * 4, path_parameters["site_id"]])
    if "order_id" in path_parameters:
        choices["order_id"] = st.sampled_from([*REAL["order_ids"], path_parameters["order_id"]])
    return st.fixed_dictionaries(choices).map(lambda drawn: {**path_parameters, **drawn})


@pytest.fixture(scope="module")
def real_data(db):
    shop = make_shop(db, rate_limit=0)
    orders = [place(db, shop) for _ in range(3)] + [place(db, shop, status="fulfilled") for _ in range(2)]
    REAL["site_ids"] = [shop.site.id]
    REAL["order_ids"] = [order.order_id for order in orders]
    yield shop
    REAL.clear()


@schema.parametrize()
@hypothesis.settings(max_examples=50, deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_served_operation_conforms_to_the_spec(case, server, real_data):
    case.call_and_validate(base_url=server.api, headers=real_data.headers, checks=CHECKS)
