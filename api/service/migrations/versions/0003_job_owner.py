"""Jobs claimed by a server process: the owner and its heartbeat on runs, analyses and audits; analyses
can be cancelled like runs (issue #12).

Several server processes may share one database (PostgreSQL): a job is claimed by a conditional update
that records its owner, the owner touches ``heartbeat_at`` while the job runs, and a job whose owner is
gone (dead on this host, or silent too long) is failed "interrupted" by whichever process notices.

Revision ID: 0003
Revises: 0002
Create Date: 2026-05-15
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("runs", "analyses", "audits")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("owner", sa.String(100), nullable=True))
            batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("cancelled", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.drop_column("cancelled")
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("heartbeat_at")
            batch.drop_column("owner")
