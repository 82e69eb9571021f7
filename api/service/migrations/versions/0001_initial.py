"""Initial schema: scenarios, runs, admissions, figures, audits, violations.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(255), nullable=True),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("info", sa.JSON(), nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("scenario_id", sa.String(64), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("time_limit", sa.Float(), nullable=False),
        sa.Column("hint", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index("ix_runs_scenario_id", "runs", ["scenario_id"])
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_table(
        "admissions",
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("pos", sa.Integer(), primary_key=True),
        sa.Column("student_id", sa.String(64), nullable=False),
        sa.Column("region_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("school_id", sa.String(64), nullable=True),
        sa.Column("batch", sa.Integer(), nullable=True),
        sa.Column("choice_rank", sa.Integer(), nullable=True),
        sa.Column("admit_date", sa.String(10), nullable=True),
        sa.Column("confirm_date", sa.String(10), nullable=True),
    )
    op.create_index("ix_admissions_outcome", "admissions", ["run_id", "outcome", "pos"])
    op.create_index("ix_admissions_region", "admissions", ["run_id", "region_id", "pos"])
    op.create_index("ix_admissions_school", "admissions", ["run_id", "school_id", "pos"])
    op.create_index("ix_admissions_student", "admissions", ["run_id", "student_id"])
    op.create_table(
        "figures",
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("pos", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=True),
        sa.Column("region_id", sa.String(64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_figures_region", "figures", ["run_id", "kind", "region_id", "pos"])
    op.create_table(
        "audits",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("scenario_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=True),
    )
    op.create_index("ix_audits_scenario_id", "audits", ["scenario_id"])
    op.create_table(
        "violations",
        sa.Column("audit_id", sa.String(64), sa.ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("pos", sa.Integer(), primary_key=True),
        sa.Column("rule", sa.String(8), nullable=False),
        sa.Column("student_id", sa.String(64), nullable=True),
        sa.Column("school_id", sa.String(64), nullable=True),
        sa.Column("batch", sa.String(16), nullable=True),
        sa.Column("other_student_id", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_violations_rule", "violations", ["audit_id", "rule", "pos"])
    op.create_index("ix_violations_school", "violations", ["audit_id", "school_id", "pos"])


def downgrade() -> None:
    for table in ("violations", "audits", "figures", "admissions", "runs", "scenarios"):
        op.drop_table(table)
