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
    # The processor's payment intent (or charge) id, so that its events can find the order.
    sa.Column("payment_reference", sa.String(64), nullable=True),
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

# How many orders each site has in each status, kept by triggers on `orders` (migration 0004).
order_counts = sa.Table(
    "order_counts",
    metadata,
    sa.Column("site_id", sa.String(24), primary_key=True),
    sa.Column("status", sa.String(16), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
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
sa.Index("ix_orders_payment_reference", orders.c.payment_reference)

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
    sa.Column("refund_type", sa.String(16), nullable=False, server_default="product"),
    sa.Column("refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
    # How the amount splits over products, shipping, tax and items (JSON): what later refunds may take.
    sa.Column("breakdown", sa.Text, nullable=False, server_default="{}"),
    sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),
    sa.Column("processor", sa.String(16), nullable=False, server_default="simulated"),
    # "<token id>:<Idempotency-Key>": a retried request finds the refund it already made.
    sa.Column("request_key", sa.String(300), nullable=True),
    sa.Column("expires_on", sa.BigInteger, nullable=True),
    sa.CheckConstraint("amount > 0", name="ck_refunds_amount_positive"),
    sa.CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="ck_refunds_refunded_within_amount"),
    sa.UniqueConstraint("request_key", name="uq_refunds_request_key"),
    sa.Index("ix_refunds_site_order", "site_id", "order_id", "created_on", "id"),
    sa.Index("ix_refunds_site_created", "site_id", "created_on", "id"),
    sa.Index("ix_refunds_state", "state", "updated_on"),
    sa.Index("ix_refunds_processor_reference", "processor_reference"),
)

# What an item refund took of each purchased item (skuId = the item's variantId).
refund_items = sa.Table(
    "refund_items",
    metadata,
    sa.Column("refund_id", sa.String(32), sa.ForeignKey("refunds.id"), primary_key=True),
    sa.Column("sku_id", sa.String(255), primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Index("ix_refund_items_sku", "sku_id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("token_id", sa.String(24), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(8), nullable=False),  # running, done
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("content_type", sa.String(128), nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    sa.Column("created_on", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("token_id", "key", name="uq_idempotency_token_key"),
    sa.Index("ix_idempotency_created", "created_on"),
)

site_processors = sa.Table(
    "site_processors",
    metadata,
    sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # stripe
    sa.Column("secret_key", sa.String(255), nullable=False),
    sa.Column("api_base", sa.String(255), nullable=True),
    sa.Column("webhook_secret", sa.String(255), nullable=True),
    sa.Column("updated_on", sa.BigInteger, nullable=False),
)

# The simulated processor's own ledger: it lives in our database so that it answers the same
# idempotency key the same way from every process and across restarts.
simulated_refunds = sa.Table(
    "simulated_refunds",
    metadata,
    sa.Column("refund_id", sa.String(64), primary_key=True),
    sa.Column("reference", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("card_last4", sa.String(4), nullable=True),
    sa.Column("reason", sa.String(64), nullable=True),
    sa.Column("calls", sa.Integer, nullable=False),
    sa.Column("created_on", sa.BigInteger, nullable=False),
)

# Processor events already applied (Stripe delivers at least once).
processor_events = sa.Table(
    "processor_events",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("site_id", sa.String(24), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("received_on", sa.BigInteger, nullable=False),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), nullable=False),
    sa.Column("trigger_type", sa.String(64), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("secret_key", sa.String(64), nullable=False),  # signs deliveries, so it is kept, not hashed
    sa.Column("created_on", sa.BigInteger, nullable=False),
    sa.Column("last_triggered_on", sa.BigInteger, nullable=True),
    sa.Column("deactivated_on", sa.BigInteger, nullable=True),  # set when its deliveries keep failing
    sa.Index("ix_webhooks_site_trigger", "site_id", "trigger_type"),
)

# The outbox: every event, written in the same transaction as the change it tells of.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(32), nullable=False, unique=True),  # X-Orderdesk-Event-Id
    sa.Column("site_id", sa.String(24), nullable=False),
    sa.Column("trigger_type", sa.String(64), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),  # the exact bytes sent (and signed)
    sa.Column("created_on", sa.BigInteger, nullable=False),
)

# One row per (webhook, event): delivered in id order per webhook, claimed with a lease.
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("webhook_id", sa.String(24), nullable=False),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending, delivered, failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_on", sa.BigInteger, nullable=False),
    sa.Column("claimed_until", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_on", sa.BigInteger, nullable=False),
    sa.Column("finished_on", sa.BigInteger, nullable=True),
    sa.Index("ix_deliveries_due", "state", "next_attempt_on"),
    sa.Index("ix_deliveries_webhook", "webhook_id", "state", "id"),
)

delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.BigInteger, nullable=False),
    sa.Column("webhook_id", sa.String(24), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("error", sa.String(255), nullable=True),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Index("ix_delivery_attempts_webhook", "webhook_id", "id"),
)

# Emails to customers: written with the change, sent after commit (SMTP), or kept in the mailbox.
emails = sa.Table(
    "emails",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("site_id", sa.String(24), nullable=False),
    sa.Column("order_id", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending, sent, captured
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_on", sa.BigInteger, nullable=False),
    sa.Column("claimed_until", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("error", sa.String(255), nullable=True),
    sa.Column("created_on", sa.BigInteger, nullable=False),
    sa.Column("sent_on", sa.BigInteger, nullable=True),
    sa.Index("ix_emails_due", "state", "next_attempt_on"),
    sa.Index("ix_emails_site", "site_id", "id"),
)

# The sandbox's injected faults (domain/faults.py), kept with the site so that every process applies them.
sandbox_faults = sa.Table(
    "sandbox_faults",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), nullable=False),
    sa.Column("operation", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("delay_ms", sa.Integer, nullable=False),
    sa.Column("drop", sa.Boolean, nullable=False),
    sa.Column("times", sa.Integer, nullable=True),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=True),  # a processor fault's
    sa.Column("chaos", sa.String(16), nullable=True),  # a webhook-delivery fault's
    sa.Column("draws", sa.Integer, nullable=False),  # requests that matched it so far
    sa.Column("applied", sa.Integer, nullable=False),  # requests it changed so far
    sa.Column("created_on", sa.BigInteger, nullable=False),
    sa.Index("ix_sandbox_faults_site", "site_id", "created_on"),
)

# The sandbox's snapshots of a site's data (store/repositories/site_data.py), restored byte for byte.
sandbox_snapshots = sa.Table(
    "sandbox_snapshots",
    metadata,
    sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), primary_key=True),
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("created_on", sa.BigInteger, nullable=False),
    sa.Column("orders", sa.Integer, nullable=False),  # how many it holds, for the list
    sa.Column("data", sa.LargeBinary, nullable=False),  # every row of the site's tables, as msgpack
)
