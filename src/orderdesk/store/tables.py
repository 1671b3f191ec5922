"""Table definitions. Times are Unix milliseconds (BIGINT) so that every database sorts them alike."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

sites = sa.Table(
    "sites",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("ecommerce_enabled", sa.Boolean, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("application_fee_bps", sa.Integer, nullable=False),
    sa.Column("created_on", sa.BigInteger, nullable=False),
    sa.Column("updated_on", sa.BigInteger, nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", sa.String(255), nullable=False),
    sa.Column("rate_limit", sa.Integer, nullable=True),
    sa.Column("created_on", sa.BigInteger, nullable=False),
    sa.Column("last_used_on", sa.BigInteger, nullable=True),
    sa.Column("revoked_on", sa.BigInteger, nullable=True),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), nullable=False),
    sa.Column("order_id", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("accepted_on", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    # Facts about money: what the processor captured, and what refunds hold (pending or
    # succeeded). The CHECK makes an over-refund impossible even if the code is wrong.
    sa.Column("captured_amount", sa.BigInteger, nullable=False),
    sa.Column("refund_reserved", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("document", sa.LargeBinary, nullable=False),
    sa.Column("updated_on", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("site_id", "order_id", name="uq_orders_site_order"),
    sa.CheckConstraint(
        "refund_reserved >= 0 AND refund_reserved <= captured_amount", name="ck_orders_refund_within_capture"
    ),
)
sa.Index("ix_orders_site_accepted", orders.c.site_id, orders.c.accepted_on.desc(), orders.c.order_id)
sa.Index(
    "ix_orders_site_status_accepted",
    orders.c.site_id, orders.c.status, orders.c.accepted_on.desc(), orders.c.order_id,
)

order_history = sa.Table(
    "order_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("site_id", sa.String(24), nullable=False),
    sa.Column("order_id", sa.String(16), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("before", sa.Text, nullable=False),
    sa.Column("after", sa.Text, nullable=False),
    sa.Column("token_id", sa.String(24), nullable=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Index("ix_order_history_order", "site_id", "order_id", "id"),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("site_id", sa.String(24), nullable=False),
    sa.Column("order_id", sa.String(16), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("reason", sa.String(64), nullable=True),
    sa.Column("processor_reference", sa.String(255), nullable=True),
    sa.Column("failure_reason", sa.String(64), nullable=True),
    sa.Column("created_on", sa.BigInteger, nullable=False),
    sa.Column("updated_on", sa.BigInteger, nullable=False),
    sa.CheckConstraint("amount > 0", name="ck_refunds_amount_positive"),
    sa.Index("ix_refunds_site_order", "site_id", "order_id"),
)
