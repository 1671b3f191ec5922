"""Every operation of openapi.json fuzzed by schemathesis against a real server, with a new seed each run
(tests/contract/conftest.py prints it; ORDERDESK_FUZZ_SEED replays it): the examples, coverage and fuzzing
phases operation by operation, and the stateful phase along the document's links. Each answer is documented
(status, content type, headers, schema) and none is a 5xx."""

from __future__ import annotations

import itertools
import json
from importlib.resources import files

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)

from tests.contract.conftest import FUZZ_SEED, REAL, STRIPE_EVENTS, with_webhooks_kept_home
from tests.contract.test_schemathesis import (
    FUZZ_WEBHOOK_URL, ORDER_FIELDS, every_order_field_is_present, every_response_carries_a_request_id,
    json_bodies_are_compact, nullable_as_type_union, request_bodies_as_objects,
)
from tests.factories import order_body
from tests.fake_stripe import FakeStripe

DOCUMENT = json.loads(files("orderdesk.api").joinpath("openapi.json").read_bytes())
# The floor of generated examples per operation, on top of its explicit examples and its coverage cases.
EXAMPLES = 25
STATEFUL_SCENARIOS, STATEFUL_STEPS, RESTARTS = 30, 6, 5

# The sandbox's controls are served only in sandbox mode, and a fuzzed reset would empty the site the other
# operations are fuzzed on: tests/api/test_sandbox.py tries them, refusals included.
schema = schemathesis.openapi.from_dict(request_bodies_as_objects(nullable_as_type_union(DOCUMENT))).exclude(tag="Sandbox")
schema.config.seed = FUZZ_SEED


def operation_id(case_or_context) -> str | None:
    operation = case_or_context.operation
    return operation.definition.raw.get("operationId") if operation is not None else None


