"""Webhooks over HTTP (BEHAVIOUR.md section 6): Webflow's four management endpoints, our deliveries,
redeliver and reactivate extensions, and real deliveries to a real receiver."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from orderdesk.domain.webhooks import WebhookRow
from orderdesk.services import access, webhooks
from orderdesk.store.engine import create_engine
from orderdesk.store.database import Database
from tests.factories import make_shop, order_body
from tests.server import RunningServer, start_server
from tests.webhooks.receiver import Receiver

# A global address written as an IP literal: accepted without DNS, and never delivered to (no test
# places an order on a site whose webhooks point there).
PUBLIC_URL = "https://93.184.215.14/hook"
WEBHOOK_FIELDS = {"id", "triggerType", "url", "workspaceId", "siteId", "filter", "lastTriggered", "createdOn", "active"}
TRIGGERS = "ecomm_new_order, ecomm_order_changed, ecomm_refund_changed"
WEBHOOK_NOT_FOUND = "Requested resource not found: The webhook cannot be found"
DELIVERY_NOT_FOUND = "Requested resource not found: The delivery cannot be found"


def refusal(code: str, message: str, details: list[dict] | None = None) -> dict:
    return {"code": code, "message": message, "externalReference": "", "details": details or []}


def invalid(field: str, message: str) -> dict:
    return refusal("validation_error", f"Validation Error: {field}: {message}", [{"field": field, "message": message}])


def create(server: RunningServer, shop, trigger: object = "ecomm_new_order", url: object = PUBLIC_URL,
           **extra) -> httpx.Response:
    body = {"triggerType": trigger, "url": url, **extra}
    return httpx.post(f"{server.api}/sites/{shop.site.id}/webhooks", json=body, headers=shop.headers)


def created(server: RunningServer, shop, **kwargs) -> dict:
    response = create(server, shop, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


def without_secret_key(webhook: dict) -> dict:
    return {key: value for key, value in webhook.items() if key != "secretKey"}


def stored(db: Database, shop) -> list[WebhookRow]:
    """The site's webhooks as stored, read without a token."""
    return webhooks.list_webhooks(db, shop.site.id, 0, 100).webhooks


def webhook_url(server: RunningServer, webhook_id: str, action: str = "") -> str:
    return f"{server.api}/webhooks/{webhook_id}{action}"


def place(server: RunningServer, shop) -> dict:
    response = httpx.post(f"{server.api}/sites/{shop.site.id}/orders", json=order_body(), headers=shop.headers)
    assert response.status_code == 201, response.text
    return response.json()


def wait_for(check: Callable[[], object], what: str, seconds: float = 20) -> object:
    """`check()`'s first truthy answer, polled until the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def attempts_once(server: RunningServer, shop, webhook_id: str, count: int) -> list[dict]:
    """The webhook's delivery attempts, once `count` are recorded (the worker records one after the answer)."""
    def listed() -> list[dict] | None:
        response = httpx.get(webhook_url(server, webhook_id, "/deliveries"), headers=shop.headers)
        assert response.status_code == 200, response.text
        deliveries = response.json()["deliveries"]
        return deliveries if len(deliveries) >= count else None

    return wait_for(listed, f"{count} delivery attempts")


@pytest.fixture(scope="module")
def strict_server(database_url) -> Iterator[RunningServer]:
    """A server with the default setting, refusing private addresses. It runs no delivery worker: on the
    shared database it would claim, and fail, other tests' deliveries to their loopback receivers."""
    running = start_server(database_url, env={"ORDERDESK_WEBHOOK_ALLOW_PRIVATE": "false",
                                              "ORDERDESK_DELIVERY_WORKER": "false"})
    yield running
    running.stop()


