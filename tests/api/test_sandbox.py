"""The sandbox workbench's controls over HTTP: sites and tokens, and reset (docs/behaviour.md section 11)."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from orderdesk.domain.sites import Scope
from orderdesk.services import access
from orderdesk.store.tables import sites
from tests.factories import make_shop, order_body
from tests.server import start_server

SANDBOX_KEY = "a-sandbox-key-for-tests"


@pytest.fixture(scope="module")
def sandbox(database_url):
    running = start_server(database_url, env={"ORDERDESK_SANDBOX": "true", "ORDERDESK_SANDBOX_KEY": SANDBOX_KEY})
    yield running
    running.stop()


def site_count(db) -> int:
    with db.reading() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(sites)).scalar_one()


def new_site(sandbox, **body) -> dict:
    response = httpx.post(f"{sandbox.url}/_orderdesk/sites", json={"name": "Test Shop", **body})
    assert response.status_code == 201, response.text
    return response.json()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def place(sandbox, site_id: str, token: str) -> dict:
    response = httpx.post(f"{sandbox.api}/sites/{site_id}/orders", json=order_body(), headers=auth(token))
    assert response.status_code == 201, response.text
    return response.json()


def test_without_sandbox_mode_every_control_is_a_404_and_makes_nothing(server, db):
    shop = make_shop(db)
    before = site_count(db)
    made = httpx.post(f"{server.url}/_orderdesk/sites", json={"name": "Nope"})
    reset = httpx.post(f"{server.url}/_orderdesk/sites/{shop.site.id}/reset", headers=shop.headers)
    assert (made.status_code, reset.status_code) == (404, 404)
    assert made.json()["code"] == reset.json()["code"] == "resource_not_found"
    assert site_count(db) == before


def test_a_site_is_made_over_http_with_a_token_holding_every_scope(sandbox, db):
    made = new_site(sandbox)
    assert set(made) == {"siteId", "token"}
    introspected = httpx.get(f"{sandbox.api}/token/introspect", headers=auth(made["token"]))
    assert introspected.status_code == 200
    assert introspected.json()["authorization"]["authorizedTo"]["siteIds"] == [made["siteId"]]
    scopes = set(introspected.json()["authorization"]["scope"].split(","))
    assert scopes == {scope.value for scope in Scope}
    site = httpx.get(f"{sandbox.api}/sites/{made['siteId']}", headers=auth(made["token"])).json()
    assert site["displayName"] == "Test Shop"
    assert access.get_site(db, made["siteId"]).currency == "USD"
    euro = new_site(sandbox, currency="eur")
    assert access.get_site(db, euro["siteId"]).currency == "EUR"
    empty = httpx.get(f"{sandbox.api}/sites/{euro['siteId']}/orders", headers=auth(euro["token"]))
    assert empty.json()["pagination"]["total"] == 0


@pytest.mark.parametrize("body, field", [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "A", "currency": "XXQ"}, "currency"),
    ({"name": "A", "colour": "red"}, "colour"), ({"name": 5}, "name"),
])
def test_a_bad_site_is_refused_with_its_field_and_nothing_is_made(sandbox, db, body, field):
    before = site_count(db)
    response = httpx.post(f"{sandbox.url}/_orderdesk/sites", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_error"
    assert [detail["field"] for detail in response.json()["details"]] == [field]
    assert site_count(db) == before


def test_off_loopback_making_a_site_takes_the_sandbox_key(sandbox, db):
    # uvicorn takes the client's address from X-Forwarded-For when the peer is loopback (a local proxy).
    remote = {"X-Forwarded-For": "203.0.113.7"}
    before = site_count(db)
    refused = httpx.post(f"{sandbox.url}/_orderdesk/sites", json={"name": "Remote"}, headers=remote)
    wrong = httpx.post(f"{sandbox.url}/_orderdesk/sites", json={"name": "Remote"},
                       headers={**remote, **auth("not-the-key")})
    assert (refused.status_code, wrong.status_code) == (401, 401)
    assert refused.json()["code"] == "not_authorized"
    assert site_count(db) == before
    made = httpx.post(f"{sandbox.url}/_orderdesk/sites", json={"name": "Remote"}, headers={**remote, **auth(SANDBOX_KEY)})
    assert made.status_code == 201
    assert site_count(db) == before + 1


def test_reset_empties_the_site_and_keeps_its_tokens_and_settings(sandbox, db):
    made, other = new_site(sandbox, name="Resettable"), new_site(sandbox, name="Neighbour")
    site_id, token = made["siteId"], made["token"]
    placed = [place(sandbox, site_id, token) for _ in range(3)]
    neighbours = place(sandbox, other["siteId"], other["token"])
    refund = httpx.post(f"{sandbox.api}/sites/{site_id}/refunds", headers=auth(token),
                        json={"orderId": placed[0]["orderId"], "amount": 1.00, "currency": "USD"})
    assert refund.status_code == 201, refund.text
    hook = httpx.post(f"{sandbox.api}/sites/{site_id}/webhooks", headers=auth(token),
                      json={"triggerType": "ecomm_order_changed", "url": "http://127.0.0.1:9/hook"})
    assert hook.status_code == 201, hook.text
    keyed = {**auth(token), "Idempotency-Key": "reset-me"}
    first = httpx.post(f"{sandbox.api}/sites/{site_id}/orders", json=order_body(), headers=keyed)
    assert first.status_code == 201

    reset = httpx.post(f"{sandbox.url}/_orderdesk/sites/{site_id}/reset", headers=auth(token))

    assert (reset.status_code, reset.content) == (204, b"")
    orders = httpx.get(f"{sandbox.api}/sites/{site_id}/orders", headers=auth(token))
    assert orders.status_code == 200
    assert (orders.json()["orders"], orders.json()["pagination"]["total"]) == ([], 0)
    gone = httpx.get(f"{sandbox.api}/sites/{site_id}/orders/{placed[1]['orderId']}", headers=auth(token))
    assert gone.status_code == 404
    refunds = httpx.get(f"{sandbox.api}/sites/{site_id}/refunds", headers=auth(token))
    assert refunds.json()["data"] == []
    hooks = httpx.get(f"{sandbox.api}/sites/{site_id}/webhooks", headers=auth(token))
    assert hooks.json()["webhooks"] == []
    site = httpx.get(f"{sandbox.api}/sites/{site_id}", headers=auth(token))
    assert site.json()["displayName"] == "Resettable"
    # The idempotency key is forgotten: the same key places a new order, not the old answer again.
    again = httpx.post(f"{sandbox.api}/sites/{site_id}/orders", json=order_body(), headers=keyed)
    assert again.status_code == 201
    assert again.json()["orderId"] != first.json()["orderId"]
    # The neighbour keeps everything.
    theirs = httpx.get(f"{sandbox.api}/sites/{other['siteId']}/orders/{neighbours['orderId']}",
                       headers=auth(other["token"]))
    assert theirs.status_code == 200
    assert theirs.content == httpx.get(f"{sandbox.api}/sites/{other['siteId']}/orders/{neighbours['orderId']}",
                                       headers=auth(other["token"])).content


def test_reset_starts_the_sites_rate_limit_windows_afresh(sandbox, db):
    made = new_site(sandbox)
    limited, _ = access.create_token(db, made["siteId"], [Scope.ECOMMERCE_READ.value], rate_limit=2)
    url = f"{sandbox.api}/sites/{made['siteId']}/orders"
    statuses = [httpx.get(url, headers=auth(limited)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    reset = httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/reset", headers=auth(limited))
    assert reset.status_code == 204
    after = httpx.get(url, headers=auth(limited))
    assert after.status_code == 200
    assert after.headers["x-ratelimit-remaining"] == "1"


def test_reset_needs_the_sites_own_token_and_a_refused_one_changes_nothing(sandbox, db):
    made, other = new_site(sandbox), new_site(sandbox)
    order = place(sandbox, made["siteId"], made["token"])
    url = f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/reset"
    anonymous = httpx.post(url)
    foreign = httpx.post(url, headers=auth(other["token"]))
    unknown = httpx.post(f"{sandbox.url}/_orderdesk/sites/ffffffffffffffffffffffff/reset", headers=auth(made["token"]))
    assert (anonymous.status_code, foreign.status_code, unknown.status_code) == (401, 404, 404)
    assert foreign.json()["code"] == "resource_not_found"
    still = httpx.get(f"{sandbox.api}/sites/{made['siteId']}/orders/{order['orderId']}", headers=auth(made["token"]))
    assert still.status_code == 200