def documented_ids() -> dict[str, set[str]]:
    """The example values the document gives each path parameter."""
    found: dict[str, set[str]] = {}
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if "$ref" in parameter:
                    parameter = DOCUMENT["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
                if parameter["in"] == "path":
                    found.setdefault(parameter["name"], set()).add(parameter.get("example"))
    return found


DOCUMENTED_IDS = documented_ids()
DOCUMENTED_ORDER_ID = DOCUMENT["components"]["schemas"]["NewRefund"]["example"]["orderId"]
DELIVERY_OPERATIONS = {"list-webhook-deliveries", "redeliver-webhook"}


def real_ids(operation: str | None, name: str) -> tuple[list[str], list[str]]:
    """The real values for a path parameter: the token's own, and another site's (a 404 for this token)."""
    if name == "site_id":
        return REAL["stripe_site" if operation == STRIPE_EVENTS else "own_site"], REAL["other_site"]
    if name == "webhook_id":
        # remove-webhook deletes what it draws, so it draws from webhooks of its own.
        own = ("removable_webhooks" if operation == "remove-webhook" else
               "delivered_webhook" if operation in DELIVERY_OPERATIONS else "own_webhooks")
        return REAL[own], REAL["other_webhooks"]
    own, other = {"order_id": ("own_orders", "other_orders"), "refund_id": ("own_refunds", "other_refunds"),
                  "delivery_id": ("deliveries", "other_deliveries")}[name]
    return REAL[own], REAL[other]


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Six draws in eight name the token's own resources, so that the happy paths and the refusals of real
    resources are reached; one another site's; one keeps the generated value. (REAL is empty while the tests
    are collected, when the explicit examples are drawn: they keep the document's ids, and `prepare` makes
    them real.)"""
    if not REAL or not isinstance(path_parameters, dict) or not path_parameters:
        return st.just(path_parameters)
    operation = operation_id(context)
    choices = {}
    for name, value in path_parameters.items():
        own, other = real_ids(operation, name)
        # One sampled_from over a weighted list, as in test_schemathesis.py: with a one_of of six equal
        # branches a seed on CI never drew the own site together with a valid create-webhook body.
        choices[name] = st.sampled_from([*own * 6, *other, value])
    return st.fixed_dictionaries(choices)


@schema.hook
def flatmap_query(context, query):
    """Refund lists filtered and paged by real ids, not only by generated ones."""
    if not REAL or operation_id(context) != "list-refunds" or not isinstance(query, dict):
        return st.just(query)
    real = st.fixed_dictionaries({}, optional={
        "orderId": st.sampled_from(REAL["own_orders"]), "startingAfter": st.sampled_from(REAL["own_refunds"]),
        "ids": st.sampled_from(REAL["own_refunds"]), "state": st.sampled_from(["succeeded", "failed", "pending"]),
    })
    return st.one_of(st.just(query), real)


@schema.hook
def flatmap_headers(context, headers):
    """A generated Idempotency-Key ("0", "0", ...) is nearly always a key reused with another body, a 422 before
    the body is read; so a quarter of the writes keep it, half send a fresh key, a quarter none."""
    if not isinstance(headers, dict) or "Idempotency-Key" not in headers:
        return st.just(headers)
    unkeyed = {name: value for name, value in headers.items() if name != "Idempotency-Key"}
    fresh = st.uuids().map(lambda key: {**headers, "Idempotency-Key": f"fuzz-{key}"})
    return st.one_of(st.just(headers), fresh, fresh, st.just(unkeyed))


STRIPE_TYPES = ["charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed", "refund.updated",
                "refund.failed", "payment_intent.succeeded", "charge.captured", "customer.created"]


def stripe_event_of(event_type: str, suffix: str, status: str) -> dict:
    """An event of a type orderdesk acts on (or one it ignores), about nothing the Stripe site has."""
    return {"id": f"evt_{suffix}", "object": "event", "type": event_type, "data": {"object": {
        "id": f"obj_{suffix}", "status": status, "charge": f"ch_{suffix}", "payment_intent": f"pi_{suffix}",
        "amount_received": 100, "amount_captured": 100, "metadata": {}}}}


def valid_bodies(operation: str | None) -> st.SearchStrategy | None:
    """Bodies that get past validation: a generated one rarely names a real order, the site's currency and a
    consistent total. The generated body stays a third of the examples, for the refusals."""
    if operation == "create-webhook":
        # Webflow's triggers only: Webflow's webhook operations would answer ours (ecomm_refund_changed),
        # which their schemas do not list (the document's description says so).
        return st.fixed_dictionaries({"triggerType": st.sampled_from(["ecomm_new_order", "ecomm_order_changed"]),
                                      "url": st.just(FUZZ_WEBHOOK_URL)})
    if operation == "place-order":
        return st.builds(order_body, last4=st.sampled_from(["4242", "4111", "5126", "0839"]),
                         status=st.sampled_from(["unfulfilled", "pending", "fulfilled"]))
    if operation == STRIPE_EVENTS:
        return st.builds(stripe_event_of, st.sampled_from(STRIPE_TYPES), st.text("abcdefXYZ0123456789_", min_size=1),
                         st.sampled_from(["needs_response", "won", "lost", "succeeded", "failed", "pending", "x"]))
    if operation == "create-refund":
        asks = st.sampled_from([{"percent": 5}, {"amount": 0.5}, {"type": "shipping", "percent": 10},
                                {"items": [{"skuId": f"{0:024x}", "quantity": 1}]}])
        return st.tuples(st.sampled_from(REAL["refundable_orders"]), asks).map(
            lambda drawn: {"orderId": drawn[0], "currency": "USD", **drawn[1]})
    return None


@schema.hook
def flatmap_body(context, body):
    valid = valid_bodies(operation_id(context)) if REAL else None
    return st.just(body) if valid is None else st.one_of(st.just(body), valid, valid)


def signed(case):
    """The case with its body sent as the bytes the Stripe-Signature header signs with the site's secret."""
    try:
        body, signature = FakeStripe.sign_event(case.body, REAL["stripe_secret"])
    except (TypeError, ValueError):
        return case  # not JSON: sent unsigned, for the refusal
    case.body = body
    case.headers = {**(case.headers or {}), "Stripe-Signature": signature}
    return case


@schema.hook
def flatmap_case(context, case):
    """Two thirds of the Stripe events are signed, so that their bodies reach the parser; the rest are refused."""
    if not REAL or operation_id(context) != STRIPE_EVENTS:
        return st.just(case)
    return st.one_of(st.just(case), st.just(case).map(signed), st.just(case).map(signed))


KEYS = itertools.count()


