"""The official Webflow Python SDK (2.0.0) against a real orderdesk: its four webhook methods parse into
the SDK's models, and every refusal raises the SDK's error class for that status."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from webflow import Pagination, Webhook, WebhookFilter, WebhookList
from webflow.core.api_error import ApiError
from webflow.errors import BadRequestError, NotFoundError, UnauthorizedError

from orderdesk.services import access, webhooks
from tests.contract.test_sdk import NO_RETRY, envelope, error_body, sdk  # noqa: F401 - `sdk` is a fixture
from tests.factories import make_shop

# A global address written as an IP literal: accepted without DNS, and never delivered to (these
# tests place no orders).
PUBLIC_URL = "https://93.184.215.14/hook"
TRIGGERS = "ecomm_new_order, ecomm_order_changed, ecomm_refund_changed"


def stored(db, shop) -> list[tuple[str, str, str]]:
    """The site's webhooks as stored, read without a token: (id, trigger, url)."""
    return [(row.id, row.trigger_type, row.url) for row in webhooks.list_webhooks(db, shop.site.id, 0, 100).webhooks]


def test_create_parses_into_a_webhook_with_the_secret_as_an_extra_field(db, sdk):
    shop = make_shop(db)
    client = sdk(shop.token)
    workspace_id = client.sites.get(shop.site.id).workspace_id

    webhook = client.webhooks.create(shop.site.id, trigger_type="ecomm_new_order", url=PUBLIC_URL)

    assert isinstance(webhook, Webhook)
    assert (webhook.trigger_type, webhook.url, webhook.site_id, webhook.workspace_id) == (
        "ecomm_new_order", PUBLIC_URL, shop.site.id, workspace_id)
    assert webhook.filter == WebhookFilter()
    assert isinstance(webhook.created_on, datetime)
    assert webhook.last_triggered == webhook.created_on
    # Fields the SDK does not know stay on the model as extras: our `active`, and the secret, shown once.
    assert webhook.model_extra.keys() == {"active", "secretKey"}
    assert webhook.model_extra["active"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", webhook.model_extra["secretKey"])
    assert stored(db, shop) == [(webhook.id, "ecomm_new_order", PUBLIC_URL)]


def test_list_and_get_parse_and_never_show_the_secret(db, sdk):
    shop = make_shop(db)
    client = sdk(shop.token)
    first = client.webhooks.create(shop.site.id, trigger_type="ecomm_new_order", url=PUBLIC_URL)
    second = client.webhooks.create(shop.site.id, trigger_type="ecomm_order_changed", url=PUBLIC_URL + "/changed")

    listed = client.webhooks.list(shop.site.id)
    fetched = client.webhooks.get(second.id)

    assert isinstance(listed, WebhookList)
    assert listed.pagination == Pagination(limit=100, offset=0, total=2)
    assert [(w.id, w.trigger_type, w.url) for w in listed.webhooks] == [
        (first.id, "ecomm_new_order", PUBLIC_URL), (second.id, "ecomm_order_changed", PUBLIC_URL + "/changed")]
    assert isinstance(fetched, Webhook)
    assert fetched == listed.webhooks[1]
    for webhook in (*listed.webhooks, fetched):
        assert webhook.model_extra == {"active": True}
    assert fetched.model_dump() == second.model_dump(exclude={"secretKey"})  # the answer to create, less its secret


def test_delete_returns_none_and_the_webhook_is_gone(db, sdk):
    shop = make_shop(db)
    client = sdk(shop.token)
    kept = client.webhooks.create(shop.site.id, trigger_type="ecomm_new_order", url=PUBLIC_URL)
    removed = client.webhooks.create(shop.site.id, trigger_type="ecomm_new_order", url=PUBLIC_URL)

    answer = client.webhooks.delete(removed.id)

    assert answer is None
    assert stored(db, shop) == [(kept.id, "ecomm_new_order", PUBLIC_URL)]
    with pytest.raises(NotFoundError) as refused:
        client.webhooks.get(removed.id, request_options=NO_RETRY)
    assert error_body(refused.value) == envelope(
        "resource_not_found", "Requested resource not found: The webhook cannot be found")


# --- refusals: each raises the SDK's error class, and nothing changes -----------------------------------


@pytest.mark.parametrize(("fields", "expected"), [
    ({"trigger_type": "form_submission", "url": PUBLIC_URL},
     envelope("unsupported_webhook_trigger_type",
              f"Bad Request: orderdesk does not send form_submission webhooks; it sends {TRIGGERS}")),
    ({"trigger_type": "ecomm_inventory_changed", "url": PUBLIC_URL},
     envelope("unsupported_webhook_trigger_type",
              f"Bad Request: orderdesk does not send ecomm_inventory_changed webhooks; it sends {TRIGGERS}")),
    ({"trigger_type": "order_placed", "url": PUBLIC_URL},
     envelope("validation_error", f"Validation Error: triggerType: must be one of {TRIGGERS}",
              [{"field": "triggerType", "message": f"must be one of {TRIGGERS}"}])),
    ({"trigger_type": "ecomm_new_order", "url": "ftp://93.184.215.14/hook"},
     envelope("validation_error", "Validation Error: url: must be an absolute http(s) URL",
              [{"field": "url", "message": "must be an absolute http(s) URL"}])),
    ({"trigger_type": "ecomm_new_order", "url": PUBLIC_URL, "filter": WebhookFilter(name="Email Form")},
     envelope("incompatible_webhook_filter", "Bad Request: Order webhooks take no filter")),
    ({"trigger_type": "ecomm_new_order", "url": PUBLIC_URL, "id": "582266e0cd48de0f0e3c6d8b"},
     envelope("validation_error", "Validation Error: id: is not a known field",
              [{"field": "id", "message": "is not a known field"}])),
], ids=["form_submission", "ecomm_inventory_changed", "unknown trigger", "ftp url", "filter", "read-only id"])
def test_a_create_orderdesk_refuses_is_a_bad_request(db, sdk, fields, expected):
    shop = make_shop(db)

    with pytest.raises(BadRequestError) as refused:
        sdk(shop.token).webhooks.create(shop.site.id, **fields, request_options=NO_RETRY)

    assert refused.value.status_code == 400
    assert error_body(refused.value) == expected
    assert stored(db, shop) == []


@pytest.mark.parametrize("method", ["get", "delete"])
def test_another_sites_webhook_is_not_found(db, sdk, method):
    shop, other = make_shop(db), make_shop(db)
    theirs = sdk(other.token).webhooks.create(other.site.id, trigger_type="ecomm_new_order", url=PUBLIC_URL)

    with pytest.raises(NotFoundError) as refused:
        getattr(sdk(shop.token).webhooks, method)(theirs.id, request_options=NO_RETRY)

    assert refused.value.status_code == 404
    assert error_body(refused.value) == envelope(
        "resource_not_found", "Requested resource not found: The webhook cannot be found")
    assert stored(db, other) == [(theirs.id, "ecomm_new_order", PUBLIC_URL)]


@pytest.mark.parametrize("method", ["list", "create"])
def test_another_sites_webhook_list_is_not_found(db, sdk, method):
    shop, other = make_shop(db), make_shop(db)
    client = sdk(shop.token)
    call = {
        "list": lambda: client.webhooks.list(other.site.id, request_options=NO_RETRY),
        "create": lambda: client.webhooks.create(other.site.id, trigger_type="ecomm_new_order", url=PUBLIC_URL,
                                                 request_options=NO_RETRY),
    }[method]

    with pytest.raises(NotFoundError) as refused:
        call()

    assert error_body(refused.value) == envelope(
        "resource_not_found", "Requested resource not found: The site cannot be found")
    assert stored(db, other) == []


# The spec lists no 403 for the webhook operations, so the SDK has no typed error for it there: a
# missing scope reaches the caller as the SDK's base ApiError, with our envelope as its body.
@pytest.mark.parametrize(("scopes", "method", "needed"), [
    (["sites:read", "ecommerce:write"], "create", "sites:write"),
    (["sites:read", "ecommerce:write"], "delete", "sites:write"),
    (["ecommerce:read", "ecommerce:write"], "list", "sites:read"),
    (["ecommerce:read", "ecommerce:write"], "get", "sites:read"),
])
def test_a_token_without_the_sites_scope_is_forbidden(db, sdk, scopes, method, needed):
    shop = make_shop(db)
    existing = sdk(shop.token).webhooks.create(shop.site.id, trigger_type="ecomm_new_order", url=PUBLIC_URL)
    narrower, _ = access.create_token(db, shop.site.id, scopes, 0)
    client = sdk(narrower)
    call = {
        "create": lambda: client.webhooks.create(shop.site.id, trigger_type="ecomm_order_changed", url=PUBLIC_URL,
                                                 request_options=NO_RETRY),
        "delete": lambda: client.webhooks.delete(existing.id, request_options=NO_RETRY),
        "list": lambda: client.webhooks.list(shop.site.id, request_options=NO_RETRY),
        "get": lambda: client.webhooks.get(existing.id, request_options=NO_RETRY),
    }[method]

    with pytest.raises(ApiError) as refused:
        call()

    assert type(refused.value) is ApiError
    assert refused.value.status_code == 403
    assert refused.value.body == envelope(
        "missing_scopes", f"OAuthForbidden: You are missing the following scopes - {needed}")
    assert stored(db, shop) == [(existing.id, "ecomm_new_order", PUBLIC_URL)]


def test_an_unknown_token_is_not_authorized(db, sdk):
    shop = make_shop(db)
    existing = sdk(shop.token).webhooks.create(shop.site.id, trigger_type="ecomm_new_order", url=PUBLIC_URL)

    with pytest.raises(UnauthorizedError) as refused:
        sdk("0" * 64).webhooks.delete(existing.id, request_options=NO_RETRY)

    assert refused.value.status_code == 401
    assert error_body(refused.value) == envelope("not_authorized", "Request not authorized")
    assert stored(db, shop) == [(existing.id, "ecomm_new_order", PUBLIC_URL)]
