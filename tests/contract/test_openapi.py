"""openapi.json: a valid OpenAPI 3.1 document of exactly the routes orderdesk serves, Webflow's operations as
Webflow defines them, ours with their shapes, errors and examples; served at /openapi.json and shown at /docs."""

from __future__ import annotations

import copy
import json
import re
from importlib.resources import files

import httpx
import jsonschema_rs
import msgspec
import pytest
import schemathesis
from litestar import Litestar

from orderdesk.api.app import create_app
from orderdesk.api.routes import docs
from orderdesk.api.routes.mailbox import EmailDoc, MailboxDoc
from orderdesk.wire.sandbox import FaultDoc, FaultListDoc, SandboxSiteDoc, SnapshotDoc, SnapshotListDoc
from orderdesk.config import Settings
from orderdesk.wire import orders as wire_orders
from orderdesk.wire import requests as wire_requests
from orderdesk.wire.refunds import RefundDoc, RefundItemDoc, RefundListDoc
from orderdesk.wire.webhooks import AttemptDoc, AttemptListDoc, WebhookDoc
from tests.contract.test_schemathesis import load_spec, nullable_as_type_union

DOCUMENT_BYTES = files("orderdesk.api").joinpath("openapi.json").read_bytes()
DOCUMENT = json.loads(DOCUMENT_BYTES)
REFERENCE = load_spec()
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Webflow's paths are relative to its server, https://api.webflow.com/v2; ours start at the server's root.
BASE = "/v2"


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


REFERENCE_KEYS = {(BASE + path, method) for path, method, _ in operations(REFERENCE)}
EXTENSIONS = [(path, method, operation) for path, method, operation in operations(DOCUMENT)
              if (path, method) not in REFERENCE_KEYS]


def pointer(document: dict, reference: str):
    node = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def resolved(node):
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(DOCUMENT, node["$ref"])
    return node


def without_links(operation: dict) -> dict:
    """The operation without the links we added to its responses (for stateful fuzzing), all else untouched."""
    stripped = copy.deepcopy(operation)
    for answer in stripped["responses"].values():
        answer.pop("links", None)
    return stripped


# --- the document is valid ----------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1():
    schema = schemathesis.openapi.from_dict(DOCUMENT)

    schema.validate()  # against the OpenAPI 3.1 meta-schema

    assert DOCUMENT["openapi"] == "3.1.0"
    assert len([result.ok() for result in schema.get_all_operations()]) == len(list(operations(DOCUMENT)))


def schema_objects(node, inside_schema: bool = False):
    """Every Schema Object of the document (the roots only: a schema's subschemas are checked with it)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" and isinstance(value, dict) and not inside_schema:
                yield value
            elif key == "schemas" and isinstance(value, dict) and not inside_schema:
                yield from value.values()
            else:
                yield from schema_objects(value, inside_schema)
    elif isinstance(node, list):
        for item in node:
            yield from schema_objects(item, inside_schema)


def test_every_schema_is_valid_json_schema_2020_12():
    found = list(schema_objects(DOCUMENT["paths"])) + list(schema_objects(DOCUMENT["components"]))

    for schema in found:
        jsonschema_rs.meta.validate(schema)

    assert len(found) > 100


def references(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def test_every_reference_resolves():
    found = set(references(DOCUMENT))

    for reference in found:
        assert reference.startswith("#/components/"), reference
        pointer(DOCUMENT, reference)

    assert len(found) > 20


# --- Webflow's operations are Webflow's ---------------------------------------------------------------------


@pytest.mark.parametrize(("path", "method"), sorted(REFERENCE_KEYS), ids=lambda value: str(value))
def test_a_reference_operation_is_exactly_webflows(path, method):
    ours = DOCUMENT["paths"][path][method]

    assert without_links(ours) == REFERENCE["paths"][path.removeprefix(BASE)][method]
    assert "x-orderdesk-extension" not in ours


def test_the_reference_security_schemes_and_webhooks_are_webflows():
    assert DOCUMENT["components"]["securitySchemes"] == REFERENCE["components"]["securitySchemes"]
    assert DOCUMENT["security"] == REFERENCE["security"]
    for name in ("ecomm_new_order", "ecomm_order_changed"):
        assert DOCUMENT["webhooks"][name] == REFERENCE["webhooks"][name]


def test_our_order_and_error_schemas_are_webflows():
    # Our operations refer to these; a copy that drifted from the spec would document another shape.
    get_order = REFERENCE["paths"]["/sites/{site_id}/orders/{order_id}"]["get"]["responses"]
    webflow_error = get_order["400"]["content"]["application/json"]["schema"]
    schemas = DOCUMENT["components"]["schemas"]

    assert schemas["Order"] == get_order["200"]["content"]["application/json"]["schema"]
    ours = {key: value for key, value in schemas["Error"].items() if key not in ("required", "description", "example")}
    assert ours == {key: value for key, value in webflow_error.items() if key != "example"}
    assert schemas["Error"]["required"] == ["code", "message", "externalReference", "details"]


# --- our operations are documented ----------------------------------------------------------------------------


def test_every_operation_has_a_unique_kebab_case_operation_id():
    ids = [operation["operationId"] for _, _, operation in operations(DOCUMENT)]

    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[-_][a-z]+)*", operation_id) for operation_id in ids), ids


@pytest.mark.parametrize(("path", "method", "operation"), EXTENSIONS,
                         ids=[operation["operationId"] for *_, operation in EXTENSIONS])
def test_an_extension_is_marked_and_documented_with_errors_and_examples(path, method, operation):
    assert operation["x-orderdesk-extension"] is True
    assert operation["summary"] and operation["description"] and operation["tags"]
    answers = {status: resolved(answer) for status, answer in operation["responses"].items()}
    assert any(status.startswith("2") for status in answers)
    assert "500" in answers
    if operation["security"] != []:
        assert {"401", "403", "429"} <= answers.keys()
    if "requestBody" in operation:
        assert {"400", "413", "500"} <= answers.keys()
        assert examples_of(operation["requestBody"]["content"]["application/json"])
    for status, answer in answers.items():
        assert answer["description"]
        assert "X-Request-Id" in answer["headers"]
        for media_type, media in answer.get("content", {}).items():  # a 204 has none
            if status[0] == "4" or status == "500":  # /readyz answers its own shape with its 503
                assert media["schema"] == {"$ref": "#/components/schemas/Error"}
            if media_type == "application/json":
                assert examples_of(media), f"{status} has no example"


def examples_of(media: dict) -> list:
    """The examples of a media type: its own, else its schema's."""
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [resolved(example)["value"] for example in media["examples"].values()]
    schema = resolved(media["schema"])
    return [schema["example"]] if "example" in schema else []


