"""The simulated processor's ledger: one row per refund id it was asked for."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from orderdesk.store.prepared import Prepared
from orderdesk.store.tables import simulated_refunds


def _ask(dialect):
    """Insert the first ask, count the later ones (built once per dialect)."""
    return dialect.insert(simulated_refunds).values(
        refund_id=sa.bindparam("refund_id"), reference=sa.bindparam("reference"), amount=sa.bindparam("amount"),
        currency=sa.bindparam("currency"), card_last4=sa.bindparam("card_last4"), reason=sa.bindparam("reason"),
        calls=1, created_on=sa.bindparam("at"),
    ).on_conflict_do_update(
        index_elements=[simulated_refunds.c.refund_id], set_={"calls": simulated_refunds.c.calls + 1},
    ).returning(simulated_refunds.c.created_on, simulated_refunds.c.calls, simulated_refunds.c.card_last4)


_ASK = {"postgresql": Prepared(_ask(postgresql)), "sqlite": Prepared(_ask(sqlite))}


class SimulatedLedger:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def ask(self, refund_id: str, reference: str, amount: int, currency: str, card_last4: str | None,
            reason: str | None, at: int) -> tuple[int, int, str | None]:
        """Record one request for `refund_id`; returns when it was first asked, how many asks so far, and the
        card it was first asked for (later asks never change it)."""
        created_on, calls, first_card = _ASK[self.connection.dialect.name].first(self.connection, {
            "refund_id": refund_id, "reference": reference, "amount": amount, "currency": currency,
            "card_last4": card_last4, "reason": reason, "at": at,
        })
        return created_on, calls, first_card

    def calls(self, refund_id: str) -> int:
        """How many times the processor was asked for `refund_id` (0: never)."""
        found = self.connection.execute(
            sa.select(simulated_refunds.c.calls).where(simulated_refunds.c.refund_id == refund_id)
        ).scalar_one_or_none()
        return found or 0
