"""the sandbox's injected faults and snapshots

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_faults",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("delay_ms", sa.Integer, nullable=False),
        sa.Column("drop", sa.Boolean, nullable=False),
        sa.Column("times", sa.Integer, nullable=True),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("chaos", sa.String(16), nullable=True),
        sa.Column("draws", sa.Integer, nullable=False),
        sa.Column("applied", sa.Integer, nullable=False),
        sa.Column("created_on", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_sandbox_faults_site", "sandbox_faults", ["site_id", "created_on"])
    op.create_table(
        "sandbox_snapshots",
        sa.Column("site_id", sa.String(24), sa.ForeignKey("sites.id"), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("created_on", sa.BigInteger, nullable=False),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sandbox_snapshots")
    op.drop_index("ix_sandbox_faults_site", table_name="sandbox_faults")
    op.drop_table("sandbox_faults")
