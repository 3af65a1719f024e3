"""Initial schema: agencies, tokens, issuer keys, batches, documents, status changes.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _created_at() -> sa.Column[datetime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(31), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_ar", sa.String(200)),
        sa.Column("domain", sa.String(253)),
        sa.Column("tx_hash", sa.String(66)),
        _created_at(),
    )
    op.create_table(
        "agency_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(31), sa.ForeignKey("agencies.id"), nullable=False, index=True),
        sa.Column("label", sa.String(100), nullable=False),
        _created_at(),
    )
    op.create_table(
        "issuer_keys",
        sa.Column("address", sa.String(42), primary_key=True),
        sa.Column("agency_id", sa.String(31), sa.ForeignKey("agencies.id"), nullable=False, index=True),
        sa.Column("encrypted_key", sa.Text, nullable=False),
        sa.Column("valid_from", sa.BigInteger, nullable=False),
        sa.Column("valid_until", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", sa.String(66)),
        _created_at(),
    )
    op.create_table(
        "batches",
        sa.Column("root", sa.String(64), primary_key=True),
        sa.Column("agency_id", sa.String(31), sa.ForeignKey("agencies.id"), nullable=False, index=True),
        sa.Column("key_address", sa.String(42), nullable=False),
        sa.Column("document_count", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.BigInteger),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Integer, nullable=False),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("anchored_at", sa.BigInteger),
        sa.Column("error", sa.Text),
        _created_at(),
    )
    op.create_table(
        "documents",
        sa.Column("target_hash", sa.String(64), primary_key=True),
        sa.Column("batch_root", sa.String(64), sa.ForeignKey("batches.root"), nullable=False, index=True),
        sa.Column("document_type", sa.String(64), nullable=False),
        sa.Column("proof", sa.JSON, nullable=False),
        sa.Column("wrapped", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Integer, nullable=False),
        _created_at(),
    )
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("hash", sa.String(64), nullable=False, index=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        _created_at(),
    )


def downgrade() -> None:
    for table in ("status_changes", "documents", "batches", "issuer_keys", "agency_tokens", "agencies"):
        op.drop_table(table)