@pytest.fixture
def isolated(fresh_database_url) -> Iterator[Callable[..., tuple[RunningServer, Database]]]:
    """Starts a server delivering to loopback, on a database of the test's own, so that its worker sends
    only this test's events and no other server's worker (with other retry settings) sends them."""
    database = Database(create_engine(fresh_database_url))
    started: list[RunningServer] = []

    def start(**env: str) -> tuple[RunningServer, Database]:
        running = start_server(fresh_database_url, env={"ORDERDESK_WEBHOOK_ALLOW_PRIVATE": "true", **env})
        started.append(running)
        return running, database

    yield start
    for running in started:
        running.stop()
    database.dispose()


# --- create, list, get, delete ------------------------------------------------------------------------


def test_create_answers_201_with_the_webhook_and_its_secret_shown_once(server, db):
    shop = make_shop(db)
    workspace_id = httpx.get(f"{server.api}/sites/{shop.site.id}", headers=shop.headers).json()["workspaceId"]

    response = create(server, shop, trigger="ecomm_order_changed")

    webhook = response.json()
    assert response.status_code == 201
    assert webhook.keys() == WEBHOOK_FIELDS | {"secretKey"}
    assert re.fullmatch(r"[0-9a-f]{24}", webhook["id"])
    assert re.fullmatch(r"[0-9a-f]{64}", webhook["secretKey"])
    assert {key: webhook[key] for key in ("triggerType", "url", "workspaceId", "siteId", "filter", "active")} == {
        "triggerType": "ecomm_order_changed", "url": PUBLIC_URL, "workspaceId": workspace_id, "siteId": shop.site.id,
        "filter": {}, "active": True,
    }
    assert webhook["lastTriggered"] == webhook["createdOn"]  # never triggered; the spec does not allow null
    (row,) = stored(db, shop)
    assert (row.id, row.secret_key) == (webhook["id"], webhook["secretKey"])


def test_get_and_list_show_the_webhook_without_its_secret(server, db):
    shop = make_shop(db)
    first = created(server, shop)
    second = created(server, shop, trigger="ecomm_refund_changed")

    fetched = httpx.get(webhook_url(server, first["id"]), headers=shop.headers)
    listed = httpx.get(f"{server.api}/sites/{shop.site.id}/webhooks", headers=shop.headers)

    without_secret = [without_secret_key(webhook) for webhook in (first, second)]
    assert fetched.status_code == 200
    assert fetched.json() == without_secret[0]
    assert listed.status_code == 200
    assert listed.json() == {"webhooks": without_secret, "pagination": {"limit": 100, "offset": 0, "total": 2}}


def test_list_pages_with_offset_and_limit_and_caps_the_limit_at_100(server, db):
    shop = make_shop(db)
    ids = [created(server, shop)["id"] for _ in range(3)]
    site_webhooks = f"{server.api}/sites/{shop.site.id}/webhooks"

    middle = httpx.get(site_webhooks, params={"offset": 1, "limit": 1}, headers=shop.headers).json()
    capped = httpx.get(site_webhooks, params={"limit": 500}, headers=shop.headers).json()
    past_the_end = httpx.get(site_webhooks, params={"offset": 3}, headers=shop.headers).json()

    assert ([webhook["id"] for webhook in middle["webhooks"]], middle["pagination"]) == (
        ids[1:2], {"limit": 1, "offset": 1, "total": 3})
    assert ([webhook["id"] for webhook in capped["webhooks"]], capped["pagination"]) == (
        ids, {"limit": 100, "offset": 0, "total": 3})
    assert past_the_end == {"webhooks": [], "pagination": {"limit": 100, "offset": 3, "total": 3}}


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"limit": 0}, "limit", "must be at least 1"),
    ({"offset": -1}, "offset", "must be at least 0"),
    ({"limit": "ten"}, "limit", "must be an integer"),
])
def test_a_bad_list_query_is_a_validation_error(server, db, params, field, message):
    shop = make_shop(db)

    response = httpx.get(f"{server.api}/sites/{shop.site.id}/webhooks", params=params, headers=shop.headers)

    assert response.status_code == 400
    assert response.json() == invalid(field, message)


