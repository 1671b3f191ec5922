"""The Refunds resource's services on a real database: reserve, call, settle, reconcile."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderdesk.domain import clock
from orderdesk.domain.refunds import ItemAsk, RefundAsk, RefundType
from orderdesk.errors import Conflict, ValidationFailed
from orderdesk.services import orders, refunding, refunds
from orderdesk.domain.refunds import RefundState
from orderdesk.services.reconciler import reconcile
from orderdesk.store.repositories.orders import OrderRepository
from orderdesk.store import tables
from orderdesk.store.repositories.refunds import RefundRepository
from orderdesk.wire import orders as wire
from orderdesk.domain.refunds import NewRefund
from orderdesk.store.unit_of_work import read_order
from orderdesk.wire.refunds import RefundDoc, refund_doc
from tests.factories import make_shop, place
from tests.fakes import Directory, ScriptedProcessor


def create_refund(*args, **kwargs) -> RefundDoc:
    """The service's refund as the API shows it."""
    view = refunds.create_refund(*args, **kwargs)
    return refund_doc(view.refund, view.items)


def get_refund(*args) -> RefundDoc:
    view = refunds.get_refund(*args)
    return refund_doc(view.refund, view.items)


def ask(order_id: str, kind=RefundType.PRODUCT, amount=None, basis_points=None, items=()) -> NewRefund:
    return NewRefund(order_id, "USD", RefundAsk(kind, amount, basis_points, tuple(items)), None, {})


def facts(db, shop, order_id):
    with db.reading() as connection:
        row = OrderRepository(connection).lock(shop.site.id, order_id)
        return row, RefundRepository(connection).for_order(shop.site.id, order_id)


def test_partial_refunds_that_reach_the_capture_refund_the_order(db):
    shop = make_shop(db)
    order = place(db, shop)  # 58.98
    directory = Directory(ScriptedProcessor())

    first = create_refund(db, directory, shop.site.id, ask(order.order_id, amount=2000), shop.token_id)
    create_refund(db, directory, shop.site.id, ask(order.order_id, amount=3898), shop.token_id)

    row, made = facts(db, shop, order.order_id)
    refunded = wire.decode(row.document)
    assert (first.state, bytes(first.refunded_amount)) == ("succeeded", b"20.00")
    assert [(r.amount, r.refunded_amount, r.state) for r in made] == [(2000, 2000, "succeeded"), (3898, 3898, "succeeded")]
    assert row.refund_reserved == 5898
    assert refunded.status == "refunded"
    assert refunded.stripe_details.refund_id == "re_scripted_" + made[1].id


def test_a_refused_refund_changes_nothing(db):
    shop = make_shop(db)
    order = place(db, shop)
    directory = Directory(ScriptedProcessor())
    create_refund(db, directory, shop.site.id, ask(order.order_id, amount=5000), shop.token_id)
    before = facts(db, shop, order.order_id)

    with pytest.raises(ValidationFailed) as refused:
        create_refund(db, directory, shop.site.id, ask(order.order_id, amount=899), shop.token_id)

    assert [(d.field, d.message) for d in refused.value.details] == [
        ("amount", "The requested refund amount is greater than the available amount.")
    ]
    assert facts(db, shop, order.order_id) == before
    assert len(directory.processor.asked) == 1


def test_a_disputed_order_cannot_be_refunded_in_part(db):
    shop = make_shop(db)
    order = place(db, shop, status="disputed")

    with pytest.raises(Conflict):
        create_refund(db, Directory(ScriptedProcessor()), shop.site.id, ask(order.order_id, amount=1), shop.token_id)

    assert facts(db, shop, order.order_id)[1] == []


def test_a_failed_refund_releases_its_amount(db):
    shop = make_shop(db)
    order = place(db, shop)

    made = create_refund(db, Directory(ScriptedProcessor(RefundState.FAILED)), shop.site.id,
                                 ask(order.order_id, amount=1000), shop.token_id)

    row, _ = facts(db, shop, order.order_id)
    assert (made.state, made.failure_reason, bytes(made.refunded_amount)) == ("failed", "card_declined", b"0.00")
    assert row.refund_reserved == 0


def test_the_reconciler_settles_a_refund_whose_outcome_was_lost_asking_with_the_same_id(db):
    shop = make_shop(db)
    order = place(db, shop)
    outage = ScriptedProcessor(None)
    made = create_refund(db, Directory(outage), shop.site.id, ask(order.order_id, amount=1000), shop.token_id)
    assert made.state == "pending"
    back = ScriptedProcessor()

    reconcile(db, Directory(back), quiet_for=-1)
    reconcile(db, Directory(back), quiet_for=-1)

    assert back.asked.count(made.id) == 1
    assert get_refund(db, shop.site.id, made.id).state == "succeeded"
    assert facts(db, shop, order.order_id)[0].refund_reserved == 1000


def test_the_webflow_refund_refunds_what_partial_refunds_left(db):
    shop = make_shop(db)
    order = place(db, shop)
    processor = ScriptedProcessor()
    create_refund(db, Directory(processor), shop.site.id, ask(order.order_id, amount=1001), shop.token_id)

    document = refunding.refund_order(db, processor, shop.site.id, order.order_id, "requested", shop.token_id)

    row, made = facts(db, shop, order.order_id)
    assert wire.decode(document).status == "refunded"
    assert [r.amount for r in made] == [1001, 4897]
    assert row.refund_reserved == row.captured_amount == 5898


