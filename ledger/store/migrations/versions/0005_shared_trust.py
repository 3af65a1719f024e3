"""Shared trust: agency admins' keys kept by the installation, and the council's proposals.

An admin key may be kept before the council admits its agency, so it has no foreign key.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency_admins",
        sa.Column("agency_id", sa.String(31), primary_key=True),
        sa.Column("address", sa.String(42), nullable=False, unique=True),
        sa.Column("encrypted_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "council_proposals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("target", sa.String(42), nullable=False),
        sa.Column("calldata", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(66), nullable=False),
        sa.Column("delay", sa.BigInteger(), nullable=False),
        sa.Column("safe_nonce", sa.BigInteger(), nullable=False),
        sa.Column("safe_hash", sa.String(66), nullable=False, unique=True),
        sa.Column("proposed_by", sa.String(42), nullable=False),
        sa.Column("proposed_block", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("scheduled_tx", sa.String(66)),
        sa.Column("executed_tx", sa.String(66)),
    )


def downgrade() -> None:
    op.drop_table("council_proposals")
    op.drop_table("agency_admins")
