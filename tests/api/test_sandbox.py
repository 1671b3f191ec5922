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


# --- faults -------------------------------------------------------------------------------------------------


def add_fault(sandbox, made: dict, **fault) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/faults", json=fault, headers=auth(made["token"]))


def faults_of(sandbox, made: dict) -> list[dict]:
    response = httpx.get(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/faults", headers=auth(made["token"]))
    assert response.status_code == 200
    return response.json()["faults"]


def test_a_fault_answers_its_status_for_its_times_then_the_api_answers_again(sandbox):
    made = new_site(sandbox)
    order = place(sandbox, made["siteId"], made["token"])
    added = add_fault(sandbox, made, operation="get-order", status=503, times=2)
    assert added.status_code == 201, added.text
    fault = added.json()
    assert {key: fault[key] for key in ("operation", "status", "delayMs", "drop", "times", "probability", "remaining")} \
        == {"operation": "get-order", "status": 503, "delayMs": 0, "drop": False, "times": 2, "probability": 1.0,
            "remaining": 2}
    url = f"{sandbox.api}/sites/{made['siteId']}/orders/{order['orderId']}"
    answers = [httpx.get(url, headers=auth(made["token"])) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [503, 503, 200]
    assert answers[0].json() == {"code": "service_unavailable", "message": "Service Unavailable: try again shortly",
                                 "externalReference": "", "details": []}
    assert answers[2].json()["orderId"] == order["orderId"]
    # Another operation of the same site is untouched meanwhile.
    assert faults_of(sandbox, made)[0]["remaining"] == 0


def test_a_faulted_write_changes_nothing(sandbox):
    made = new_site(sandbox)
    order = place(sandbox, made["siteId"], made["token"])
    url = f"{sandbox.api}/sites/{made['siteId']}/orders/{order['orderId']}"
    before = httpx.get(url, headers=auth(made["token"])).content
    assert add_fault(sandbox, made, operation="update-order", status=500, times=1).status_code == 201
    refused = httpx.patch(url, json={"comment": "changed"}, headers=auth(made["token"]))
    assert refused.status_code == 500
    assert refused.json()["code"] == "internal_error"
    assert httpx.get(url, headers=auth(made["token"])).content == before
    applied = httpx.patch(url, json={"comment": "changed"}, headers=auth(made["token"]))
    assert (applied.status_code, applied.json()["comment"]) == (200, "changed")


def test_a_429_fault_carries_retry_after_and_the_rate_limit_headers(sandbox):
    made = new_site(sandbox)
    assert add_fault(sandbox, made, operation="list-orders", status=429, times=1).status_code == 201
    url = f"{sandbox.api}/sites/{made['siteId']}/orders"
    refused = httpx.get(url, headers=auth(made["token"]))
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_requests"
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-limit"]) > 0
    assert httpx.get(url, headers=auth(made["token"])).status_code == 200


def test_the_sdk_retries_a_429_fault_once_and_surfaces_three(sandbox):
    from webflow import Webflow
    from webflow.environment import WebflowEnvironment
    from webflow.errors import TooManyRequestsError

    made = new_site(sandbox)
    order = place(sandbox, made["siteId"], made["token"])
    with httpx.Client(timeout=10) as connection:
        environment = WebflowEnvironment(base=sandbox.api, data_api=sandbox.api, content_delivery_api=sandbox.api)
        client = Webflow(access_token=made["token"], environment=environment, httpx_client=connection)
        assert add_fault(sandbox, made, operation="get-order", status=429, times=1).status_code == 201
        assert client.orders.get(made["siteId"], order["orderId"]).order_id == order["orderId"]
        assert add_fault(sandbox, made, operation="get-order", status=429, times=3).status_code == 201
        with pytest.raises(TooManyRequestsError):
            client.orders.get(made["siteId"], order["orderId"])
    assert [fault["remaining"] for fault in faults_of(sandbox, made)] == [0, 0]


def test_a_drop_fault_closes_the_connection_without_an_answer(sandbox):
    made = new_site(sandbox)
    assert add_fault(sandbox, made, operation="*", drop=True, times=1).status_code == 201
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{sandbox.api}/sites/{made['siteId']}/orders", headers=auth(made["token"]))
    assert httpx.get(f"{sandbox.api}/sites/{made['siteId']}/orders", headers=auth(made["token"])).status_code == 200


def test_a_delay_fault_answers_late_and_then_as_usual(sandbox):
    made = new_site(sandbox)
    assert add_fault(sandbox, made, operation="list-orders", delayMs=400, times=1).status_code == 201
    url = f"{sandbox.api}/sites/{made['siteId']}/orders"
    late = httpx.get(url, headers=auth(made["token"]))
    assert late.status_code == 200
    assert 0.4 <= late.elapsed.total_seconds() < 0.4 * 1.1 + 0.1
    assert httpx.get(url, headers=auth(made["token"])).elapsed.total_seconds() < 0.4


def test_a_fault_applies_only_to_its_own_site(sandbox):
    made, other = new_site(sandbox), new_site(sandbox)
    assert add_fault(sandbox, made, operation="*", status=500).status_code == 201
    assert httpx.get(f"{sandbox.api}/sites/{other['siteId']}/orders", headers=auth(other["token"])).status_code == 200
    assert httpx.get(f"{sandbox.api}/sites/{made['siteId']}/orders", headers=auth(made["token"])).status_code == 500


def test_a_fault_with_a_probability_repeats_the_same_choices_for_the_same_fault():
    from orderdesk.domain.faults import Fault

    fault = Fault("a" * 24, "s" * 24, "*", status=500, probability=0.5)
    choices = [fault.chosen(draw) for draw in range(1, 201)]
    assert choices == [fault.chosen(draw) for draw in range(1, 201)]
    assert 70 < sum(choices) < 130  # about half
    assert choices != [Fault("b" * 24, "s" * 24, "*", status=500, probability=0.5).chosen(d) for d in range(1, 201)]


def test_faults_are_listed_deleted_one_by_one_or_all_and_cleared_by_reset(sandbox):
    made = new_site(sandbox)
    first = add_fault(sandbox, made, operation="get-order", status=500).json()
    second = add_fault(sandbox, made, operation="list-orders", status=503).json()
    assert [fault["id"] for fault in faults_of(sandbox, made)] == [first["id"], second["id"]]
    base = f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/faults"
    assert httpx.delete(f"{base}/{first['id']}", headers=auth(made["token"])).status_code == 204
    missing = httpx.delete(f"{base}/{first['id']}", headers=auth(made["token"]))
    assert (missing.status_code, missing.json()["code"]) == (404, "resource_not_found")
    assert [fault["id"] for fault in faults_of(sandbox, made)] == [second["id"]]
    assert httpx.delete(base, headers=auth(made["token"])).status_code == 204
    assert faults_of(sandbox, made) == []
    add_fault(sandbox, made, operation="*", status=500)
    assert httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/reset", headers=auth(made["token"])).status_code == 204
    assert faults_of(sandbox, made) == []
    assert httpx.get(f"{sandbox.api}/sites/{made['siteId']}/orders", headers=auth(made["token"])).status_code == 200


@pytest.mark.parametrize("fault, field", [
    ({"operation": "no-such-operation", "status": 500}, "operation"),
    ({"operation": "processor"}, "outcome"),
    ({"operation": "processor", "outcome": "lost"}, "outcome"),
    ({"operation": "processor", "outcome": "declined", "status": 500}, "operation"),
    ({"operation": "get-order", "status": 500, "outcome": "declined"}, "outcome"),
    ({"operation": "webhook-delivery"}, "chaos"),
    ({"operation": "webhook-delivery", "chaos": "reorder"}, "chaos"),
    ({"operation": "webhook-delivery", "chaos": "drop", "status": 500}, "operation"),
    ({"operation": "get-order", "status": 500, "chaos": "drop"}, "chaos"),
    ({"operation": "get-order", "status": 302}, "status"),
    ({"operation": "get-order", "delayMs": 30_001}, "delayMs"),
    ({"operation": "get-order", "delayMs": -1}, "delayMs"),
    ({"operation": "get-order", "status": 500, "drop": True}, "drop"),
    ({"operation": "get-order"}, "status"),
    ({"operation": "get-order", "status": 500, "times": 0}, "times"),
    ({"operation": "get-order", "status": 500, "probability": 1.5}, "probability"),
    ({"status": 500}, "operation"),
])
def test_a_bad_fault_is_refused_naming_its_field_and_adds_nothing(sandbox, fault, field):
    made = new_site(sandbox)
    refused = add_fault(sandbox, made, **fault)
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "validation_error"
    assert [detail["field"] for detail in refused.json()["details"]] == [field]
    assert faults_of(sandbox, made) == []


# --- processor events on demand -----------------------------------------------------------------------------


def test_a_dispute_over_http_opens_and_then_closes_as_won(sandbox):
    made = new_site(sandbox)
    order = place(sandbox, made["siteId"], made["token"])
    url = f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/orders/{order['orderId']}/dispute"
    opened = httpx.post(url, headers=auth(made["token"]))
    assert opened.status_code == 200, opened.text
    assert (opened.json()["status"], opened.json()["disputeLastStatus"]) == ("disputed", "needs_response")
    assert opened.json()["stripeDetails"]["disputeId"].startswith("dp_sim_")
    won = httpx.post(url, json={"outcome": "won"}, headers=auth(made["token"]))
    assert (won.json()["status"], won.json()["disputeLastStatus"]) == ("unfulfilled", "won")
    read = httpx.get(f"{sandbox.api}/sites/{made['siteId']}/orders/{order['orderId']}", headers=auth(made["token"]))
    assert read.content == won.content


def test_a_dispute_lost_at_once_ends_the_order(sandbox):
    made = new_site(sandbox)
    order = place(sandbox, made["siteId"], made["token"])
    lost = httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/orders/{order['orderId']}/dispute",
                      json={"outcome": "lost"}, headers=auth(made["token"]))
    assert (lost.status_code, lost.json()["status"]) == (200, "dispute-lost")


def test_a_capture_over_http_makes_a_pending_order_unfulfilled(sandbox):
    made = new_site(sandbox)
    placed = httpx.post(f"{sandbox.api}/sites/{made['siteId']}/orders", json=order_body(status="pending"),
                        headers=auth(made["token"]))
    assert placed.json()["status"] == "pending"
    captured = httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/orders/{placed.json()['orderId']}/capture",
                          json={"amount": 1000}, headers=auth(made["token"]))
    assert (captured.status_code, captured.json()["status"]) == (200, "unfulfilled")
    too_much = httpx.post(f"{sandbox.api}/sites/{made['siteId']}/refunds", headers=auth(made["token"]),
                          json={"orderId": placed.json()["orderId"], "amount": 10.01, "currency": "USD"})
    assert too_much.status_code == 400  # only 10.00 was captured


