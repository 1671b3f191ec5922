"""`orderdesk simulate ...`: what a real processor's events do to an order, on demand (BEHAVIOUR.md section 8)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from orderdesk.cli.common import DatabaseOption, err, fail, lazy_module, open_database, settings
from orderdesk.domain.orders import OrderStatus
from orderdesk.errors import AppError, OrderNotFound

if TYPE_CHECKING:
    from orderdesk.store.database import Database

access = lazy_module("orderdesk.services.access")
disputes = lazy_module("orderdesk.services.disputes")
orders = lazy_module("orderdesk.services.orders")
wire = lazy_module("orderdesk.wire.orders")

simulate_app = typer.Typer(
    help="Play a payment processor's events (disputes, captures) against an order.", no_args_is_help=True,
)

SiteOption = Annotated[str, typer.Option(help="The order's site.")]
OrderOption = Annotated[str, typer.Option(help="The orderId (xxx-xxx).")]


class Outcome(StrEnum):
    WON = "won"
    LOST = "lost"


@simulate_app.command("dispute")
def dispute(
    site: SiteOption,
    order: OrderOption,
    outcome: Annotated[Outcome | None, typer.Option(help="Close the dispute: won restores the order, lost ends it.")]
    = None,
    database: DatabaseOption = None,
) -> None:
    """The customer disputes the payment (unless a dispute is open already); with --outcome, it closes that way.

    Prints the order's new status alone on stdout.
    """
    db = open_database(settings(database))
    _order(db, site, order)
    try:
        document, opened = disputes.simulate_dispute(db, site, order, None if outcome is None else outcome.value)
    except AppError as error:
        fail(escape(error.message))
    if opened is not None:
        err.print(f"opened dispute {opened} on order {order} ({disputes.OPENING_STATUS})", highlight=False)
    if outcome is not None:
        err.print(f"closed the dispute on order {order}: {outcome.value}", highlight=False)
    print(wire.decode(document).status)


@simulate_app.command("capture")
def capture(
    site: SiteOption,
    order: OrderOption,
    amount: Annotated[int | None, typer.Option(help="Minor units captured (default: what the customer paid).", min=0)]
    = None,
    database: DatabaseOption = None,
) -> None:
    """The processor captures a pending order's payment: it becomes unfulfilled and refundable.

    Prints the order's new status alone on stdout.
    """
    db = open_database(settings(database))
    current = _order(db, site, order)
    try:
        captured = wire.decode(disputes.capture_payment(db, site, order, amount))
    except AppError as error:
        fail(escape(error.message))
    if current.status == OrderStatus.PENDING:
        err.print(f"captured the payment of order {order}", highlight=False)
    else:
        err.print(f"the payment of order {order} was captured already; nothing changed", highlight=False)
    print(captured.status)


def _order(db: Database, site_id: str, order_id: str):
    if access.get_site(db, site_id) is None:
        fail(f"no site {escape(site_id)}")
    try:
        return wire.decode(orders.get_order(db, site_id, order_id))
    except OrderNotFound:
        fail(f"no order {escape(order_id)} on site {escape(site_id)}")
