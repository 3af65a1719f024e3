"""API keys with scopes, stored as Argon2id hashes; the access log.

The SHA-256 digests of earlier agency tokens move to `api_keys` as Argon2id hashes of
those digests, so tokens already handed out keep working with every scope of an agency.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from ledger.api_keys import KEY_ID_HEX, TokenHasher

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    api_keys = op.create_table(
        "api_keys",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("agency_id", sa.String(31), sa.ForeignKey("agencies.id"), index=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("scopes", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(12)),
        sa.Column("agency_id", sa.String(31), index=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(66)),
        sa.Column("status", sa.Integer, nullable=False),
    )
    earlier = op.get_bind().execute(sa.text("SELECT token_hash, agency_id, label FROM agency_tokens"))
    hasher = TokenHasher()
    moved_at = datetime.now(UTC)
    rows = [
        {
            "id": digest[:KEY_ID_HEX],
            "agency_id": agency_id,
            "label": label,
            "scopes": "audit issue revoke",
            "secret_hash": hasher.hash_digest(digest),
            "created_at": moved_at,
            "revoked_at": None,
        }
        for digest, agency_id, label in earlier
    ]
    if rows:
        op.bulk_insert(api_keys, rows)
    op.drop_table("agency_tokens")


def downgrade() -> None:
    raise NotImplementedError("API keys are Argon2id hashes now; the SHA-256 digests they replaced cannot be restored")
