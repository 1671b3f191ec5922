"""sites, tokens, orders, order history, refunds

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("ecommerce_enabled", sa.Boolean, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("application_fee_bps", sa.Integer, nullable=False),
        sa.Column("created_on", sa.BigInteger, nullable=False),
        sa.Column("updated_on", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.String(255), nullable=False),
        sa.Column("rate_limit", sa.Integer, nullable=True),
        sa.Column("created_on", sa.BigInteger, nullable=False),
        sa.Column("last_used_on", sa.BigInteger, nullable=True),
        sa.Column("revoked_on", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "orders",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("order_id", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("accepted_on", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("captured_amount", sa.BigInteger, nullable=False),
        sa.Column("refund_reserved", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", sa.LargeBinary, nullable=False),
        sa.Column("updated_on", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("site_id", "order_id", name="uq_orders_site_order"),
        sa.CheckConstraint(
            "refund_reserved >= 0 AND refund_reserved <= captured_amount",
            name="ck_orders_refund_within_capture",
        ),
    )
    op.create_index(
        "ix_orders_site_accepted", "orders", ["site_id", sa.text("accepted_on DESC"), "order_id"]
    )
    op.create_index(
        "ix_orders_site_status_accepted",
        "orders",
        ["site_id", "status", sa.text("accepted_on DESC"), "order_id"],
    )
    op.create_table(
        "order_history",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(24), nullable=False),
        sa.Column("order_id", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("before", sa.Text, nullable=False),
        sa.Column("after", sa.Text, nullable=False),
        sa.Column("token_id", sa.String(24), nullable=True),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_order_history_order", "order_history", ["site_id", "order_id", "id"])
    op.create_table(
        "refunds",
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
    )
    op.create_index("ix_refunds_site_order", "refunds", ["site_id", "order_id"])


def downgrade() -> None:
    for table in ("refunds", "order_history", "orders", "tokens", "sites"):
        op.drop_table(table)