def test_delete_answers_204_with_no_body_and_the_webhook_is_gone(server, db):
    shop = make_shop(db)
    kept, removed = created(server, shop), created(server, shop)

    response = httpx.delete(webhook_url(server, removed["id"]), headers=shop.headers)

    assert (response.status_code, response.content) == (204, b"")
    assert [row.id for row in stored(db, shop)] == [kept["id"]]
    for again in (httpx.get, httpx.delete):
        answer = again(webhook_url(server, removed["id"]), headers=shop.headers)
        assert answer.status_code == 404
        assert answer.json() == refusal("resource_not_found", WEBHOOK_NOT_FOUND)


# --- refused creations: each leaves nothing behind -----------------------------------------------------


def test_a_site_holds_at_most_75_webhooks_per_trigger(server, db):
    shop = make_shop(db)
    for _ in range(75):
        created(server, shop)

    refused = create(server, shop)
    other_trigger = create(server, shop, trigger="ecomm_order_changed")

    assert refused.status_code == 400
    assert refused.json() == invalid("triggerType", "a site has at most 75 webhooks for ecomm_new_order")
    assert other_trigger.status_code == 201
    assert [row.trigger_type for row in stored(db, shop)].count("ecomm_new_order") == 75


@pytest.mark.parametrize("trigger", ["form_submission", "ecomm_inventory_changed", "collection_item_created"])
def test_a_trigger_webflow_has_but_orderdesk_does_not_send_is_unsupported(server, db, trigger):
    shop = make_shop(db)

    response = create(server, shop, trigger=trigger)

    assert response.status_code == 400
    assert response.json() == refusal(
        "unsupported_webhook_trigger_type",
        f"Bad Request: orderdesk does not send {trigger} webhooks; it sends {TRIGGERS}")
    assert stored(db, shop) == []


@pytest.mark.parametrize("trigger", ["ecomm_new_orders", "", None, 42])
def test_an_unknown_trigger_is_a_validation_error(server, db, trigger):
    shop = make_shop(db)

    response = create(server, shop, trigger=trigger)

    assert response.status_code == 400
    assert response.json() == invalid("triggerType", f"must be one of {TRIGGERS}")
    assert stored(db, shop) == []


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://93.184.215.14/hook", "must be an absolute http(s) URL"),
    ("/hook", "must be an absolute http(s) URL"),
    (None, "must be an absolute http(s) URL"),
    (["https://93.184.215.14/hook"], "must be an absolute http(s) URL"),
    ("https://93.184.215.14/" + "a" * 2048, "must be an absolute http(s) URL"),
    ("https://user:secret@93.184.215.14/hook", "must not carry credentials"),
    ("http://10.0.0.1/hook", "resolves to a private, loopback or link-local address (10.0.0.1)"),
    ("http://127.0.0.1:8000/hook", "resolves to a private, loopback or link-local address (127.0.0.1)"),
    ("http://localhost:8000/hook", "resolves to a private, loopback or link-local address (127.0.0.1)"),
    ("http://169.254.169.254/latest", "resolves to a private, loopback or link-local address (169.254.169.254)"),
    ("http://[::1]/hook", "resolves to a private, loopback or link-local address (::1)"),
    ("https://93.184.215.14:99999/hook", "has a port that is not a number from 0 to 65535"),
], ids=["ftp", "relative", "null", "array", "too long", "credentials", "private", "loopback", "localhost",
        "link-local", "ipv6 loopback", "bad port"])
def test_a_url_webhooks_may_not_go_to_is_refused_with_the_default_settings(strict_server, db, url, message):
    shop = make_shop(db)

    response = create(strict_server, shop, url=url)

    assert response.status_code == 400
    assert response.json() == invalid("url", message)
    assert stored(db, shop) == []


def test_a_missing_url_is_a_validation_error(server, db):
    shop = make_shop(db)

    response = httpx.post(f"{server.api}/sites/{shop.site.id}/webhooks", json={"triggerType": "ecomm_new_order"},
                          headers=shop.headers)

    assert response.status_code == 400
    assert response.json() == invalid("url", "must be an absolute http(s) URL")
    assert stored(db, shop) == []


