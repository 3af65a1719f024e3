"""The issuance pipeline: queued documents, signed transactions (the outbox), nonces, leases.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queued_documents",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("agency_id", sa.String(31), sa.ForeignKey("agencies.id"), nullable=False, index=True),
        sa.Column("document_type", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.BigInteger),
        sa.Column("salted", sa.JSON, nullable=False),
        sa.Column("accepted_at", sa.Float, nullable=False),
    )
    op.create_table(
        "transactions",
        sa.Column("tx_hash", sa.String(66), primary_key=True),
        sa.Column("key_address", sa.String(42), nullable=False, index=True),
        sa.Column("nonce", sa.BigInteger, nullable=False),
        sa.Column("root", sa.String(64), index=True),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("max_fee", sa.String(80), nullable=False),
        sa.Column("priority_fee", sa.String(80), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("block_hash", sa.String(66)),
        sa.Column("sent_at", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "key_nonces",
        sa.Column("key_address", sa.String(42), primary_key=True),
        sa.Column("next_nonce", sa.BigInteger, nullable=False),
    )
    # Keys added before the pipeline get their nonce counter (the node's count lifts it on first use).
    op.execute("INSERT INTO key_nonces (key_address, next_nonce) SELECT address, 0 FROM issuer_keys")
    op.create_table(
        "leases",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("leases", "key_nonces", "transactions", "queued_documents"):
        op.drop_table(table)
