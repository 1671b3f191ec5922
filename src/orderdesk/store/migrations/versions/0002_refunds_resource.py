"""refunds resource, idempotency keys, site processors, simulated ledger, processor events

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("payment_reference", sa.String(64), nullable=True))
    op.create_index("ix_orders_payment_reference", "orders", ["payment_reference"])
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(sa.Column("refund_type", sa.String(16), nullable=False, server_default="product"))
        batch.add_column(sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("breakdown", sa.Text, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("metadata", sa.Text, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("processor", sa.String(16), nullable=False, server_default="simulated"))
        batch.add_column(sa.Column("request_key", sa.String(300), nullable=True))
        batch.add_column(sa.Column("expires_on", sa.BigInteger, nullable=True))
        batch.create_check_constraint(
            "ck_refunds_refunded_within_amount", "refunded_amount >= 0 AND refunded_amount <= amount"
        )
        batch.create_unique_constraint("uq_refunds_request_key", ["request_key"])
    # Refunds that succeeded before this migration refunded their whole amount.
    op.execute("UPDATE refunds SET refunded_amount = amount WHERE state = 'succeeded'")
    op.create_index("ix_refunds_site_created", "refunds", ["site_id", "created_on", "id"])
    op.create_index("ix_refunds_state", "refunds", ["state", "updated_on"])
    op.create_index("ix_refunds_processor_reference", "refunds", ["processor_reference"])
    op.create_table(
        "refund_items",
        sa.Column("refund_id", sa.String(32), sa.ForeignKey("refunds.id"), primary_key=True),
        sa.Column("sku_id", sa.String(255), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_refund_items_sku", "refund_items", ["sku_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("token_id", sa.String(24), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("content_type", sa.String(128), nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("created_on", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("token_id", "key", name="uq_idempotency_token_key"),
    )
    op.create_index("ix_idempotency_created", "idempotency_keys", ["created_on"])
    op.create_table(
        "site_processors",
        sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("secret_key", sa.String(255), nullable=False),
        sa.Column("api_base", sa.String(255), nullable=True),
        sa.Column("webhook_secret", sa.String(255), nullable=True),
        sa.Column("updated_on", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "simulated_refunds",
        sa.Column("refund_id", sa.String(64), primary_key=True),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("card_last4", sa.String(4), nullable=True),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("calls", sa.Integer, nullable=False),
        sa.Column("created_on", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "processor_events",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("site_id", sa.String(24), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("received_on", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("processor_events", "simulated_refunds", "site_processors", "idempotency_keys", "refund_items"):
        op.drop_table(table)
    for index in ("ix_refunds_processor_reference", "ix_refunds_state", "ix_refunds_site_created"):
        op.drop_index(index, "refunds")
    with op.batch_alter_table("refunds") as batch:
        batch.drop_constraint("uq_refunds_request_key", type_="unique")
        batch.drop_constraint("ck_refunds_refunded_within_amount", type_="check")
        for column in ("expires_on", "request_key", "processor", "metadata", "breakdown", "refunded_amount",
                       "refund_type"):
            batch.drop_column(column)
    op.drop_index("ix_orders_payment_reference", "orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("payment_reference")
