"""Spreadsheet issuance jobs and their rows.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issuance_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("agency_id", sa.String(31), sa.ForeignKey("agencies.id"), nullable=False, index=True),
        sa.Column("document_type", sa.String(32), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("source_name", sa.String(255), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False, index=True),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("last_row", sa.Integer(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_invalid", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "issuance_job_rows",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("issuance_jobs.id"), primary_key=True),
        sa.Column("row_number", sa.Integer(), primary_key=True),
        sa.Column("target_hash", sa.String(64), index=True),
        sa.Column("problems", sa.JSON()),
    )


def downgrade() -> None:
    op.drop_table("issuance_job_rows")
    op.drop_table("issuance_jobs")
