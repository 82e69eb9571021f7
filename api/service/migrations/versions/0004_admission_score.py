"""The student's score with each admission, indexed, so that the students of a run can be paged in score
order on the server (issue #13: the workbench's tables are sorted by the server, not page by page).
Runs stored before this migration have no score (null).

Revision ID: 0004
Revises: 0003
Create Date: 2026-05-20
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admissions") as batch:
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
    op.create_index("ix_admissions_score", "admissions", ["run_id", "score", "student_id"])


def downgrade() -> None:
    op.drop_index("ix_admissions_score", table_name="admissions")
    with op.batch_alter_table("admissions") as batch:
        batch.drop_column("score")
