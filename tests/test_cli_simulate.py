"""`orderdesk sites set-processor` and `orderdesk simulate ...`, run as a user would."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from orderdesk.services import orders
from orderdesk.store.engine import create_engine
from orderdesk.store.migrate import upgrade
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store.repositories.processors import SiteProcessorRepository
from orderdesk.store.database import Database
from orderdesk.wire import orders as wire
from tests.factories import make_shop, place
from tests.test_cli import orderdesk

STRIPE_KEY = "sk_test_51HxQpLSECRETnotForYourEyesabcd"
WEBHOOK_SECRET = "whsec_SECRETsigningNotForYourEyeswxyz"


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def local_db(sqlite_url) -> Database:
    engine = create_engine(sqlite_url)
    upgrade(engine)
    database = Database(engine)
    yield database
    database.dispose()


def _order(db, shop, order_id) -> wire.OrderDoc:
    return wire.decode(orders.get_order(db, shop.site.id, order_id))


# --- set-processor ------------------------------------------------------------------------------------

def test_set_processor_stores_the_stripe_key_and_never_prints_it(sqlite_url, local_db):
    shop = make_shop(local_db)

    result = orderdesk("sites", "set-processor", "--site", shop.site.id, "--stripe-key", STRIPE_KEY,
                       "--stripe-api-base", "http://127.0.0.1:12111", "--stripe-webhook-secret", WEBHOOK_SECRET,
                       database=sqlite_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"site {shop.site.id} now refunds through Stripe with sk_test_…abcd at http://127.0.0.1:12111; "
        f"Stripe's events go to /v2/processors/stripe/{shop.site.id}/events, signed with whsec_…wxyz\n"
    )
    with local_db.reading() as connection:
        config = SiteProcessorRepository(connection).get(shop.site.id)
    assert (config.kind, config.secret_key, config.api_base, config.webhook_secret) == (
        "stripe", STRIPE_KEY, "http://127.0.0.1:12111", WEBHOOK_SECRET)


def test_set_processor_simulated_removes_the_stripe_configuration(sqlite_url, local_db):
    shop = make_shop(local_db)
    orderdesk("sites", "set-processor", "--site", shop.site.id, "--stripe-key", STRIPE_KEY, database=sqlite_url)

    result = orderdesk("sites", "set-processor", "--site", shop.site.id, "--simulated", database=sqlite_url)

    assert result.returncode == 0, result.stderr
    assert result.stderr == f"site {shop.site.id} now refunds through the simulated processor\n"
    with local_db.reading() as connection:
        assert SiteProcessorRepository(connection).get(shop.site.id) is None


@pytest.mark.parametrize(("arguments", "message"), [
    (["--stripe-key", "pk_test_publishable"],
     "Validation Error: secretKey: must be a Stripe secret key (sk_...) or restricted key (rk_...)"),
    (["--stripe-key", STRIPE_KEY, "--stripe-webhook-secret", "secret"],
     "Validation Error: webhookSecret: must be a Stripe webhook signing secret (whsec_...)"),
    (["--stripe-key", STRIPE_KEY, "--stripe-api-base", "api.stripe.com"],
     "Validation Error: apiBase: must be an absolute http(s) URL"),
    ([], "give either --stripe-key or --simulated"),
    (["--simulated", "--stripe-key", STRIPE_KEY], "give either --stripe-key or --simulated"),
])
def test_set_processor_refuses_bad_settings_and_stores_nothing(sqlite_url, local_db, arguments, message):
    shop = make_shop(local_db)

    result = orderdesk("sites", "set-processor", "--site", shop.site.id, *arguments, database=sqlite_url)

    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"error: {message}\n")
    with local_db.reading() as connection:
        assert SiteProcessorRepository(connection).get(shop.site.id) is None


def test_set_processor_for_an_unknown_site_is_an_error(sqlite_url, local_db):
    result = orderdesk("sites", "set-processor", "--site", "nope", "--stripe-key", STRIPE_KEY, database=sqlite_url)

    assert (result.returncode, result.stdout, result.stderr) == (1, "", "error: Validation Error: site: no site nope\n")


# --- simulate dispute ---------------------------------------------------------------------------------

def test_a_simulated_dispute_won_restores_the_fulfilled_status(sqlite_url, local_db):
    shop = make_shop(local_db)
    order = place(local_db, shop)
    orders.fulfill_order(local_db, shop.site.id, order.order_id, shop.token_id)

    opened = orderdesk("simulate", "dispute", "--site", shop.site.id, "--order", order.order_id, database=sqlite_url)
    disputed = _order(local_db, shop, order.order_id)
    won = orderdesk("simulate", "dispute", "--site", shop.site.id, "--order", order.order_id, "--outcome", "won",
                    database=sqlite_url)

    dispute_id = disputed.stripe_details.dispute_id
    assert re.fullmatch(r"dp_sim_[0-9a-f]{24}", dispute_id)
    assert (opened.returncode, opened.stdout) == (0, "disputed\n")
    assert opened.stderr == f"opened dispute {dispute_id} on order {order.order_id} (needs_response)\n"
    assert (disputed.status, disputed.dispute_last_status) == ("disputed", "needs_response")
    assert (won.returncode, won.stdout) == (0, "fulfilled\n")
    assert won.stderr == f"closed the dispute on order {order.order_id}: won\n"
    restored = _order(local_db, shop, order.order_id)
    assert (restored.status, restored.dispute_last_status, restored.stripe_details.dispute_id) == (
        "fulfilled", "won", dispute_id)


def test_a_simulated_dispute_lost_in_one_go_opens_and_closes_it(sqlite_url, local_db):
    shop = make_shop(local_db)
    order = place(local_db, shop)

    result = orderdesk("simulate", "dispute", "--site", shop.site.id, "--order", order.order_id, "--outcome", "lost",
                       database=sqlite_url)

    assert (result.returncode, result.stdout) == (0, "dispute-lost\n")
    with local_db.reading() as connection:
        actions = [entry["action"] for entry in OrderRepository(connection).history(shop.site.id, order.order_id)]
    assert actions == ["place", "open_dispute", "close_dispute"]


def test_a_simulated_dispute_of_a_pending_order_is_refused(sqlite_url, local_db):
    shop = make_shop(local_db)
    order = place(local_db, shop, status="pending")
    before = orders.get_order(local_db, shop.site.id, order.order_id)

    result = orderdesk("simulate", "dispute", "--site", shop.site.id, "--order", order.order_id, database=sqlite_url)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: Order {order.order_id} is pending and cannot be disputed\n"
    assert orders.get_order(local_db, shop.site.id, order.order_id) == before


# --- simulate capture ---------------------------------------------------------------------------------

def test_a_simulated_capture_makes_a_pending_order_unfulfilled(sqlite_url, local_db):
    shop = make_shop(local_db)
    order = place(local_db, shop, status="pending")

    result = orderdesk("simulate", "capture", "--site", shop.site.id, "--order", order.order_id, "--amount", "4000",
                       database=sqlite_url)

    assert (result.returncode, result.stdout) == (0, "unfulfilled\n")
    assert result.stderr == f"captured the payment of order {order.order_id}\n"
    with local_db.reading() as connection:
        assert OrderRepository(connection).lock(shop.site.id, order.order_id).captured_amount == 4000


def test_a_simulated_capture_of_a_fulfilled_order_is_refused(sqlite_url, local_db):
    shop = make_shop(local_db)
    order = place(local_db, shop)
    orders.fulfill_order(local_db, shop.site.id, order.order_id, shop.token_id)

    result = orderdesk("simulate", "capture", "--site", shop.site.id, "--order", order.order_id, database=sqlite_url)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: Order {order.order_id} is fulfilled and cannot be captured\n"


@pytest.mark.parametrize("command", ["dispute", "capture"])
def test_an_unknown_site_or_order_is_an_error_message_not_a_trace(sqlite_url, local_db, command):
    shop = make_shop(local_db)

    no_site = orderdesk("simulate", command, "--site", "nope", "--order", "abc-123", database=sqlite_url)
    no_order = orderdesk("simulate", command, "--site", shop.site.id, "--order", "abc-123", database=sqlite_url)

    assert (no_site.returncode, no_site.stdout, no_site.stderr) == (1, "", "error: no site nope\n")
    assert (no_order.returncode, no_order.stdout, no_order.stderr) == (
        1, "", f"error: no order abc-123 on site {shop.site.id}\n")


@pytest.mark.parametrize("command", [["simulate"], ["simulate", "dispute"], ["simulate", "capture"],
                                     ["sites", "set-processor"]])
def test_the_new_commands_explain_themselves(command):
    result = subprocess.run([sys.executable, "-m", "orderdesk", *command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "Usage: orderdesk" in result.stdout
    assert "--help" in result.stdout