@pytest.mark.parametrize("action, body, status", [
    ("dispute", {"outcome": "draw"}, 400), ("capture", {"amount": -1}, 400), ("capture", {"amount": "5"}, 400),
    ("dispute", {"colour": 1}, 400),
])
def test_a_bad_processor_event_is_refused_and_changes_nothing(sandbox, action, body, status):
    made = new_site(sandbox)
    order = place(sandbox, made["siteId"], made["token"])
    read = f"{sandbox.api}/sites/{made['siteId']}/orders/{order['orderId']}"
    before = httpx.get(read, headers=auth(made["token"])).content
    refused = httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/orders/{order['orderId']}/{action}",
                         json=body, headers=auth(made["token"]))
    assert refused.status_code == status, refused.text
    assert refused.json()["code"] == "validation_error"
    assert httpx.get(read, headers=auth(made["token"])).content == before


def test_a_processor_event_on_a_missing_order_or_a_pending_dispute_is_refused(sandbox):
    made = new_site(sandbox)
    missing = httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/orders/000-000/dispute",
                         headers=auth(made["token"]))
    assert (missing.status_code, missing.json()["code"]) == (404, "order_not_found")
    pending = httpx.post(f"{sandbox.api}/sites/{made['siteId']}/orders", json=order_body(status="pending"),
                         headers=auth(made["token"])).json()
    refused = httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/orders/{pending['orderId']}/dispute",
                         headers=auth(made["token"]))
    assert (refused.status_code, refused.json()["code"]) == (409, "conflict")


