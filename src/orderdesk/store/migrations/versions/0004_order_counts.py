"""order counts per site and status, kept by triggers, so that a list's total costs one row; an order's
refunds found (and ordered) by one index

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# SQLite has one writer at a time, so row triggers cannot deadlock on the counters.
_SQLITE = [
    """CREATE TRIGGER orders_count_insert AFTER INSERT ON orders BEGIN
         INSERT INTO order_counts (site_id, status, count) VALUES (NEW.site_id, NEW.status, 1)
         ON CONFLICT (site_id, status) DO UPDATE SET count = count + 1;
       END""",
    """CREATE TRIGGER orders_count_delete AFTER DELETE ON orders BEGIN
         UPDATE order_counts SET count = count - 1 WHERE site_id = OLD.site_id AND status = OLD.status;
       END""",
    """CREATE TRIGGER orders_count_status AFTER UPDATE OF status ON orders WHEN OLD.status IS NOT NEW.status BEGIN
         UPDATE order_counts SET count = count - 1 WHERE site_id = OLD.site_id AND status = OLD.status;
         INSERT INTO order_counts (site_id, status, count) VALUES (NEW.site_id, NEW.status, 1)
         ON CONFLICT (site_id, status) DO UPDATE SET count = count + 1;
       END""",
]

# PostgreSQL: statement triggers over transition tables, one upsert per statement (a seeding batch of
# thousands of orders touches each counter once), with the counters taken in one order (site, status) so
# that two transactions moving orders in opposite directions cannot deadlock on them.
_APPLY = """
    INSERT INTO order_counts (site_id, status, count)
    SELECT site_id, status, SUM(delta) FROM ({changes}) AS changes
    GROUP BY site_id, status ORDER BY site_id, status
    ON CONFLICT (site_id, status) DO UPDATE SET count = order_counts.count + EXCLUDED.count;
"""
_POSTGRES = [
    f"""CREATE FUNCTION orders_count_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            {_APPLY.format(changes="SELECT site_id, status, 1 AS delta FROM new_rows")}
          ELSIF TG_OP = 'DELETE' THEN
            {_APPLY.format(changes="SELECT site_id, status, -1 AS delta FROM old_rows")}
          ELSE
            {_APPLY.format(changes='''
              SELECT o.site_id, o.status, -1 AS delta FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE o.status <> n.status
              UNION ALL
              SELECT n.site_id, n.status, 1 AS delta FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE o.status <> n.status''')}
          END IF;
          RETURN NULL;
        END $$""",
    """CREATE TRIGGER orders_count_insert AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION orders_count_changes()""",
    """CREATE TRIGGER orders_count_delete AFTER DELETE ON orders REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION orders_count_changes()""",
    """CREATE TRIGGER orders_count_update AFTER UPDATE ON orders
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION orders_count_changes()""",
]


def upgrade() -> None:
    op.create_table(
        "order_counts",
        sa.Column("site_id", sa.String(24), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO order_counts (site_id, status, count) "
               "SELECT site_id, status, COUNT(*) FROM orders GROUP BY site_id, status")
    for statement in _SQLITE if op.get_bind().dialect.name == "sqlite" else _POSTGRES:
        op.execute(statement)
    # (site, order) alone let SQLite prefer (site, created) for the ORDER BY, walking every refund of
    # the site to find one order's.
    op.drop_index("ix_refunds_site_order", "refunds")
    op.create_index("ix_refunds_site_order", "refunds", ["site_id", "order_id", "created_on", "id"])


def downgrade() -> None:
    op.drop_index("ix_refunds_site_order", "refunds")
    op.create_index("ix_refunds_site_order", "refunds", ["site_id", "order_id"])
    for trigger in ("orders_count_insert", "orders_count_delete", "orders_count_status", "orders_count_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + ("" if op.get_bind().dialect.name == "sqlite" else " ON orders"))
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS orders_count_changes()")
    op.drop_table("order_counts")