def prepare(case) -> None:
    """What the hooks do for generated cases, for the cases drawn without them (explicit examples, coverage
    cases, steps of the state machine): no webhook may point at a real host; the document's example ids become
    real ones; a key given to every coverage case of an operation alike becomes one key per case; the example
    Stripe event is signed (the coverage cases keep their generated signatures, for the refusals)."""
    if operation_id(case) == "create-webhook":
        case.body = with_webhooks_kept_home(case.body)
    if case.meta is None or case.meta.phase.name.value not in ("examples", "coverage"):
        return
    for name, value in (case.path_parameters or {}).items():
        if value in DOCUMENTED_IDS.get(name, ()):
            case.path_parameters[name] = real_ids(operation_id(case), name)[0][0]
    if isinstance(case.body, dict) and case.body.get("orderId") == DOCUMENTED_ORDER_ID:
        case.body = {**case.body, "orderId": REAL["refundable_orders"][0]}
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and 0 < len(key) <= 200:
        case.headers["Idempotency-Key"] = f"{key}-{next(KEYS)}"
    if operation_id(case) == STRIPE_EVENTS and case.meta.phase.name.value == "examples":
        signed(case)


def placed_orders_have_every_field(ctx, response, case):
    """BEHAVIOUR.md section 1 for the placed order too (every_order_field_is_present covers Webflow's)."""
    if operation_id(case) != "place-order" or response.status_code != 201:
        return None
    missing = ORDER_FIELDS - response.json().keys()
    assert not missing, f"placed order lacks {sorted(missing)}"
    return True


def v2_json_bodies_are_compact(ctx, response, case):
    # BEHAVIOUR.md section 1 is about the API's JSON; /openapi.json is the repository's file as it is.
    if operation_id(case) == "openapi" or "json" not in response.headers.get("content-type", [""])[0]:
        return None
    return json_bodies_are_compact(ctx, response, case)


CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
    response_headers_conformance, every_response_carries_a_request_id, every_order_field_is_present,
    placed_orders_have_every_field, v2_json_bodies_are_compact,
]


def headers_for(case) -> dict[str, str]:
    """The token for every operation that takes one; Stripe's events carry a signature instead."""
    return {} if case.operation.definition.raw.get("security") == [] else REAL["headers"]


# --- schemathesis: examples, coverage and fuzzing, operation by operation ---------------------------------------


@pytest.fixture
def answers():
    """The statuses one operation answered over all its examples: a fuzz that never got past a 404 or a 400
    would pass without testing anything, so each operation must have succeeded at least once."""
    statuses: list[int] = []
    yield statuses
    assert any(200 <= status < 300 for status in statuses), f"no 2xx among {sorted(set(statuses))}"


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES, deadline=None, database=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture, hypothesis.HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(case, server, fuzz_data, answers):
    prepare(case)
    response = case.call_and_validate(base_url=server.url, headers=headers_for(case), checks=CHECKS)
    if case.method.upper() == case.operation.method.upper():
        answers.append(response.status_code)


# --- schemathesis: the stateful phase -------------------------------------------------------------------------


class Sequences(schema.as_state_machine()):
    """Chains of calls along the document's links (place an order, then refund it, read the refund back...)."""

    started = 0  # scenarios, over every restart

    def setup(self) -> None:
        Sequences.started += 1

    def before_call(self, case) -> None:
        prepare(case)

    def get_call_kwargs(self, case) -> dict:
        return {"base_url": REAL["base_url"], "headers": headers_for(case)}

    def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
        case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)


def test_sequences_of_operations_answer_as_documented(fuzz_data):
    for restart in range(RESTARTS):
        left = STATEFUL_SCENARIOS - Sequences.started
        if left <= 0:
            break
        sequences = hypothesis.seed(FUZZ_SEED + restart)(Sequences)
        sequences.rule_order_seed = FUZZ_SEED + restart
        try:
            sequences.run(settings=hypothesis.settings(
                max_examples=left, stateful_step_count=STATEFUL_STEPS, deadline=None, database=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                # No shrinking: a replay meets a server that has changed since; a failure is shown as it ran.
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate]))
            break
        except hypothesis.errors.FlakyStrategyDefinition:
            # Which steps a scenario can take depends on what the server answered before, and the server changes
            # as scenarios run, so Hypothesis may find a step it drew once drawing differently now, and stop. Not
            # the server's doing (schemathesis's own runner restarts too): the scenarios left run on another seed.
            continue
