"""Relying parties, their API keys and their presentation requests (OpenID4VP).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relying_parties",
        sa.Column("id", sa.String(31), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_ar", sa.String(200), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("callback_url", sa.String(2000)),
        sa.Column("callback_secret", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "presentation_requests",
        sa.Column("id", sa.String(43), primary_key=True),
        sa.Column("relying_party_id", sa.String(31), sa.ForeignKey("relying_parties.id"), nullable=False, index=True),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("redirect_uri", sa.String(2000)),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("collected_at", sa.DateTime(timezone=True)),
        sa.Column("result", sa.JSON()),
        sa.Column("refusals", sa.JSON(), nullable=False),
        sa.Column("response_code", sa.String(43)),
    )
    with op.batch_alter_table("api_keys") as table:  # SQLite alters a table by copying it
        table.add_column(sa.Column("relying_party_id", sa.String(31), nullable=True))
        table.create_index("ix_api_keys_relying_party_id", ["relying_party_id"])
        table.create_foreign_key("fk_api_keys_relying_party", "relying_parties", ["relying_party_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as table:
        table.drop_constraint("fk_api_keys_relying_party", type_="foreignkey")
        table.drop_index("ix_api_keys_relying_party_id")
        table.drop_column("relying_party_id")
    op.drop_table("presentation_requests")
    op.drop_table("relying_parties")