# --- snapshots ----------------------------------------------------------------------------------------------


def snapshots_url(sandbox, made: dict) -> str:
    return f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/snapshots"


def answers_of(sandbox, made: dict, order_ids: list[str]) -> list[bytes]:
    """Every read a client could make of the site, as bytes."""
    base, headers = f"{sandbox.api}/sites/{made['siteId']}", auth(made["token"])
    reads = [f"{base}/orders", f"{base}/orders?status=fulfilled", f"{base}/refunds", f"{base}/webhooks",
             f"{base}/mailbox", *(f"{base}/orders/{order_id}" for order_id in order_ids)]
    answers = [httpx.get(url, headers=headers) for url in reads]
    assert all(answer.status_code == 200 for answer in answers), [answer.text for answer in answers]
    return [answer.content for answer in answers]


def test_a_snapshot_restores_every_answer_byte_for_byte(sandbox):
    made = new_site(sandbox)
    headers = auth(made["token"])
    placed = [place(sandbox, made["siteId"], made["token"])["orderId"] for _ in range(4)]
    base = f"{sandbox.api}/sites/{made['siteId']}"
    assert httpx.post(f"{base}/orders/{placed[0]}/fulfill", json={}, headers=headers).status_code == 200
    assert httpx.post(f"{base}/refunds", json={"orderId": placed[1], "amount": 2.5, "currency": "USD"},
                      headers=headers).status_code == 201
    assert httpx.post(f"{base}/webhooks", json={"triggerType": "ecomm_order_changed", "url": "http://127.0.0.1:9/h"},
                      headers=headers).status_code == 201
    before = answers_of(sandbox, made, placed)

    saved = httpx.post(snapshots_url(sandbox, made), json={"name": "after-checkout"}, headers=headers)
    assert saved.status_code == 201, saved.text
    assert (saved.json()["name"], saved.json()["orders"]) == ("after-checkout", 4)

    # Changes after it: an update, a new order, a refund, a deleted webhook; then a reset on top.
    assert httpx.patch(f"{base}/orders/{placed[2]}", json={"comment": "later"}, headers=headers).status_code == 200
    place(sandbox, made["siteId"], made["token"])
    assert httpx.post(f"{base}/refunds", json={"orderId": placed[3], "amount": 1, "currency": "USD"},
                      headers=headers).status_code == 201
    assert httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/reset", headers=headers).status_code == 204

    restored = httpx.post(f"{snapshots_url(sandbox, made)}/after-checkout/restore", headers=headers)
    assert (restored.status_code, restored.content) == (204, b"")
    assert answers_of(sandbox, made, placed) == before
    # The site goes on from there: a new order and a refund work and take new ids.
    again = place(sandbox, made["siteId"], made["token"])
    assert again["orderId"] not in placed
    listed = httpx.get(snapshots_url(sandbox, made), headers=headers).json()["snapshots"]
    assert [(snapshot["name"], snapshot["orders"]) for snapshot in listed] == [("after-checkout", 4)]