def test_a_filter_is_incompatible_with_order_webhooks(server, db):
    shop = make_shop(db)

    response = create(server, shop, filter={"name": "Email Form"})

    assert response.status_code == 400
    assert response.json() == refusal("incompatible_webhook_filter", "Bad Request: Order webhooks take no filter")
    assert stored(db, shop) == []


@pytest.mark.parametrize("empty", [None, {}], ids=["null", "empty object"])
def test_an_empty_filter_is_no_filter(server, db, empty):
    # Webflow's own examples send `filter: null`.
    shop = make_shop(db)

    response = create(server, shop, filter=empty)

    assert (response.status_code, response.json()["filter"]) == (201, {})


def test_unknown_body_fields_are_a_validation_error_naming_each(server, db):
    shop = make_shop(db)

    response = create(server, shop, secretKey="0" * 64, active=False)

    assert response.status_code == 400
    assert response.json() == refusal(
        "validation_error", "Validation Error: secretKey: is not a known field; active: is not a known field",
        [{"field": "secretKey", "message": "is not a known field"},
         {"field": "active", "message": "is not a known field"}])
    assert stored(db, shop) == []


@pytest.mark.parametrize(("content", "content_type", "expected"), [
    (b'{"triggerType":', "application/json", refusal("bad_request", "Bad Request: Request is malformed")),
    (b'["ecomm_new_order"]', "application/json", invalid("body", "must be a JSON object")),
    (b"triggerType=ecomm_new_order", "application/x-www-form-urlencoded",
     refusal("bad_request", "Bad Request: Request is malformed (send Content-Type: application/json)")),
], ids=["malformed", "array", "form"])
def test_a_body_that_is_not_a_json_object_is_refused(server, db, content, content_type, expected):
    shop = make_shop(db)

    response = httpx.post(f"{server.api}/sites/{shop.site.id}/webhooks", content=content,
                          headers={**shop.headers, "Content-Type": content_type})

    assert response.status_code == 400
    assert response.json() == expected
    assert stored(db, shop) == []


# --- who may do what ----------------------------------------------------------------------------------


def calls(server: RunningServer, site_id: str, webhook_id: str) -> dict[str, tuple[str, str, str]]:
    """Every webhook endpoint: (method, URL, scope it needs)."""
    return {
        "create": ("POST", f"{server.api}/sites/{site_id}/webhooks", "sites:write"),
        "list": ("GET", f"{server.api}/sites/{site_id}/webhooks", "sites:read"),
        "get": ("GET", webhook_url(server, webhook_id), "sites:read"),
        "delete": ("DELETE", webhook_url(server, webhook_id), "sites:write"),
        "deliveries": ("GET", webhook_url(server, webhook_id, "/deliveries"), "sites:read"),
        "redeliver": ("POST", webhook_url(server, webhook_id, "/deliveries/1/redeliver"), "sites:write"),
        "reactivate": ("POST", webhook_url(server, webhook_id, "/reactivate"), "sites:write"),
    }


WRITES = ["create", "delete", "redeliver", "reactivate"]
READS = ["list", "get", "deliveries"]
CREATE_BODY = {"triggerType": "ecomm_new_order", "url": PUBLIC_URL}


@pytest.mark.parametrize(("endpoint", "scopes"), [
    *((endpoint, ["ecommerce:read", "ecommerce:write"]) for endpoint in READS + WRITES),
    *((endpoint, ["sites:read", "ecommerce:write"]) for endpoint in WRITES),
])
def test_a_token_without_the_sites_scope_is_forbidden(server, db, endpoint, scopes):
    owner = make_shop(db)
    webhook = created(server, owner)
    narrower, _ = access.create_token(db, owner.site.id, scopes, 0)
    method, url, needed = calls(server, owner.site.id, webhook["id"])[endpoint]

    response = httpx.request(method, url, json=CREATE_BODY if endpoint == "create" else None,
                             headers={"Authorization": f"Bearer {narrower}"})

    assert response.status_code == 403
    assert response.json() == refusal(
        "missing_scopes", f"OAuthForbidden: You are missing the following scopes - {needed}")
    assert [(row.id, row.deactivated_on) for row in stored(db, owner)] == [(webhook["id"], None)]


