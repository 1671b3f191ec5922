"""Idempotency-Key over HTTP (BEHAVIOUR.md section 7): a keyed write runs once, its repeats replay it."""

from __future__ import annotations

import json
import threading

import httpx

from orderdesk.services import access, orders
from orderdesk.store.repositories.simulated import SimulatedLedger
from tests.api.test_rate_limits import start_of_a_window
from tests.factories import ALL_SCOPES, make_shop, order_body
from tests.server import start_server

REUSED = (b'{"code":"bad_request","message":"Bad Request: This Idempotency-Key was already used with a '
          b'different request","externalReference":"","details":[]}')
IN_FLIGHT = (b'{"code":"conflict","message":"Conflict: A request with this Idempotency-Key is still being '
             b'processed","externalReference":"","details":[]}')
NOT_AUTHORIZED = b'{"code":"not_authorized","message":"Request not authorized","externalReference":"","details":[]}'


def orders_url(server, shop) -> str:
    return f"{server.api}/sites/{shop.site.id}/orders"


def refunds_url(server, shop) -> str:
    return f"{server.api}/sites/{shop.site.id}/refunds"


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def place(server, shop, key: str, body: dict | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    body = body if body is not None else order_body()
    return httpx.post(orders_url(server, shop), json=body, headers=keyed(headers or shop.headers, key))


def listing(server, shop) -> httpx.Response:
    response = httpx.get(orders_url(server, shop), headers=shop.headers)
    assert response.status_code == 200
    return response


def replayed(response: httpx.Response) -> str | None:
    return response.headers.get("Idempotent-Replayed")


# --- replays ----------------------------------------------------------------------------------------

def test_placing_twice_with_one_key_places_one_order_and_replays_the_first_answer(server, db):
    shop = make_shop(db)

    first = place(server, shop, "place-1")
    second = place(server, shop, "place-1")

    assert (first.status_code, replayed(first)) == (201, None)
    assert (second.status_code, replayed(second)) == (201, "true")
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert listing(server, shop).json()["pagination"]["total"] == 1


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(server, db):
    shop = make_shop(db)
    place(server, shop, "place-1")
    before = listing(server, shop).content

    response = place(server, shop, "place-1", order_body(prices=(999,)))

    assert (response.status_code, response.content, replayed(response)) == (422, REUSED, None)
    assert response.headers["x-request-id"]
    assert listing(server, shop).content == before


def test_the_same_key_on_another_path_is_refused(server, db):
    shop = make_shop(db)
    order_id = place(server, shop, "key-1").json()["orderId"]
    before = httpx.get(f"{orders_url(server, shop)}/{order_id}", headers=shop.headers).content

    response = httpx.post(f"{orders_url(server, shop)}/{order_id}/fulfill", headers=keyed(shop.headers, "key-1"))

    assert (response.status_code, response.content) == (422, REUSED)
    assert httpx.get(f"{orders_url(server, shop)}/{order_id}", headers=shop.headers).content == before


def test_a_key_belongs_to_its_token(server, db):
    shop = make_shop(db)
    other_token, _ = access.create_token(db, shop.site.id, ALL_SCOPES, 0)
    other_headers = {"Authorization": f"Bearer {other_token}"}

    first = place(server, shop, "shared-key")
    second = place(server, shop, "shared-key", headers=other_headers)

    assert (first.status_code, replayed(first)) == (201, None)
    assert (second.status_code, replayed(second)) == (201, None)
    assert first.json()["orderId"] != second.json()["orderId"]
    assert listing(server, shop).json()["pagination"]["total"] == 2


def test_a_keyed_patch_replays_its_first_answer_without_running_again(server, db):
    shop = make_shop(db)
    order_id = place(server, shop, "place-1").json()["orderId"]
    order_url = f"{orders_url(server, shop)}/{order_id}"
    first = httpx.patch(order_url, json={"comment": "first"}, headers=keyed(shop.headers, "patch-1"))
    later = httpx.patch(order_url, json={"comment": "later"}, headers=shop.headers)

    again = httpx.patch(order_url, json={"comment": "first"}, headers=keyed(shop.headers, "patch-1"))

    assert (first.status_code, first.json()["comment"]) == (200, "first")
    assert (again.status_code, replayed(again), again.content) == (200, "true", first.content)
    assert httpx.get(order_url, headers=shop.headers).content == later.content


def test_a_get_ignores_the_header(server, db):
    shop = make_shop(db)
    place(server, shop, "place-1")
    plain = listing(server, shop)

    with_key = httpx.get(orders_url(server, shop), headers=keyed(shop.headers, "place-1"))
    with_long_key = httpx.get(orders_url(server, shop), headers=keyed(shop.headers, "k" * 300))

    assert (with_key.status_code, replayed(with_key), with_key.content) == (200, None, plain.content)
    assert (with_long_key.status_code, replayed(with_long_key), with_long_key.content) == (200, None, plain.content)


# --- concurrency ------------------------------------------------------------------------------------

def test_one_key_sent_by_ten_clients_at_once_refunds_once(server, db):
    shop = make_shop(db)
    order_id = place(server, shop, "place-1").json()["orderId"]
    body = b'{"orderId":"%s","currency":"USD","amount":10.00}' % order_id.encode()
    headers = {**keyed(shop.headers, "refund-1"), "Content-Type": "application/json"}
    start = threading.Barrier(10)
    answers: list[httpx.Response] = []

    def client() -> None:
        start.wait()
        answers.append(httpx.post(refunds_url(server, shop), content=body, headers=headers, timeout=60))

    threads = [threading.Thread(target=client) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = httpx.post(refunds_url(server, shop), content=body, headers=headers)

    # Every client got the refund (made, or replayed once stored) or was told it is in flight.
    assert len(answers) == 10
    made = [answer.content for answer in answers if answer.status_code == 201]
    in_flight = [answer.content for answer in answers if answer.status_code == 409]
    assert len(made) + len(in_flight) == 10
    assert made == [made[0]] * len(made)
    assert in_flight == [IN_FLIGHT] * len(in_flight)
    assert [replayed(answer) for answer in answers if answer.status_code == 201].count(None) == 1
    assert (after.status_code, replayed(after), after.content) == (201, "true", made[0])
    # One refund, asked of the processor once.
    refunds = httpx.get(refunds_url(server, shop), params={"orderId": order_id}, headers=shop.headers).json()["data"]
    assert [(refund["id"], refund["amount"]) for refund in refunds] == [(json.loads(made[0])["id"], 10.00)]
    with db.reading() as connection:
        assert SimulatedLedger(connection).calls(refunds[0]["id"]) == 1


# --- refused keys -----------------------------------------------------------------------------------

def test_a_key_over_255_characters_is_refused_and_nothing_is_placed(server, db):
    shop = make_shop(db)
    message = "must be 1 to 255 characters"

    too_long = place(server, shop, "k" * 256)
    empty = place(server, shop, "")

    expected = {"code": "validation_error", "message": f"Validation Error: Idempotency-Key: {message}",
                "externalReference": "", "details": [{"field": "Idempotency-Key", "message": message}]}
    assert (too_long.status_code, too_long.json()) == (400, expected)
    assert (empty.status_code, empty.json()) == (400, expected)
    assert too_long.headers["x-request-id"]
    assert listing(server, shop).json()["pagination"]["total"] == 0


def test_a_key_of_255_characters_is_accepted(server, db):
    shop = make_shop(db)

    first = place(server, shop, "k" * 255)
    second = place(server, shop, "k" * 255)

    assert (first.status_code, second.status_code, replayed(second)) == (201, 201, "true")
    assert listing(server, shop).json()["pagination"]["total"] == 1


# --- what is kept -----------------------------------------------------------------------------------

def test_a_validation_error_is_replayed_as_stored(server, db):
    shop = make_shop(db)
    body = {**order_body(), "colour": "blue"}

    first = place(server, shop, "bad-1", body)
    second = place(server, shop, "bad-1", body)

    assert (first.status_code, replayed(first)) == (400, None)
    unknown = {"field": "colour", "message": "is not a known field"}
    assert first.json() == {"code": "validation_error", "message": "Validation Error: colour: is not a known field",
                            "externalReference": "", "details": [unknown]}
    assert (second.status_code, replayed(second), second.content) == (400, "true", first.content)


def test_a_401_is_answered_by_the_app_and_never_replayed(server, db):
    shop = make_shop(db)
    stranger = {"Authorization": "Bearer not-a-token"}

    first = place(server, shop, "key-1", headers=stranger)
    second = place(server, shop, "key-1", headers=stranger)

    assert (first.status_code, first.content, replayed(first)) == (401, NOT_AUTHORIZED, None)
    assert (second.status_code, second.content, replayed(second)) == (401, NOT_AUTHORIZED, None)
    assert listing(server, shop).json()["pagination"]["total"] == 0


def test_a_409_is_not_kept_so_a_retry_runs_again(server, db):
    shop = make_shop(db, ecommerce=False)
    refused = b'{"code":"ecommerce_not_enabled","message":"Ecommerce is not yet initialized","externalReference":"",' \
              b'"details":[]}'

    first = place(server, shop, "key-1")
    second = place(server, shop, "key-1")

    assert (first.status_code, first.content, replayed(first)) == (409, refused, None)
    assert (second.status_code, second.content, replayed(second)) == (409, refused, None)


def test_a_stored_answer_survives_a_restart(server, db, database_url):
    shop = make_shop(db)
    first = place(server, shop, "place-1")
    restarted = start_server(database_url)
    try:
        again = place(restarted, shop, "place-1")
        total = listing(restarted, shop).json()["pagination"]["total"]
    finally:
        restarted.stop()

    assert (first.status_code, replayed(first)) == (201, None)
    assert (again.status_code, replayed(again), again.content) == (201, "true", first.content)
    assert total == 1


def test_a_replay_counts_against_the_rate_limit_and_carries_its_headers(server, db):
    shop = make_shop(db, rate_limit=3)
    start_of_a_window()  # the four requests must fall in one minute's window (the CI flake of this stop)

    first = place(server, shop, "limited-1")
    second = place(server, shop, "limited-1")
    reused = place(server, shop, "limited-1", body={**order_body(), "comment": "other"})
    refused = place(server, shop, "limited-1")

    assert [(r.status_code, r.headers.get("X-RateLimit-Remaining")) for r in (first, second, reused, refused)] == [
        (201, "2"), (201, "1"), (422, "0"), (429, "0")]
    assert (second.headers["X-RateLimit-Limit"], replayed(second)) == ("3", "true")
    assert refused.json()["code"] == "too_many_requests"
    assert orders.list_orders(db, shop.site.id, None, 0, 100).total == 1
