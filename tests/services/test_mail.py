"""The order-fulfilled email: what it says, and that it is queued exactly when the fulfil commits a change.

Each test has a database of its own, so that no test server's background loop sends (or captures)
its emails while it looks at them.
"""

from __future__ import annotations

import msgspec
import pytest
import sqlalchemy as sa

from orderdesk.domain.orders import TransitionNotAllowed
from orderdesk.services import mail, orders
from orderdesk.store.engine import create_engine
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store.database import Database
from orderdesk.store.unit_of_work import UnitOfWork
from orderdesk.wire.order_facts import order_of
from orderdesk.wire import orders as wire
from tests.factories import make_shop, place


@pytest.fixture
def own_db(fresh_database_url) -> Database:
    database = Database(create_engine(fresh_database_url))
    yield database
    database.dispose()


def known_order(**fields) -> wire.OrderDoc:
    """Order fc7-128 as the store keeps it: every money `string` filled in."""
    def money(value: str, text: str) -> dict:
        return {"unit": "USD", "value": value, "string": text}

    document = {
        "orderId": "fc7-128",
        "status": "fulfilled",
        "customerInfo": {"fullName": "Arthur Dent", "email": "arthur@example.com"},
        "purchasedItems": [
            {"count": 1, "productName": "Towel", "variantName": "Towel: Blue",
             "variantPrice": money("2500", "$ 25.00 USD"), "rowTotal": money("2500", "$ 25.00 USD")},
            {"count": 2, "productName": "Guide", "variantName": "",
             "variantPrice": money("1299", "$ 12.99 USD"), "rowTotal": money("2598", "$ 25.98 USD")},
        ],
        "totals": {"extras": [], "subtotal": money("5098", "$ 50.98 USD"), "total": money("5898", "$ 58.98 USD")},
        **fields,
    }
    return msgspec.convert(document, wire.OrderDoc)


def compose(document: wire.OrderDoc) -> mail.Email | None:
    """The email of a stored document, composed as the fulfil composes it."""
    return mail.compose_fulfilled_email(order_of(document, "site", 0, 0), UnitOfWork.shown)


def emails_of(db: Database, site_id: str) -> list:
    return mail.list_emails(db, site_id, 100)


# --- composing -------------------------------------------------------------------------------------

def test_the_email_names_each_item_the_total_and_the_tracking():
    order = known_order(shippingProvider="UPS", shippingTracking="1Z999AA10123456784",
                        shippingTrackingURL="https://www.ups.com/track?tracknum=1Z999AA10123456784")

    email = compose(order)

    assert email == mail.Email(
        recipient="arthur@example.com",
        subject="Your order fc7-128 has shipped",
        body=(
            "Hello Arthur Dent,\n"
            "\n"
            "Your order fc7-128 has shipped.\n"
            "\n"
            "1 × Towel: Blue — $ 25.00 USD\n"
            "2 × Guide — $ 25.98 USD\n"
            "\n"
            "Total: $ 58.98 USD\n"
            "\n"
            "Carrier: UPS\n"
            "Tracking number: 1Z999AA10123456784\n"
            "Track it at: https://www.ups.com/track?tracknum=1Z999AA10123456784\n"
            "\n"
            "Thank you for your order.\n"
        ),
    )


def test_without_tracking_the_email_says_it_will_follow():
    order = known_order(shippingProvider="UPS")

    email = compose(order)

    assert email.body == (
        "Hello Arthur Dent,\n"
        "\n"
        "Your order fc7-128 has shipped.\n"
        "\n"
        "1 × Towel: Blue — $ 25.00 USD\n"
        "2 × Guide — $ 25.98 USD\n"
        "\n"
        "Total: $ 58.98 USD\n"
        "\n"
        "We will send you the tracking details as soon as we have them.\n"
        "\n"
        "Thank you for your order.\n"
    )


def test_an_order_without_an_email_address_gets_no_email():
    order = known_order(customerInfo={"fullName": "Arthur Dent", "email": ""})

    assert compose(order) is None


# --- queueing with the fulfil ----------------------------------------------------------------------

def test_a_fulfil_with_the_flag_queues_one_pending_email(own_db):
    shop = make_shop(own_db)
    order = place(own_db, shop)

    document, changed = orders.fulfill_order(own_db, shop.site.id, order.order_id, shop.token_id, send_email=True)

    assert changed is True
    [email] = emails_of(own_db, shop.site.id)
    expected = compose(wire.decode(document))
    assert (email.order_id, email.recipient, email.subject, email.body) == (
        order.order_id, "arthur@example.com", f"Your order {order.order_id} has shipped", expected.body,
    )
    assert (email.state, email.attempts, email.error, email.sent_on) == ("pending", 0, None, None)


def test_a_fulfil_without_the_flag_queues_nothing(own_db):
    shop = make_shop(own_db)
    order = place(own_db, shop)

    _, changed = orders.fulfill_order(own_db, shop.site.id, order.order_id, shop.token_id)

    assert changed is True
    assert emails_of(own_db, shop.site.id) == []


def test_fulfilling_a_fulfilled_order_again_queues_nothing(own_db):
    shop = make_shop(own_db)
    order = place(own_db, shop)
    orders.fulfill_order(own_db, shop.site.id, order.order_id, shop.token_id)

    _, changed = orders.fulfill_order(own_db, shop.site.id, order.order_id, shop.token_id, send_email=True)

    assert changed is False
    assert emails_of(own_db, shop.site.id) == []


def test_a_refused_fulfil_queues_nothing(own_db):
    shop = make_shop(own_db)
    order = place(own_db, shop, status="pending")

    with pytest.raises(TransitionNotAllowed):
        orders.fulfill_order(own_db, shop.site.id, order.order_id, shop.token_id, send_email=True)

    assert emails_of(own_db, shop.site.id) == []


def test_the_email_and_the_change_commit_or_roll_back_together(own_db):
    """The database refuses the email row, so the whole fulfil rolls back: no email, order unchanged."""
    shop = make_shop(own_db)
    order = place(own_db, shop)
    before = orders.get_order(own_db, shop.site.id, order.order_id)
    refuse_emails(own_db)

    with pytest.raises(sa.exc.DBAPIError, match="no emails today"):
        orders.fulfill_order(own_db, shop.site.id, order.order_id, shop.token_id, send_email=True)

    assert orders.get_order(own_db, shop.site.id, order.order_id) == before
    with own_db.reading() as connection:
        history = OrderRepository(connection).history(shop.site.id, order.order_id)
    assert [entry["action"] for entry in history] == ["place"]
    assert emails_of(own_db, shop.site.id) == []


def refuse_emails(db: Database) -> None:
    """A trigger that fails every insert into emails (this test's own database only)."""
    with db.engine.begin() as connection:
        if db.is_sqlite:
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_emails BEFORE INSERT ON emails BEGIN SELECT RAISE(ABORT, 'no emails today'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_emails() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'no emails today'; END $$"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_emails BEFORE INSERT ON emails FOR EACH ROW EXECUTE FUNCTION refuse_emails()"
            )
