"""webhooks, the events outbox, deliveries and their attempts, emails

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("trigger_type", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret_key", sa.String(64), nullable=False),
        sa.Column("created_on", sa.BigInteger, nullable=False),
        sa.Column("last_triggered_on", sa.BigInteger, nullable=True),
        sa.Column("deactivated_on", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_webhooks_site_trigger", "webhooks", ["site_id", "trigger_type"])
    op.create_table(
        "events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(32), nullable=False, unique=True),
        sa.Column("site_id", sa.String(24), nullable=False),
        sa.Column("trigger_type", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_on", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.String(24), nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_on", sa.BigInteger, nullable=False),
        sa.Column("claimed_until", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_on", sa.BigInteger, nullable=False),
        sa.Column("finished_on", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_on"])
    op.create_index("ix_deliveries_webhook", "deliveries", ["webhook_id", "state", "id"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.BigInteger, nullable=False),
        sa.Column("webhook_id", sa.String(24), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.String(255), nullable=True),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_delivery_attempts_webhook", "delivery_attempts", ["webhook_id", "id"])
    op.create_table(
        "emails",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(24), nullable=False),
        sa.Column("order_id", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_on", sa.BigInteger, nullable=False),
        sa.Column("claimed_until", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("error", sa.String(255), nullable=True),
        sa.Column("created_on", sa.BigInteger, nullable=False),
        sa.Column("sent_on", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_emails_due", "emails", ["state", "next_attempt_on"])
    op.create_index("ix_emails_site", "emails", ["site_id", "id"])


def downgrade() -> None:
    for table in ("emails", "delivery_attempts", "deliveries", "events", "webhooks"):
        op.drop_table(table)