@pytest.mark.parametrize(("path", "method", "operation"), EXTENSIONS,
                         ids=[operation["operationId"] for *_, operation in EXTENSIONS])
def test_the_examples_of_an_extension_fit_its_schemas(path, method, operation):
    media = [operation["requestBody"]["content"]["application/json"]] if "requestBody" in operation else []
    media += [resolved(answer).get("content", {}).get("application/json") for answer in operation["responses"].values()]
    for found in filter(None, media):
        # The schema's references point into the document, so the document is the schema's root here; Webflow's
        # schemas mark null with 3.0's `nullable`, read as 3.1 (see test_schemathesis).
        validator = jsonschema_rs.Draft202012Validator(
            {**found["schema"], "components": nullable_as_type_union(DOCUMENT["components"])})
        for example in examples_of(found):
            validator.validate(example)


def property_names(name: str) -> set[str]:
    return set(DOCUMENT["components"]["schemas"][name]["properties"])


def struct_fields(kind) -> set[str]:
    return {field.encode_name for field in msgspec.structs.fields(kind)}


@pytest.mark.parametrize(("schema", "fields"), [
    ("NewOrder", struct_fields(wire_orders.OrderDoc)),
    ("NewOrderMoney", struct_fields(wire_orders.MoneyDoc)),
    ("NewOrderAddress", struct_fields(wire_orders.Address)),
    ("NewOrderCustomerInfo", struct_fields(wire_orders.CustomerInfo)),
    ("NewOrderItem", struct_fields(wire_orders.PurchasedItem)),
    ("NewOrderStripeDetails", struct_fields(wire_orders.StripeDetails)),
    ("NewOrderStripeCard", struct_fields(wire_orders.StripeCard)),
    ("NewOrderPaypalDetails", struct_fields(wire_orders.PaypalDetails)),
    ("NewOrderExtra", struct_fields(wire_orders.Extra)),
    ("NewOrderTotals", struct_fields(wire_orders.Totals)),
    ("NewOrderDownloadFile", struct_fields(wire_orders.DownloadFile)),
    ("Order", struct_fields(wire_orders.OrderDoc)),
    ("Refund", struct_fields(RefundDoc)),
    ("RefundItem", struct_fields(RefundItemDoc)),
    ("RefundList", struct_fields(RefundListDoc)),
    ("NewRefund", struct_fields(wire_requests.NewRefund)),
    ("NewRefundItem", struct_fields(wire_requests.RefundItem)),
    ("RefundUpdate", struct_fields(wire_requests.UpdateRefund)),
    ("Webhook", struct_fields(WebhookDoc)),
    ("Delivery", struct_fields(AttemptDoc)),
    ("DeliveryList", struct_fields(AttemptListDoc)),
    ("Email", struct_fields(EmailDoc)),
    ("Mailbox", struct_fields(MailboxDoc)),
    ("NewSandboxSite", struct_fields(wire_requests.NewSandboxSite)),
    ("SandboxSite", struct_fields(SandboxSiteDoc)),
    ("NewFault", struct_fields(wire_requests.NewFault)),
    ("Fault", struct_fields(FaultDoc)),
    ("FaultList", struct_fields(FaultListDoc)),
    ("SandboxDispute", struct_fields(wire_requests.SandboxDispute)),
    ("SandboxCapture", struct_fields(wire_requests.SandboxCapture)),
    ("NewSnapshot", struct_fields(wire_requests.NewSnapshot)),
    ("Snapshot", struct_fields(SnapshotDoc)),
    ("SnapshotList", struct_fields(SnapshotListDoc)),
    ("SandboxSeed", struct_fields(wire_requests.SandboxSeed)),
])
def test_a_documented_shape_has_the_fields_of_its_wire_struct(schema, fields):
    assert property_names(schema) == fields