def test_snapshots_are_the_sites_own_and_survive_a_reset(sandbox):
    made, other = new_site(sandbox), new_site(sandbox)
    assert httpx.post(snapshots_url(sandbox, made), json={"name": "empty"}, headers=auth(made["token"])).status_code == 201
    assert httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/reset", headers=auth(made["token"])).status_code == 204
    assert [s["name"] for s in httpx.get(snapshots_url(sandbox, made), headers=auth(made["token"])).json()["snapshots"]] \
        == ["empty"]
    theirs = httpx.post(f"{snapshots_url(sandbox, other)}/empty/restore", headers=auth(other["token"]))
    assert (theirs.status_code, theirs.json()["code"]) == (404, "resource_not_found")
    foreign = httpx.post(f"{snapshots_url(sandbox, made)}/empty/restore", headers=auth(other["token"]))
    assert foreign.status_code == 404


def test_a_snapshot_name_is_checked_unique_and_deleted(sandbox):
    made = new_site(sandbox)
    url, headers = snapshots_url(sandbox, made), auth(made["token"])
    for bad in ("", "has space", "-leading", "x" * 101):
        refused = httpx.post(url, json={"name": bad}, headers=headers)
        assert (refused.status_code, refused.json()["details"][0]["field"]) == (400, "name"), bad
    assert httpx.post(url, json={"name": "one"}, headers=headers).status_code == 201
    twice = httpx.post(url, json={"name": "one"}, headers=headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "conflict")
    assert httpx.delete(f"{url}/one", headers=headers).status_code == 204
    gone = httpx.delete(f"{url}/one", headers=headers)
    assert gone.status_code == 404
    assert httpx.get(url, headers=headers).json()["snapshots"] == []
    missing = httpx.post(f"{url}/one/restore", headers=headers)
    assert missing.status_code == 404


