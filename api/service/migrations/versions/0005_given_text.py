"""Text the client supplies is stored whatever its length on PostgreSQL (issue #16): names, file names and
the ids of a scenario or of a published result become ``text`` there (`api.service.db.Given`).  SQLite
does not enforce a declared length, so nothing changes on SQLite (and no table is rebuilt).

Revision ID: 0005
Revises: 0004
Create Date: 2026-05-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# table: (column, its length before, nullable)
COLUMNS = {
    "scenarios": (("name", 200, False), ("filename", 255, True), ("path", 500, False)),
    "admissions": (("student_id", 64, False), ("region_id", 64, True), ("school_id", 64, True),
                   ("admit_date", 10, True), ("confirm_date", 10, True)),
    "figures": (("key", 64, True), ("region_id", 64, True)),
    "violations": (("student_id", 64, True), ("school_id", 64, True), ("batch", 16, True),
                   ("other_student_id", 64, True)),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        for column, length, nullable in columns:
            # varchar to text: the same storage, no rewrite of the table
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length),
                            existing_nullable=nullable)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        for column, length, nullable in columns:  # fails on a longer value, as it should
            op.alter_column(table, column, type_=sa.String(length), existing_type=sa.Text(),
                            existing_nullable=nullable)
