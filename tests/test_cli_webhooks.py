"""`orderdesk webhooks ...` run as a user would: what scripts read goes alone on stdout, tables and
messages on stderr; refusals are one line and exit 1. Deliveries are real: the worker's Deliverer
posts to a real receiver."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from orderdesk.config import Settings
from orderdesk.services import webhooks
from orderdesk.store.engine import create_engine
from orderdesk.store.migrate import upgrade
from orderdesk.store.database import Database
from orderdesk.webhooks.delivery import Deliverer
from tests.factories import Shop, make_shop, place
from tests.webhooks.receiver import Receiver

PUBLIC_URL = "https://93.184.215.14/hook"  # an IP literal: no DNS; never delivered to here


def orderdesk(*args: str, database: str, columns: int = 200) -> subprocess.CompletedProcess:
    """The command, with tables as wide as a roomy terminal's (`columns`) so that no cell wraps."""
    # The operator's own ORDERDESK_WEBHOOK_ALLOW_PRIVATE would change what `create` accepts.
    environment = {key: value for key, value in os.environ.items() if key != "ORDERDESK_WEBHOOK_ALLOW_PRIVATE"}
    environment["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "orderdesk", *args, "--database", database],
                          capture_output=True, text=True, timeout=120, env=environment)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = create_engine(url, pool_size=1)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def db(sqlite_url) -> Iterator[Database]:
    database = Database(create_engine(sqlite_url))
    yield database
    database.dispose()


@pytest.fixture
def shop(db) -> Shop:
    return make_shop(db)


def deliver_due(db: Database, retries: int = 3) -> int:
    """One pass of the delivery worker, as `orderdesk worker` runs it, allowed to reach loopback."""
    deliverer = Deliverer(db, Settings(webhook_allow_private=True, webhook_retries=retries))
    try:
        return deliverer.deliver_due()
    finally:
        deliverer.close()


def test_create_prints_the_id_alone_and_the_secret_once_on_stderr(sqlite_url, db, shop):
    result = orderdesk("webhooks", "create", "--site", shop.site.id, "--trigger", "ecomm_order_changed",
                       "--url", PUBLIC_URL, database=sqlite_url)

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"[0-9a-f]{24}\n", result.stdout)
    webhook = webhooks.get_webhook(db, shop.site.id, result.stdout.strip())
    assert (webhook.trigger_type, webhook.url) == ("ecomm_order_changed", PUBLIC_URL)
    assert f"signing secret: {webhook.secret_key}\n" in result.stderr
    assert "store it now: it signs every delivery (x-webflow-signature) and is not shown again" in result.stderr


def test_a_loopback_url_is_refused_unless_allowed(sqlite_url, db, shop):
    arguments = ("webhooks", "create", "--site", shop.site.id, "--trigger", "ecomm_new_order",
                 "--url", "http://127.0.0.1:8000/hook")

    refused = orderdesk(*arguments, database=sqlite_url)
    allowed = orderdesk(*arguments, "--allow-private", database=sqlite_url)

    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == ("error: Validation Error: url: resolves to a private, loopback or link-local address "
                              "(127.0.0.1) (--allow-private lets it through)\n")
    assert allowed.returncode == 0, allowed.stderr
    assert [row.id for row in webhooks.list_webhooks(db, shop.site.id, 0, 100).webhooks] == [allowed.stdout.strip()]
    assert ("note: the server delivers to private addresses only with ORDERDESK_WEBHOOK_ALLOW_PRIVATE=true "
            "(`orderdesk demo` sets it)") in allowed.stderr


@pytest.mark.parametrize(("trigger", "message"), [
    ("form_submission", "Bad Request: orderdesk does not send form_submission webhooks; it sends ecomm_new_order, "
                        "ecomm_order_changed, ecomm_refund_changed"),
    ("order_placed", "Validation Error: triggerType: must be one of ecomm_new_order, ecomm_order_changed, "
                     "ecomm_refund_changed"),
])
def test_a_trigger_orderdesk_does_not_send_is_refused(sqlite_url, db, shop, trigger, message):
    result = orderdesk("webhooks", "create", "--site", shop.site.id, "--trigger", trigger, "--url", PUBLIC_URL,
                       database=sqlite_url)

    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"error: {message}\n")
    assert webhooks.list_webhooks(db, shop.site.id, 0, 100).total == 0


@pytest.mark.parametrize("command", [
    ("create", "--trigger", "ecomm_new_order", "--url", PUBLIC_URL), ("list",), ("delete", "0" * 24),
    ("deliveries", "0" * 24), ("redeliver", "0" * 24, "1"), ("reactivate", "0" * 24),
])
def test_an_unknown_site_is_an_error_message_not_a_trace(sqlite_url, command):
    result = orderdesk("webhooks", *command, "--site", "nope", database=sqlite_url)

    assert (result.returncode, result.stdout, result.stderr) == (1, "", "error: no site nope\n")


def test_list_shows_every_webhook_with_whole_ids_even_on_a_narrow_terminal(sqlite_url, db, shop):
    first = webhooks.create_webhook(db, shop.site.id, "ecomm_new_order", PUBLIC_URL, None, False)
    second = webhooks.create_webhook(db, shop.site.id, "ecomm_refund_changed", PUBLIC_URL + "/" + "a" * 100, None,
                                     False)
    other = webhooks.create_webhook(db, make_shop(db).site.id, "ecomm_new_order", PUBLIC_URL, None, False)

    result = orderdesk("webhooks", "list", "--site", shop.site.id, database=sqlite_url, columns=80)

    assert (result.returncode, result.stdout) == (0, "")
    rows = [line for line in result.stderr.splitlines() if re.search(r"[0-9a-f]{24}", line)]
    assert [re.search(r"[0-9a-f]{24}", line).group(0) for line in rows] == [first.id, second.id]
    assert other.id not in result.stderr
    for secret in (first.secret_key, second.secret_key):
        assert secret not in result.stderr


