"""Arbitrary JSON (null, booleans, integers huge and small, floats, text, and lists and objects of them) in every
field of every write, one field at a time, against a real server: each answer is a 2xx, or a 4xx in Webflow's
envelope; never a 5xx. Seeded with this run's fuzz seed (tests/contract/conftest.py)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from importlib.resources import files

import httpx
import hypothesis
import pytest
from hypothesis import strategies as st

from tests.contract.conftest import FUZZ_SEED, REAL, STRIPE_EVENTS, with_webhooks_kept_home
from tests.contract.test_schemathesis import FUZZ_WEBHOOK_URL
from tests.factories import order_body
from tests.fake_stripe import FakeStripe

EXAMPLES = 30  # per write operation
HUGE = st.sampled_from([2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, -(10**400)])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | HUGE | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=10,
)


def stripe_event() -> dict:
    """A refund update Stripe could send about the Stripe site's refund, every field of it a target."""
    return {"id": "evt_fuzz", "object": "event", "type": "refund.updated", "created": 1712600704, "data": {"object": {
        "id": "re_stripe_fuzz", "object": "refund", "status": "requires_action", "reason": "requested_by_customer",
        "metadata": {"orderdesk_refund_id": REAL["stripe_refunds"][0]},
        "next_action": {"type": "display_details", "display_details": {"expires_at": 1712600704}}}}}


SITE, ORDER = "/v2/sites/{site}", "/v2/sites/{site}/orders/{order}"
# operationId: (method, path, the valid bodies whose fields are replaced), the bodies made once the real ids exist.
WRITES: dict[str, tuple[str, str, Callable[[], list]]] = {
    "update-order": ("PATCH", ORDER, lambda: [{"comment": "c", "shippingProvider": "p", "shippingTracking": "t",
                                               "shippingTrackingURL": "https://example.com/track"}]),
    "fulfill-order": ("POST", ORDER + "/fulfill", lambda: [{"sendOrderFulfilledEmail": False}]),
    "unfulfill-order": ("POST", ORDER + "/unfulfill", lambda: [{}]),
    "refund-order": ("POST", ORDER + "/refund", lambda: [{"reason": "requested"}]),
    "place-order": ("POST", SITE + "/orders", lambda: [order_body()]),
    "create-refund": ("POST", SITE + "/refunds", lambda: [
        {"orderId": REAL["refundable_orders"][0], "currency": "USD", "amount": 0.01, "type": "product",
         "reason": "requested", "metadata": {"key": "value"}},
        {"orderId": REAL["refundable_orders"][0], "currency": "USD",
         "items": [{"skuId": f"{0:024x}", "quantity": 1, "percent": 1}]}]),
    "update-refund": ("POST", SITE + "/refunds/{refund}", lambda: [{"metadata": {"key": "value"}}]),
    "create-webhook": ("POST", SITE + "/webhooks", lambda: [
        {"triggerType": "ecomm_new_order", "url": FUZZ_WEBHOOK_URL, "filter": {}}]),
    "redeliver-webhook": ("POST", "/v2/webhooks/{webhook}/deliveries/{delivery}/redeliver", lambda: [{}]),
    "reactivate-webhook": ("POST", "/v2/webhooks/{webhook}/reactivate", lambda: [{}]),
    STRIPE_EVENTS: ("POST", "/v2/processors/stripe/{stripe_site}/events", lambda: [stripe_event()]),
}


def field_paths(value, prefix: tuple = ()) -> list[tuple]:
    """Every place in a body a value can go: the body itself, and each of its fields, however deep."""
    paths = [prefix]
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        paths += field_paths(child, (*prefix, key))
    return paths


def replaced(body, path: tuple, value):
    if not path:
        return value
    body = copy.deepcopy(body)
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return body


def is_webflow_error(response: httpx.Response) -> bool:
    document = response.json()
    return (isinstance(document, dict) and document.keys() == {"code", "message", "externalReference", "details"}
            and isinstance(document["code"], str) and isinstance(document["message"], str)
            and document["externalReference"] == "" and isinstance(document["details"], list))


def test_every_write_of_the_document_is_fuzzed_here():
    document = json.loads(files("orderdesk.api").joinpath("openapi.json").read_bytes())
    # The sandbox's controls are served only in sandbox mode (tests/api/test_sandbox.py tries their bodies).
    documented = {operation["operationId"] for item in document["paths"].values() for method, operation in item.items()
                  if method in ("post", "patch", "put") and "Sandbox" not in operation["tags"]}

    assert documented == WRITES.keys()


@pytest.mark.parametrize("operation", sorted(WRITES))
@hypothesis.seed(FUZZ_SEED)
@hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(data=st.data())
def test_any_json_in_any_field_of_a_write_is_answered_2xx_or_a_4xx_envelope(server, fuzz_data, operation, data):
    method, template, bodies = WRITES[operation]
    base = data.draw(st.sampled_from(bodies()), label="valid body")
    path = data.draw(st.sampled_from(field_paths(base)), label="field")
    body = replaced(base, path, data.draw(JSON_VALUES, label="value"))
    if operation == "create-webhook":
        body = with_webhooks_kept_home(body)
    url = server.url + template.format(
        site=REAL["own_site"][0], order=REAL["own_orders"][1], refund=REAL["own_refunds"][0],
        webhook=REAL["own_webhooks"][-1], delivery=REAL["deliveries"][0], stripe_site=REAL["stripe_site"][0])
    if operation == STRIPE_EVENTS:
        content, signature = FakeStripe.sign_event(body, REAL["stripe_secret"])
        headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
    else:
        content, headers = json.dumps(body).encode(), {**REAL["headers"], "Content-Type": "application/json"}

    response = httpx.request(method, url, content=content, headers=headers)

    assert 200 <= response.status_code < 300 or (400 <= response.status_code < 500 and is_webflow_error(response)), \
        f"{response.status_code} {response.text[:500]}"
    if operation == STRIPE_EVENTS:
        # An event accepted is an event stored: it must not break the site's reads afterwards.
        listed = httpx.get(f"{server.api}/sites/{REAL['stripe_site'][0]}/refunds", headers=REAL["stripe_headers"])
        assert listed.status_code == 200, listed.text[:500]