def test_restoring_a_thousand_orders_takes_under_a_second(sandbox, db):
    import time

    from orderdesk.seed.orders import seed_orders

    made = new_site(sandbox)
    seed_orders(db, access.get_site(db, made["siteId"]), 1000, seed=3)
    headers = auth(made["token"])
    first_page = httpx.get(f"{sandbox.api}/sites/{made['siteId']}/orders", headers=headers).content
    assert httpx.post(snapshots_url(sandbox, made), json={"name": "k"}, headers=headers).json()["orders"] == 1000
    assert httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/reset", headers=headers).status_code == 204
    started = time.perf_counter()
    restored = httpx.post(f"{snapshots_url(sandbox, made)}/k/restore", headers=headers)
    took = time.perf_counter() - started
    assert restored.status_code == 204
    assert took < 1.0, took
    assert httpx.get(f"{sandbox.api}/sites/{made['siteId']}/orders", headers=headers).content == first_page


# --- redeliver goes now ---------------------------------------------------------------------------------------


def test_a_redelivery_goes_at_once_not_after_the_heads_ten_minute_retry(fresh_database_url):
    from tests.webhooks.receiver import Receiver

    server = start_server(fresh_database_url, env={"ORDERDESK_SANDBOX": "true", "ORDERDESK_WEBHOOK_RETRY_INTERVAL": "600"})
    try:
        with Receiver() as receiver:
            receiver.answers = [500]
            made = new_site(server)
            headers = auth(made["token"])
            hook = httpx.post(f"{server.api}/sites/{made['siteId']}/webhooks", headers=headers,
                              json={"triggerType": "ecomm_new_order", "url": receiver.url()}).json()
            place(server, made["siteId"], made["token"])
            receiver.wait_for(1)  # the first attempt fails: the next would be in ten minutes
            attempts = httpx.get(f"{server.api}/webhooks/{hook['id']}/deliveries", headers=headers).json()["deliveries"]
            assert [attempt["statusCode"] for attempt in attempts] == [500]
            queued = httpx.post(f"{server.api}/webhooks/{hook['id']}/deliveries/{attempts[0]['deliveryId']}/redeliver",
                                headers=headers)
            assert queued.status_code == 202, queued.text
            received = receiver.wait_for(3, seconds=5)  # the head's retry, then the redelivery: both now
            assert len({r.headers["x-orderdesk-event-id"] for r in received}) == 1
    finally:
        server.stop()


# --- seed -----------------------------------------------------------------------------------------------------


def test_seed_over_http_writes_the_same_orders_as_orderdesk_seed(sandbox, db):
    from orderdesk.seed.orders import seed_orders

    made, twin = new_site(sandbox), new_site(sandbox)
    seeded = httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/seed", json={"orders": 30, "seed": 5},
                        headers=auth(made["token"]))
    assert (seeded.status_code, seeded.json()) == (200, {"orders": 30})
    seed_orders(db, access.get_site(db, twin["siteId"]), 30, seed=5)  # what `orderdesk seed` does
    ours = httpx.get(f"{sandbox.api}/sites/{made['siteId']}/orders", headers=auth(made["token"])).json()
    theirs = httpx.get(f"{sandbox.api}/sites/{twin['siteId']}/orders", headers=auth(twin["token"])).json()
    assert ours["pagination"]["total"] == 30
    assert [o["orderId"] for o in ours["orders"]] == [o["orderId"] for o in theirs["orders"]]
    assert [o["totals"] for o in ours["orders"]] == [o["totals"] for o in theirs["orders"]]


@pytest.mark.parametrize("body", [{}, {"orders": 0}, {"orders": 10_001}, {"orders": "5"}, {"orders": 5, "x": 1}])
def test_a_bad_seed_is_refused_and_writes_nothing(sandbox, body):
    made = new_site(sandbox)
    refused = httpx.post(f"{sandbox.url}/_orderdesk/sites/{made['siteId']}/seed", json=body, headers=auth(made["token"]))
    assert refused.status_code == 400, refused.text
    total = httpx.get(f"{sandbox.api}/sites/{made['siteId']}/orders", headers=auth(made["token"])).json()
    assert total["pagination"]["total"] == 0



# --- processor faults -----------------------------------------------------------------------------------------


def refund(sandbox, made, order_id: str, amount: float = 1.0) -> httpx.Response:
    return httpx.post(f"{sandbox.api}/sites/{made['siteId']}/refunds", headers=auth(made["token"]),
                      json={"orderId": order_id, "amount": amount, "currency": "USD"})


@pytest.mark.parametrize("outcome, state", [("declined", "failed"), ("pending", "pending"),
                                            ("pending_information", "pending_information")])