# --- property: one by one, or all reserved first and settled in any order, ends the same ---------

def asks_for(variant_ids: list[str]):
    item = st.builds(ItemAsk, st.sampled_from(variant_ids), st.none() | st.integers(1, 2), st.none(), st.none())
    return st.lists(st.one_of(
        st.builds(RefundAsk, st.sampled_from(list(RefundType)), amount=st.integers(1, 3000)),
        st.builds(RefundAsk, st.sampled_from(list(RefundType)), basis_points=st.integers(1, 10_000)),
        st.builds(RefundAsk, items=st.lists(item, min_size=1, max_size=2, unique_by=lambda i: i.sku_id).map(tuple)),
    ), min_size=1, max_size=6)


VARIANTS = [f"{index:024x}" for index in range(2)]


def run(db, shop, order_id, sequence, processor) -> list:
    results = []
    for refund_ask in sequence:
        try:
            made = create_refund(db, Directory(processor), shop.site.id,
                                         NewRefund(order_id, "USD", refund_ask, None, {}), shop.token_id)
            results.append(bytes(made.amount))
        except ValidationFailed as refused:
            results.append([d.field for d in refused.details])
    return results


def end_state(db, shop, order_id):
    row, made = facts(db, shop, order_id)
    document = wire.decode(orders.get_order(db, shop.site.id, order_id))
    # Sorted: refunds made in the same millisecond are listed by their random ids, so two runs of one
    # sequence may list them in either order.
    return (row.refund_reserved, document.status,
            sorted((r.amount, r.refunded_amount, r.state, r.breakdown) for r in made))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=asks_for(VARIANTS), seed=st.integers(0, 1000))
def test_refunds_end_the_same_one_by_one_or_interleaved(db, sequence, seed):
    shop = make_shop(db)
    one_by_one, interleaved = place(db, shop), place(db, shop)

    answers = run(db, shop, one_by_one.order_id, sequence, ScriptedProcessor())
    held = run(db, shop, interleaved.order_id, sequence, ScriptedProcessor(None))  # every outcome lost
    pending = [r.id for r in facts(db, shop, interleaved.order_id)[1]]
    random.Random(seed).shuffle(pending)
    for refund_id in pending:  # settled later, in any order, as the reconciler or events would
        refunding.record_outcome(db, refund_id, ScriptedProcessor().refund(_request(db, refund_id)))

    assert held == answers
    assert end_state(db, shop, one_by_one.order_id) == end_state(db, shop, interleaved.order_id)
    assert end_state(db, shop, one_by_one.order_id)[0] <= 5898


def _request(db, refund_id):
    with db.reading() as connection:
        refund = RefundRepository(connection).get(refund_id)
        order = read_order(connection, refund.site_id, refund.order_id)
    return refunding.refund_request(refund, order)


def test_an_idempotency_key_used_again_after_24_hours_makes_a_new_refund(db):
    shop = make_shop(db)
    order = place(db, shop)
    directory = Directory(ScriptedProcessor())
    first = create_refund(db, directory, shop.site.id, ask(order.order_id, amount=100), shop.token_id, "t:k")
    retried = create_refund(db, directory, shop.site.id, ask(order.order_id, amount=100), shop.token_id, "t:k")
    with db.unit_of_work() as work:  # a day and an hour later
        work.connection.execute(sa.update(tables.refunds).where(tables.refunds.c.id == first.id)
                                .values(created_on=first_created(first) - 25 * 3600 * 1000))
        work.commit()

    later = create_refund(db, directory, shop.site.id, ask(order.order_id, amount=200), shop.token_id, "t:k")

    _, made = facts(db, shop, order.order_id)
    assert retried.id == first.id
    assert later.id != first.id
    assert sorted((r.amount, r.request_key) for r in made) == [(100, None), (200, "t:k")]


def first_created(refund) -> int:
    return clock.to_millis(clock.from_wire(refund.created_time))


class Exploding(ScriptedProcessor):
    """Answers like the scripted processor, except that one refund makes it raise something unforeseen."""

    def __init__(self, bad: str) -> None:
        super().__init__()
        self.bad = bad

    def refresh(self, request, reference):
        if request.refund_id == self.bad:
            raise KeyError("unforeseen")
        return super().refresh(request, reference)


def test_one_refund_the_reconciler_cannot_ask_about_does_not_stall_the_others(db):
    shop = make_shop(db)
    order = place(db, shop)
    outage = Directory(ScriptedProcessor(None))
    stuck = create_refund(db, outage, shop.site.id, ask(order.order_id, amount=100), shop.token_id)
    other = create_refund(db, outage, shop.site.id, ask(order.order_id, amount=200), shop.token_id)

    reconcile(db, Directory(Exploding(stuck.id)), quiet_for=-1)

    assert get_refund(db, shop.site.id, stuck.id).state == "pending"
    assert get_refund(db, shop.site.id, other.id).state == "succeeded"
