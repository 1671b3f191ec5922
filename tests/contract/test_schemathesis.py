"""The reference spec, fuzzed by schemathesis against a real server: every operation orderdesk serves
answers with a documented status, content type, headers and body shape, and never with a 5xx."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import hypothesis
import pytest
import schemathesis
import yaml
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)

from orderdesk.services import webhooks
from tests.factories import make_shop, place

SPEC_PATH = Path(__file__).resolve().parent / "reference" / "webflow-v2-orders.yml"

# Every operation of the spec that orderdesk serves.
SERVED = [
    "list-orders", "get-order", "update-order", "fulfill-order", "unfulfill-order", "refund-order",
    "list-sites", "get-site", "introspect", "authorized_by",
    "list-webhooks", "create-webhook", "get-webhook", "remove-webhook",
]
# Where the fuzzer's webhooks point: a loopback port nothing listens on. The fuzzer changes orders after
# creating webhooks, so their deliveries must fail at once and reach nobody (test servers deliver to
# loopback; a generated URL that could reach a real host is replaced by this one).
FUZZ_WEBHOOK_URL = "http://127.0.0.1:9/schemathesis"
ORDER_OPERATIONS = {"get-order", "update-order", "fulfill-order", "unfulfill-order", "refund-order"}


def nullable_as_type_union(node: object) -> object:
    """The spec declares `openapi: 3.1.0` but marks null with the 3.0 keyword `nullable: true`, which
    JSON Schema 2020-12 (what 3.1 uses) does not know: read strictly, no field could ever be null.
    BEHAVIOUR.md (section 1) says a field is null exactly where the spec marks it nullable, so
    `{type: X, nullable: true}` becomes the 3.1 spelling `type: [X, "null"]`, and null joins an `enum`
    too (as 3.0 reads `nullable`), or `disputeLastStatus: null` and `japanType: null` would fail their
    enums. Schemathesis happens to be lenient about `nullable` in responses; converting here makes the
    contract explicit instead of depending on that leniency."""
    if isinstance(node, list):
        return [nullable_as_type_union(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: nullable_as_type_union(value) for key, value in node.items()}
    if isinstance(converted.get("nullable"), bool) and converted.pop("nullable") and "type" in converted:
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
    return converted


def request_bodies_as_objects(spec: dict) -> dict:
    """The request bodies describe objects (they list `properties`) but do not say `type: object`, so
    read literally any JSON value is a valid body, and most positive examples would be arrays, numbers
    or null, all answered 400 `validation_error` (a known oddity, see the reference README, and
    test_a_body_that_is_not_an_object_is_a_validation_error below). Saying `type: object` spends the
    positive examples on objects; the negative examples still send every other JSON type."""
    for path_item in spec["paths"].values():
        for operation in path_item.values():
            body = operation.get("requestBody", {}) if isinstance(operation, dict) else {}
            for media in body.get("content", {}).values():
                media["schema"].setdefault("type", "object")
    return spec


def load_spec() -> dict:
    with SPEC_PATH.open(encoding="utf-8") as file:
        return yaml.safe_load(file)


SPEC = nullable_as_type_union(load_spec())
ORDER_FIELDS = frozenset(
    SPEC["paths"]["/sites/{site_id}/orders/{order_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    ["schema"]["properties"]
)
schema = schemathesis.openapi.from_dict(request_bodies_as_objects(SPEC)).include(operation_id=SERVED)

# The real ids, filled by the `real_data` fixture before the first example is drawn (hooks read it then).
REAL: dict[str, list[str]] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Most examples address the token's own site, its orders and its webhooks, so that the happy paths
    and the 409s of the status table are exercised; another site's real ids (404 for this token) and the
    generated value stay among the choices."""
    if not isinstance(path_parameters, dict) or not path_parameters:
        return st.just(path_parameters)
    choices = {}
    if "site_id" in path_parameters:
        choices["site_id"] = st.sampled_from(
            [*REAL["own_site"] * 4, *REAL["other_site"], path_parameters["site_id"]])
    if "order_id" in path_parameters:
        choices["order_id"] = st.sampled_from(
            [*REAL["own_orders"], *REAL["other_orders"], path_parameters["order_id"]])
    if "webhook_id" in path_parameters:
        # remove-webhook deletes what it draws, so it draws from webhooks of its own.
        own = REAL["removable_webhooks"] if operation_id(context) == "remove-webhook" else REAL["own_webhooks"]
        choices["webhook_id"] = st.sampled_from(
            [*own * 2, *REAL["other_webhooks"], path_parameters["webhook_id"]])
    return st.fixed_dictionaries(choices).map(lambda drawn: {**path_parameters, **drawn})


