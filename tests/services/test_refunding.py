import threading

import pytest

from orderdesk.domain.orders import TransitionNotAllowed
from orderdesk.errors import Conflict, RefundDeclined
from orderdesk.payments.simulated import SimulatedProcessor
from orderdesk.services import orders, refunding
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store.repositories.refunds import RefundRepository
from orderdesk.store.repositories.simulated import SimulatedLedger
from orderdesk.wire import orders as wire
from tests.factories import make_shop, place


def _facts(db, shop, order_id):
    with db.reading() as connection:
        row = OrderRepository(connection).lock(shop.site.id, order_id)
        refunds = RefundRepository(connection).for_order(shop.site.id, order_id)
    return row, refunds


def _asks(db, refund_id):
    """How often the simulated processor was asked for `refund_id`, from the ledger it keeps in the database."""
    with db.reading() as connection:
        return SimulatedLedger(connection).calls(refund_id)


def test_a_full_refund_goes_through_the_processor_once_and_refunds_the_order(db):
    shop = make_shop(db)
    order = place(db, shop)
    processor = SimulatedProcessor(db)

    document = refunding.refund_order(db, processor, shop.site.id, order.order_id, "requested", shop.token_id)

    refunded = wire.decode(document)
    row, refunds = _facts(db, shop, order.order_id)
    assert refunded.status == "refunded"
    assert refunded.stripe_details.refund_reason == "requested_by_customer"
    assert refunded.stripe_details.refund_id == refunds[0].processor_reference
    assert [(r.amount, r.state) for r in refunds] == [(5898, "succeeded")]
    assert row.refund_reserved == row.captured_amount == 5898
    assert _asks(db, refunds[0].id) == 1


def test_refunding_a_refunded_order_calls_nobody(db):
    shop = make_shop(db)
    order = place(db, shop)
    processor = SimulatedProcessor(db)
    first = refunding.refund_order(db, processor, shop.site.id, order.order_id, None, shop.token_id)

    again = refunding.refund_order(db, processor, shop.site.id, order.order_id, None, shop.token_id)

    assert again == first
    refunds = _facts(db, shop, order.order_id)[1]
    assert [r.state for r in refunds] == ["succeeded"]
    assert _asks(db, refunds[0].id) == 1


def test_the_processor_keeps_nothing_in_memory_per_refund(db):
    # One processor serves a process for its whole life: what it was asked lives in the database only.
    shop = make_shop(db)
    order = place(db, shop)
    processor = SimulatedProcessor(db)
    before = {name: repr(value) for name, value in vars(processor).items()}

    refunding.refund_order(db, processor, shop.site.id, order.order_id, None, shop.token_id)

    assert {name: repr(value) for name, value in vars(processor).items()} == before
    assert _asks(db, _facts(db, shop, order.order_id)[1][0].id) == 1


def test_a_declined_refund_releases_its_amount_and_leaves_the_order(db):
    shop = make_shop(db)
    order = place(db, shop, last4="4111")
    before = orders.get_order(db, shop.site.id, order.order_id)

    with pytest.raises(RefundDeclined) as declined:
        refunding.refund_order(db, SimulatedProcessor(db), shop.site.id, order.order_id, None, shop.token_id)

    row, refunds = _facts(db, shop, order.order_id)
    assert declined.value.reason == "card_declined"
    assert orders.get_order(db, shop.site.id, order.order_id) == before
    assert row.refund_reserved == 0
    assert [(r.state, r.failure_reason) for r in refunds] == [("failed", "card_declined")]


def test_a_pending_order_cannot_be_refunded(db):
    shop = make_shop(db)
    order = place(db, shop, status="pending")
    with pytest.raises(TransitionNotAllowed):
        refunding.refund_order(db, SimulatedProcessor(db), shop.site.id, order.order_id, None, shop.token_id)
    assert _facts(db, shop, order.order_id)[1] == []


def test_concurrent_refunds_of_one_order_pay_out_exactly_once(db):
    shop = make_shop(db)
    order = place(db, shop)
    processor = SimulatedProcessor(db, delay=0.05)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def refund() -> None:
        barrier.wait()
        try:
            document = refunding.refund_order(db, processor, shop.site.id, order.order_id, None, shop.token_id)
            outcomes.append(wire.decode(document).status)
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=refund) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    row, refunds = _facts(db, shop, order.order_id)
    assert [(r.amount, r.state) for r in refunds] == [(5898, "succeeded")]
    assert _asks(db, refunds[0].id) == 1
    assert row.refund_reserved == row.captured_amount
    assert sorted(set(outcomes)) in (["conflict", "refunded"], ["refunded"])
    assert outcomes.count("refunded") >= 1
    assert len(outcomes) == 8


def test_the_database_refuses_an_over_refund_even_if_code_asks(db):
    shop = make_shop(db)
    order = place(db, shop)
    with db.unit_of_work() as work:
        repository = OrderRepository(work.connection)
        row = repository.lock(shop.site.id, order.order_id)
        assert repository.reserve_refund(row.id, row.captured_amount + 1) is False
    import sqlalchemy as sa

    from orderdesk.store.tables import orders as orders_table

    with pytest.raises(sa.exc.IntegrityError), db.unit_of_work() as work:
        work.connection.execute(
            orders_table.update().where(orders_table.c.id == row.id).values(refund_reserved=row.captured_amount + 1)
        )
    assert _facts(db, shop, order.order_id)[0].refund_reserved == 0
