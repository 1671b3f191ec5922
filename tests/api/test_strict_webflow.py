"""Strict Webflow mode: only what Webflow itself serves (docs/behaviour.md section 11)."""

from __future__ import annotations

import json
from importlib.resources import files

import httpx
import pytest

from tests.factories import make_shop, order_body, place
from tests.server import start_server

DOCUMENT = json.loads(files("orderdesk.api").joinpath("openapi.json").read_bytes())
EXTENSIONS = sorted((method.upper(), path) for path, item in DOCUMENT["paths"].items() for method, operation in item.items()
                    if path.startswith("/v2/") and operation.get("x-orderdesk-extension"))
NO_ROUTE = {"code": "resource_not_found", "message": "Requested resource not found: The route cannot be found",
            "externalReference": "", "details": []}


@pytest.fixture(scope="module")
def strict(database_url):
    running = start_server(database_url, env={"ORDERDESK_STRICT_WEBFLOW": "true", "ORDERDESK_SANDBOX": "true"})
    yield running
    running.stop()


def concrete(path: str, shop, order_id: str) -> str:
    return (path.replace("{site_id}", shop.site.id).replace("{order_id}", order_id)
            .replace("{refund_id}", "rf_0").replace("{webhook_id}", "0" * 24).replace("{delivery_id}", "1"))


def test_there_are_extensions_to_refuse():
    assert ("POST", "/v2/sites/{site_id}/orders") in EXTENSIONS
    assert ("GET", "/v2/sites/{site_id}/refunds") in EXTENSIONS
    assert len(EXTENSIONS) >= 8


@pytest.mark.parametrize(("method", "path"), EXTENSIONS, ids=[f"{m} {p}" for m, p in EXTENSIONS])
def test_every_extension_is_webflows_404_and_changes_nothing(strict, db, method, path):
    shop = make_shop(db)
    order = place(db, shop)
    before = httpx.get(f"{strict.api}/sites/{shop.site.id}/orders", headers=shop.headers).content
    body = order_body() if method in ("POST", "PATCH") else None
    answer = httpx.request(method, strict.url + concrete(path, shop, order.order_id), json=body, headers=shop.headers)
    assert (answer.status_code, answer.json()) == (404, NO_ROUTE)
    assert "x-request-id" in answer.headers
    assert httpx.get(f"{strict.api}/sites/{shop.site.id}/orders", headers=shop.headers).content == before


def test_webflows_own_operations_are_served(strict, db):
    shop = make_shop(db)
    order = place(db, shop)
    base = f"{strict.api}/sites/{shop.site.id}/orders"
    assert httpx.get(base, headers=shop.headers).json()["pagination"]["total"] == 1
    assert httpx.get(f"{base}/{order.order_id}", headers=shop.headers).status_code == 200
    fulfilled = httpx.post(f"{base}/{order.order_id}/fulfill", json={}, headers=shop.headers)
    assert (fulfilled.status_code, fulfilled.json()["status"]) == (200, "fulfilled")
    assert httpx.get(f"{strict.api}/token/introspect", headers=shop.headers).status_code == 200


def test_an_idempotency_key_is_ignored(strict, db):
    shop = make_shop(db)
    order = place(db, shop)
    url = f"{strict.api}/sites/{shop.site.id}/orders/{order.order_id}"
    keyed = {**shop.headers, "Idempotency-Key": "same-key"}
    first = httpx.patch(url, json={"comment": "one"}, headers=keyed)
    second = httpx.patch(url, json={"comment": "two"}, headers=keyed)  # a different body: 422 outside strict mode
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["comment"] == "two"
    assert "idempotent-replayed" not in first.headers and "idempotent-replayed" not in second.headers


def test_the_sandbox_controls_still_work(strict):
    made = httpx.post(f"{strict.url}/_orderdesk/sites", json={"name": "Strict"})
    assert made.status_code == 201
    token = made.json()["token"]
    reset = httpx.post(f"{strict.url}/_orderdesk/sites/{made.json()['siteId']}/reset",
                       headers={"Authorization": f"Bearer {token}"})
    assert reset.status_code == 204