def test_every_link_names_an_operation_and_its_parameters():
    by_id = {operation["operationId"]: operation for _, _, operation in operations(DOCUMENT)}
    links = [link for _, _, operation in operations(DOCUMENT) for answer in operation["responses"].values()
             for link in resolved(answer).get("links", {}).values()]

    for link in links:
        target = by_id[link["operationId"]]
        names = {f"{p['in']}.{p['name']}" for p in map(resolved, target.get("parameters", []))}
        assert set(link.get("parameters", {})) <= names, link

    assert len(links) >= 20


# --- the document names exactly the routes served -------------------------------------------------------------


@pytest.fixture(scope="module")
def served_routes(database_url) -> set[tuple[str, str]]:
    """(path, method) of every route of the app, the sandbox's included: Litestar's, reached through the ASGI
    layers around it."""
    app = create_app(Settings(database_url=database_url, sandbox=True))
    framework = app
    while not isinstance(framework, Litestar):
        framework = framework.app
    try:
        # OPTIONS and HEAD are answered for every route (middleware.Methods), not operations of their own.
        return {(route.path_format, method.lower()) for route in framework.routes
                for method in route.methods if method not in ("OPTIONS", "HEAD")}
    finally:
        framework.state.db.dispose()


def documented_routes() -> set[tuple[str, str]]:
    return {(path, method) for path, method, _ in operations(DOCUMENT)}


def test_every_route_served_is_documented(served_routes):
    assert sorted(served_routes - documented_routes()) == []


def test_every_documented_route_is_served(served_routes):
    assert sorted(documented_routes() - served_routes) == []
    assert len(served_routes) == 43


# --- served over HTTP ---------------------------------------------------------------------------------------


def test_the_document_is_served_without_a_token_byte_for_byte(server):
    response = httpx.get(f"{server.url}/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]
    assert response.content == DOCUMENT_BYTES


def test_the_docs_page_lists_every_operation_without_a_token(server):
    response = httpx.get(f"{server.url}/docs")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"].startswith("default-src 'none'; style-src 'self'")
    page = response.text
    for _, _, operation in operations(DOCUMENT):
        assert f'id="op-{operation["operationId"]}"' in page
    for name in DOCUMENT["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert "<script" not in page.lower()
    # Its one asset is its own: no CDN, no other origin.
    assert re.findall(r'<link [^>]*href="([^"]*)"', page) == ["/docs/docs.css"]
    assert not re.findall(r'\bsrc="', page)


def test_the_docs_stylesheet_is_served_by_orderdesk(server):
    response = httpx.get(f"{server.url}/docs/docs.css")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert response.content == files("orderdesk.api").joinpath("static/docs.css").read_bytes()


def test_the_docs_page_escapes_everything_the_document_says():
    attack = '<script>alert("x")</script>'
    hostile = {
        "openapi": "3.1.0",
        "info": {"title": attack, "version": attack, "summary": attack, "description": attack},
        "tags": [{"name": attack}],
        "paths": {f"/{attack}": {"get": {
            "operationId": f'x" onmouseover="{attack}', "summary": attack, "description": attack, "tags": [attack],
            "parameters": [{"name": attack, "in": "query", "description": attack, "example": attack,
                            "schema": {"type": "string", "enum": [attack], "pattern": attack}}],
            "responses": {"200": {"description": attack, "headers": {attack: {"description": attack}},
                                  "content": {attack: {"schema": {"properties": {attack: {"description": attack}}},
                                                       "examples": {attack: {"summary": attack, "value": attack}}}},
                                  "links": {attack: {"operationId": attack}}}},
        }}},
        "components": {"schemas": {attack: {"type": "object", "properties": {attack: {"example": attack}}}}},
    }

    page = docs.render_page(hostile)

    assert "<script" not in page
    assert 'onmouseover="' not in page
    assert page.count("&lt;script&gt;") >= 20