@pytest.mark.parametrize("command", ["delete", "deliveries", "redeliver", "reactivate"])
def test_another_sites_webhook_is_unknown(sqlite_url, db, shop, command):
    theirs = webhooks.create_webhook(db, make_shop(db).site.id, "ecomm_new_order", PUBLIC_URL, None, False)
    extra = ("1",) if command == "redeliver" else ()

    result = orderdesk("webhooks", command, theirs.id, *extra, "--site", shop.site.id, database=sqlite_url)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: no webhook {theirs.id} on site {shop.site.id}\n"
    assert webhooks.get_webhook(db, theirs.site_id, theirs.id) == theirs


def test_delete_removes_the_webhook_once(sqlite_url, db, shop):
    kept = webhooks.create_webhook(db, shop.site.id, "ecomm_new_order", PUBLIC_URL, None, False)
    removed = webhooks.create_webhook(db, shop.site.id, "ecomm_new_order", PUBLIC_URL, None, False)

    result = orderdesk("webhooks", "delete", removed.id, "--site", shop.site.id, database=sqlite_url)
    again = orderdesk("webhooks", "delete", removed.id, "--site", shop.site.id, database=sqlite_url)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", f"deleted webhook {removed.id}\n")
    assert [row.id for row in webhooks.list_webhooks(db, shop.site.id, 0, 100).webhooks] == [kept.id]
    assert (again.returncode, again.stderr) == (1, f"error: no webhook {removed.id} on site {shop.site.id}\n")


def test_deliveries_shows_each_attempt_and_redeliver_sends_the_event_again(sqlite_url, db, shop):
    with Receiver() as receiver:
        webhook = webhooks.create_webhook(db, shop.site.id, "ecomm_new_order", receiver.url(), None, True)
        order = place(db, shop)
        assert deliver_due(db) == 1
        (attempt,) = webhooks.delivery_attempts(db, shop.site.id, webhook.id)

        listed = orderdesk("webhooks", "deliveries", webhook.id, "--site", shop.site.id, database=sqlite_url)
        redelivered = orderdesk("webhooks", "redeliver", webhook.id, str(attempt.delivery_id), "--site",
                                shop.site.id, database=sqlite_url)
        assert deliver_due(db) == 1
        first, again = receiver.wait_for(2)

    assert (listed.returncode, listed.stdout) == (0, "")
    (row,) = [line for line in listed.stderr.splitlines() if attempt.event_id in line]
    assert re.findall(r"[^\s│┃]+", row)[2:] == [
        str(attempt.delivery_id), attempt.event_id, "ecomm_new_order", "1", "200", str(attempt.duration_ms), "ms"]
    assert json.loads(first.body)["payload"]["orderId"] == order.order_id
    assert redelivered.returncode == 0, redelivered.stderr
    assert re.fullmatch(r"[0-9]+\n", redelivered.stdout)
    assert int(redelivered.stdout) != attempt.delivery_id
    assert (again.body, again.headers["x-orderdesk-event-id"]) == (first.body, attempt.event_id)


@pytest.mark.parametrize("delivery_id", ["999999", "abc"])
def test_redelivering_an_unknown_delivery_is_an_error(sqlite_url, db, shop, delivery_id):
    webhook = webhooks.create_webhook(db, shop.site.id, "ecomm_new_order", PUBLIC_URL, None, False)

    result = orderdesk("webhooks", "redeliver", webhook.id, delivery_id, "--site", shop.site.id, database=sqlite_url)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: no delivery {delivery_id} of webhook {webhook.id}\n"


def test_a_webhook_never_triggered_has_no_deliveries_to_show(sqlite_url, db, shop):
    webhook = webhooks.create_webhook(db, shop.site.id, "ecomm_new_order", PUBLIC_URL, None, False)

    result = orderdesk("webhooks", "deliveries", webhook.id, "--site", shop.site.id, database=sqlite_url)

    assert (result.returncode, result.stdout, result.stderr) == (
        0, "", f"webhook {webhook.id} has no delivery attempts yet\n")


def active_cell(table: str, webhook_id: str) -> str:
    (row,) = [line for line in table.splitlines() if webhook_id in line]
    return [cell.strip() for cell in row.split("│")][4]


def test_reactivate_turns_a_deactivated_webhook_back_on(sqlite_url, db, shop):
    with Receiver() as receiver:
        receiver.answers = [500]
        webhook = webhooks.create_webhook(db, shop.site.id, "ecomm_new_order", receiver.url(), None, True)
        place(db, shop)
        assert deliver_due(db, retries=0) == 1  # no retries: the first failure deactivates it
    before = orderdesk("webhooks", "list", "--site", shop.site.id, database=sqlite_url)

    result = orderdesk("webhooks", "reactivate", webhook.id, "--site", shop.site.id, database=sqlite_url)

    after = orderdesk("webhooks", "list", "--site", shop.site.id, database=sqlite_url)
    assert [active_cell(listing.stderr, webhook.id) for listing in (before, after)] == ["no", "yes"]
    assert (result.returncode, result.stdout, result.stderr) == (0, "", f"webhook {webhook.id} is active again\n")
    assert webhooks.get_webhook(db, shop.site.id, webhook.id).deactivated_on is None


def test_help_names_every_command(sqlite_url):
    result = subprocess.run([sys.executable, "-m", "orderdesk", "webhooks", "--help"], capture_output=True,
                            text=True, timeout=120)

    assert result.returncode == 0
    for command in ("create", "list", "delete", "deliveries", "redeliver", "reactivate"):
        assert re.search(rf"│ {command}\s", result.stdout), command