@pytest.mark.parametrize("endpoint", READS + WRITES)
def test_another_sites_webhook_is_not_found(server, db, endpoint):
    # A token never learns of another site's webhooks, nor of the site: the same 404 as a missing one.
    owner, intruder = make_shop(db), make_shop(db)
    webhook = created(server, owner)
    method, url, _ = calls(server, owner.site.id, webhook["id"])[endpoint]
    site_level = endpoint in ("create", "list")

    response = httpx.request(method, url, json=CREATE_BODY if endpoint == "create" else None, headers=intruder.headers)

    assert response.status_code == 404
    assert response.json() == refusal(
        "resource_not_found",
        "Requested resource not found: The site cannot be found" if site_level else WEBHOOK_NOT_FOUND)
    assert [(row.id, row.deactivated_on) for row in stored(db, owner)] == [(webhook["id"], None)]
    assert stored(db, intruder) == []


@pytest.mark.parametrize("endpoint", READS + WRITES)
def test_no_token_is_not_authorized(server, db, endpoint):
    owner = make_shop(db)
    webhook = created(server, owner)
    method, url, _ = calls(server, owner.site.id, webhook["id"])[endpoint]

    response = httpx.request(method, url, json=CREATE_BODY if endpoint == "create" else None)

    assert response.status_code == 401
    assert response.json() == refusal("not_authorized", "Request not authorized")
    assert [row.id for row in stored(db, owner)] == [webhook["id"]]


# --- deliveries, redeliver, reactivate --------------------------------------------------------------------


def test_a_webhook_never_triggered_has_no_deliveries(server, db):
    shop = make_shop(db)
    webhook = created(server, shop)

    response = httpx.get(webhook_url(server, webhook["id"], "/deliveries"), headers=shop.headers)

    assert (response.status_code, response.json()) == (200, {"deliveries": []})


@pytest.mark.parametrize(("limit", "message"), [
    ("0", "must be at least 1"), ("101", "must be at most 100"), ("x", "must be an integer"),
])
def test_the_deliveries_limit_is_1_to_100(server, db, limit, message):
    shop = make_shop(db)
    webhook = created(server, shop)

    response = httpx.get(webhook_url(server, webhook["id"], "/deliveries"), params={"limit": limit},
                         headers=shop.headers)

    assert response.status_code == 400
    assert response.json() == invalid("limit", message)


@pytest.mark.parametrize("delivery_id", ["1", "abc", "-1", "99999999999999999999"])
def test_redelivering_a_delivery_the_webhook_does_not_have_is_not_found(server, db, delivery_id):
    shop = make_shop(db)
    webhook = created(server, shop)

    response = httpx.post(webhook_url(server, webhook["id"], f"/deliveries/{delivery_id}/redeliver"),
                          headers=shop.headers)

    assert response.status_code == 404
    assert response.json() == refusal("resource_not_found", DELIVERY_NOT_FOUND)
    assert httpx.get(webhook_url(server, webhook["id"], "/deliveries"), headers=shop.headers).json() == {
        "deliveries": []}


def test_reactivating_an_active_webhook_changes_nothing(server, db):
    shop = make_shop(db)
    webhook = created(server, shop)
    before = stored(db, shop)

    response = httpx.post(webhook_url(server, webhook["id"], "/reactivate"), headers=shop.headers)

    assert response.status_code == 200
    assert response.json() == without_secret_key(webhook)
    assert stored(db, shop) == before


