"""Placing an order (our extension): pick its id, complete it, add it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from orderdesk.domain import ids
from orderdesk.domain.sites import Site
from orderdesk.errors import OrderIdTaken, ValidationFailed
from orderdesk.services.ports import OrderDraft
from orderdesk.store.database import Database

if TYPE_CHECKING:
    from orderdesk.store.repositories.orders import OrderRepository

_ORDER_ID = re.compile(r"[0-9a-f]{3}-[0-9a-f]{3}(-[0-9a-f]{3})?\Z")


def new_order_id(repository: OrderRepository, site_id: str, wanted: str | None) -> str | None:
    """The wanted id if it is free and well formed (None if not), or a fresh one."""
    if wanted is not None:
        if _ORDER_ID.match(wanted) and not repository.exists(site_id, wanted):
            return wanted
        return None  # the draft's completion names the field
    count = repository.count(site_id)
    while True:
        candidate = ids.order_id(count)
        if not repository.exists(site_id, candidate):
            return candidate


def place_order(db: Database, site: Site, draft: OrderDraft, token_id: str | None) -> bytes:
    """The placed order's document; ValidationFailed naming every problem of the draft."""
    try:
        with db.unit_of_work() as work:
            order_id = new_order_id(work.orders.repository, site.id, draft.wanted_id)
            order = draft.complete(site, order_id, work.clock.now())
            work.orders.add(order)
            work.commit("place", by=token_id)
    except OrderIdTaken:
        # Two placements raced for the same orderId: the unique constraint picked the other.
        raise ValidationFailed.of("orderId", "is already used on this site") from None
    return work.orders.document(order)