def operation_id(context) -> str | None:
    return context.operation.definition.raw.get("operationId") if context.operation is not None else None


def could_reach_a_host(url: object) -> bool:
    return isinstance(url, str) and bool(re.match(r"(?i)https?://[^/?#]", url.strip()))


@schema.hook
def flatmap_body(context, body):
    """A generated create-webhook body rarely names a trigger orderdesk sends and an http(s) URL, and no
    other field (the spec allows any), so half the examples are such a body; the drawn body, for the
    refusals, is the other half. And no body may point a webhook at a real host."""
    if operation_id(context) != "create-webhook" or not isinstance(body, dict):
        return st.just(body)
    if could_reach_a_host(body.get("url")):
        body = {**body, "url": FUZZ_WEBHOOK_URL}
    triggers = st.sampled_from(["ecomm_new_order", "ecomm_order_changed"])  # the spec's; not our extension
    return st.one_of(st.just(body), triggers.map(lambda trigger: {"triggerType": trigger, "url": FUZZ_WEBHOOK_URL}))


@pytest.fixture(scope="module")
def real_data(db):
    """A site with orders in several statuses and webhooks, and another site the token may not see.
    Unlimited rate."""
    shop, other = make_shop(db, rate_limit=0), make_shop(db, rate_limit=0)
    statuses = ["unfulfilled", "unfulfilled", "fulfilled", "fulfilled", "pending", "disputed", "refunded"]

    def webhook_ids(site_id: str, count: int) -> list[str]:
        # ecomm_new_order: the fuzzer places no orders, so these are never delivered to.
        return [webhooks.create_webhook(db, site_id, "ecomm_new_order", FUZZ_WEBHOOK_URL, None, True).id
                for _ in range(count)]

    REAL.update(
        own_site=[shop.site.id],
        own_orders=[place(db, shop, status=status).order_id for status in statuses],
        own_webhooks=webhook_ids(shop.site.id, 2),
        removable_webhooks=webhook_ids(shop.site.id, 3),
        other_site=[other.site.id],
        other_orders=[place(db, other).order_id],
        other_webhooks=webhook_ids(other.site.id, 1),
    )
    yield shop
    REAL.clear()


@pytest.fixture
def answers():
    """The statuses one operation answered over all its examples: a fuzz that never got past a 404 or a
    400 would pass without testing anything, so each operation must have succeeded at least once."""
    statuses: list[int] = []
    yield statuses
    assert any(200 <= status < 300 for status in statuses), f"no 2xx among {sorted(set(statuses))}"


def every_order_field_is_present(ctx, response, case):
    """BEHAVIOUR.md section 1: every order field in the spec is present in every order response (the
    spec's schemas list no `required`, so schema conformance alone would not notice a missing one)."""
    if case.method.upper() != case.operation.method.upper() or not 200 <= response.status_code < 300:
        return None  # the coverage phase also sends other methods (OPTIONS answers 204, no body)
    operation = case.operation.definition.raw.get("operationId")
    if operation == "list-orders":
        documents = response.json()["orders"]
    elif operation in ORDER_OPERATIONS:
        documents = [response.json()]
    else:
        return None  # not an order; remove-webhook answers 204 with no body
    for document in documents:
        missing = ORDER_FIELDS - document.keys()
        assert not missing, f"order {document.get('orderId')} lacks {sorted(missing)}"
    return True


def every_response_carries_a_request_id(ctx, response, case):
    """BEHAVIOUR.md section 2: every response carries X-Request-Id, refusals included."""
    assert response.headers.get("x-request-id"), "no X-Request-Id header"
    return True


JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def json_bodies_are_compact(ctx, response, case):
    """BEHAVIOUR.md section 1: every JSON body is UTF-8 and compact: no whitespace outside strings."""
    if not response.content:
        return None
    text = response.content.decode("utf-8")
    json.loads(text)
    outside_strings = JSON_STRING.sub('""', text)
    assert not any(character.isspace() for character in outside_strings), "JSON body is not compact"
    return True


CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
    response_schema_conformance, every_order_field_is_present, every_response_carries_a_request_id,
    json_bodies_are_compact,
]


@schema.parametrize()
@hypothesis.settings(
    max_examples=50, deadline=None,
    # `answers` is function-scoped on purpose: it collects one operation's examples, then checks them.
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
def test_every_served_operation_conforms_to_the_spec(case, server, real_data, answers):
    response = case.call_and_validate(base_url=server.api, headers=real_data.headers, checks=CHECKS)
    if case.method.upper() == case.operation.method.upper():
        answers.append(response.status_code)


@pytest.mark.parametrize(("method", "action", "body"), [
    ("PATCH", "", b'[{"comment":"in an array"}]'), ("PATCH", "", b"null"),
    ("POST", "/fulfill", b"1"), ("POST", "/refund", b'"requested"'),
], ids=["update array", "update null", "fulfill number", "refund string"])
def test_a_body_that_is_not_an_object_is_a_validation_error(db, server, method, action, body):
    shop = make_shop(db)
    order_id = place(db, shop).order_id
    order_url = f"{server.api}/sites/{shop.site.id}/orders/{order_id}"
    before = httpx.get(order_url, headers=shop.headers).content

    response = httpx.request(method, order_url + action, content=body,
                             headers={**shop.headers, "Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "validation_error", "message": "Validation Error: body: must be a JSON object",
        "externalReference": "", "details": [{"field": "body", "message": "must be a JSON object"}],
    }
    assert httpx.get(order_url, headers=shop.headers).content == before


# --- hand-picked inputs the fuzzer does not draw ------------------------------------------------------


@pytest.mark.parametrize(("method", "target"), [
    ("PATCH", "/{order_id}"), ("POST", "/{order_id}/fulfill"), ("POST", "/{order_id}/unfulfill"),
    ("POST", "/{order_id}/refund"), ("POST", ""),
], ids=["update", "fulfill", "unfulfill", "refund", "place"])
def test_a_deeply_nested_body_is_a_bad_request_not_a_server_error(db, server, method, target):
    # 100,000 levels fit well under the 1 MiB body limit; schemathesis never nests this deep.
    shop = make_shop(db)
    order_id = place(db, shop).order_id
    orders_url = f"{server.api}/sites/{shop.site.id}/orders"
    before = httpx.get(orders_url, headers=shop.headers).content
    nested = b'{"comment":' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = httpx.request(method, orders_url + target.format(order_id=order_id), content=nested,
                             headers={**shop.headers, "Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "bad_request", "message": "Bad Request: Request is malformed", "externalReference": "", "details": [],
    }
    assert httpx.get(orders_url, headers=shop.headers).content == before


@pytest.mark.parametrize(("name", "raw"), [
    ("limit", "5_0"), ("offset", "\u0663"), ("limit", "1e2"),
], ids=["underscore digits", "arabic-indic digit", "exponent"])
def test_a_query_integer_must_be_written_in_ascii_digits(db, server, name, raw):
    # BEHAVIOUR.md section 4: non-integers are 400. Python's int() also reads "5_0" as 50 and "٣" as 3;
    # neither is an integer on the wire (OpenAPI `type: integer`, decimal ASCII digits).
    shop = make_shop(db)
    place(db, shop)

    response = httpx.get(f"{server.api}/sites/{shop.site.id}/orders", params={name: raw}, headers=shop.headers)

    assert response.status_code == 400
    assert response.json() == {
        "code": "validation_error", "message": f"Validation Error: {name}: must be an integer", "externalReference": "",
        "details": [{"field": name, "message": "must be an integer"}],
    }