def test_a_delivered_event_is_listed_with_the_receivers_answer(isolated):
    server, db = isolated()
    shop = make_shop(db)
    with Receiver() as receiver:
        webhook = created(server, shop, url=receiver.url())
        order = place(server, shop)
        (received,) = receiver.wait_for(1)
        (attempt,) = attempts_once(server, shop, webhook["id"], 1)

    stored_order = httpx.get(f"{server.api}/sites/{shop.site.id}/orders/{order['orderId']}", headers=shop.headers)
    assert json.loads(received.body) == {"triggerType": "ecomm_new_order", "payload": stored_order.json()}
    assert re.fullmatch(r"[0-9]+", attempt["id"]) and re.fullmatch(r"[0-9]+", attempt["deliveryId"])
    assert isinstance(attempt["durationMs"], int)  # how long the receiver took: the one value not fixed here
    assert attempt == {
        "id": attempt["id"], "deliveryId": attempt["deliveryId"], "eventId": received.headers["x-orderdesk-event-id"],
        "triggerType": "ecomm_new_order", "attempt": 1, "statusCode": 200, "durationMs": attempt["durationMs"],
        "error": None, "createdOn": attempt["createdOn"],
    }
    # A successful delivery is when the webhook was last triggered.
    fetched = httpx.get(webhook_url(server, webhook["id"]), headers=shop.headers).json()
    assert (fetched["lastTriggered"], fetched["createdOn"]) == (attempt["createdOn"], webhook["createdOn"])


def test_redeliver_sends_the_same_event_again_as_a_new_delivery(isolated):
    server, db = isolated()
    shop = make_shop(db)
    with Receiver() as receiver:
        webhook = created(server, shop, url=receiver.url())
        place(server, shop)
        receiver.wait_for(1)
        (first,) = attempts_once(server, shop, webhook["id"], 1)

        response = httpx.post(webhook_url(server, webhook["id"], f"/deliveries/{first['deliveryId']}/redeliver"),
                              headers=shop.headers)
        original, again = receiver.wait_for(2)
        newest, oldest = attempts_once(server, shop, webhook["id"], 2)

    assert response.status_code == 202
    queued = response.json()
    assert queued.keys() == {"deliveryId"}
    assert queued["deliveryId"] != first["deliveryId"]
    assert again.body == original.body
    assert again.headers["x-orderdesk-event-id"] == original.headers["x-orderdesk-event-id"] == first["eventId"]
    assert oldest == first
    assert (newest["deliveryId"], newest["eventId"], newest["attempt"], newest["statusCode"]) == (
        queued["deliveryId"], first["eventId"], 1, 200)


def inactive(server: RunningServer, shop, webhook_id: str) -> dict | None:
    """The webhook, if it is inactive."""
    webhook = httpx.get(webhook_url(server, webhook_id), headers=shop.headers).json()
    return webhook if webhook["active"] is False else None


def test_a_webhook_whose_deliveries_keep_failing_is_deactivated_until_reactivated(isolated):
    server, db = isolated(ORDERDESK_WEBHOOK_RETRY_INTERVAL="0.2", ORDERDESK_WEBHOOK_RETRIES="1")
    shop = make_shop(db)
    with Receiver() as receiver:
        receiver.answers = [500, 500]  # the first attempt and its one retry; 200 after that
        webhook = created(server, shop, url=receiver.url())
        place(server, shop)
        receiver.wait_for(2)
        deactivated = wait_for(lambda: inactive(server, shop, webhook["id"]), "the webhook to be deactivated")
        failed = attempts_once(server, shop, webhook["id"], 2)

        reactivated = httpx.post(webhook_url(server, webhook["id"], "/reactivate"), headers=shop.headers)
        later_order = place(server, shop)
        *_, after = receiver.wait_for(3)
        latest = attempts_once(server, shop, webhook["id"], 3)[0]

    assert [(a["attempt"], a["statusCode"], a["error"]) for a in failed] == [(2, 500, "HTTP 500"), (1, 500, "HTTP 500")]
    assert failed[0]["deliveryId"] == failed[1]["deliveryId"]
    assert reactivated.status_code == 200
    assert reactivated.json() == {**deactivated, "active": True}
    assert json.loads(after.body)["payload"]["orderId"] == later_order["orderId"]
    assert (latest["attempt"], latest["statusCode"]) == (1, 200)
