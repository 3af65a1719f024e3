"""Verifiable Credentials: agencies' credential keys, and each document's signed credential and status index.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credential_keys",
        sa.Column("key_id", sa.String(66), primary_key=True),
        sa.Column("agency_id", sa.String(31), sa.ForeignKey("agencies.id"), nullable=False, index=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("encrypted_key", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "credentials",
        sa.Column("target_hash", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(31), sa.ForeignKey("agencies.id"), nullable=False, index=True),
        sa.Column("batch_root", sa.String(64), nullable=False),
        sa.Column("status_index", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(66), nullable=False),
        sa.Column("credential", sa.JSON()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("agency_id", "status_index"),
    )


def downgrade() -> None:
    op.drop_table("credentials")
    op.drop_table("credential_keys")