def test_a_processor_fault_shapes_the_next_refund_whatever_the_card(sandbox, outcome, state):
    made = new_site(sandbox)
    order = place(sandbox, made["siteId"], made["token"])  # card 4242: a refund would succeed
    fault = add_fault(sandbox, made, operation="processor", outcome=outcome, times=1)
    assert (fault.status_code, fault.json()["outcome"]) == (201, outcome)
    shaped = refund(sandbox, made, order["orderId"])
    assert shaped.status_code == 201, shaped.text
    assert (shaped.json()["state"], shaped.json()["failureReason"]) == \
        (state, "card_declined" if outcome == "declined" else None)
    again = httpx.get(f"{sandbox.api}/sites/{made['siteId']}/refunds/{shaped.json()['id']}", headers=auth(made["token"]))
    assert again.json()["state"] == state  # asked again, the processor answers as it first did
    normal = refund(sandbox, made, order["orderId"])
    assert (normal.status_code, normal.json()["state"]) == (201, "succeeded")
    assert faults_of(sandbox, made)[0]["remaining"] == 0


def test_a_processor_timeout_leaves_the_refund_pending_and_the_api_answers(sandbox):
    made = new_site(sandbox)
    order = place(sandbox, made["siteId"], made["token"])
    assert add_fault(sandbox, made, operation="processor", outcome="timeout", times=1).status_code == 201
    waited = refund(sandbox, made, order["orderId"])
    assert waited.status_code == 201, waited.text
    assert waited.json()["state"] == "pending"


def test_a_request_fault_on_every_operation_leaves_the_processor_alone(sandbox):
    made = new_site(sandbox)
    order = place(sandbox, made["siteId"], made["token"])
    assert add_fault(sandbox, made, operation="*", delayMs=1, times=5).status_code == 201
    assert refund(sandbox, made, order["orderId"]).json()["state"] == "succeeded"



# --- webhook chaos ------------------------------------------------------------------------------------------


@pytest.fixture
def hooked(sandbox):
    """A site with a webhook on new orders to a receiver of the test's own."""
    from tests.webhooks.receiver import Receiver

    with Receiver() as receiver:
        made = new_site(sandbox)
        hook = httpx.post(f"{sandbox.api}/sites/{made['siteId']}/webhooks", headers=auth(made["token"]),
                          json={"triggerType": "ecomm_new_order", "url": receiver.url()}).json()
        yield made, hook, receiver


def attempts_of(sandbox, made, hook) -> list[dict]:
    return httpx.get(f"{sandbox.api}/webhooks/{hook['id']}/deliveries", headers=auth(made["token"])).json()["deliveries"]


def test_duplicate_chaos_delivers_the_event_twice_with_one_event_id(sandbox, hooked):
    made, hook, receiver = hooked
    assert add_fault(sandbox, made, operation="webhook-delivery", chaos="duplicate", times=1).status_code == 201
    place(sandbox, made["siteId"], made["token"])
    place(sandbox, made["siteId"], made["token"])
    received = receiver.wait_for(3)
    ids = [r.headers["x-orderdesk-event-id"] for r in received]
    assert ids[0] == ids[1] != ids[2]  # the first event twice, the next one once
    assert len(set(ids)) == 2


def test_drop_chaos_records_a_500_and_the_retry_delivers(sandbox, hooked):
    made, hook, receiver = hooked
    assert add_fault(sandbox, made, operation="webhook-delivery", chaos="drop", times=1).status_code == 201
    place(sandbox, made["siteId"], made["token"])
    received = receiver.wait_for(1)
    assert len(received) == 1
    attempts = sorted(attempts_of(sandbox, made, hook), key=lambda a: a["attempt"])
    assert [(a["attempt"], a["statusCode"]) for a in attempts] == [(1, 500), (2, 200)]
    assert "sandbox fault" in attempts[0]["error"]


def test_delay_chaos_holds_the_delivery_until_its_retry_time_without_an_attempt(sandbox, hooked):
    import time

    made, hook, receiver = hooked
    assert add_fault(sandbox, made, operation="webhook-delivery", chaos="delay", times=1).status_code == 201
    placed_at = time.monotonic()
    place(sandbox, made["siteId"], made["token"])
    receiver.wait_for(1)
    assert time.monotonic() - placed_at >= 0.2  # the test servers' retry interval
    assert [(a["attempt"], a["statusCode"]) for a in attempts_of(sandbox, made, hook)] == [(1, 200)]
