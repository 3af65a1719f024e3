"""Agency admins: the key that manages an agency's issuer keys, kept encrypted when the installation holds it.

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
        sa.Column("agency_id", sa.String(31), sa.ForeignKey("agencies.id"), primary_key=True),
        sa.Column("address", sa.String(42), nullable=False, unique=True),
        sa.Column("encrypted_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agency_admins")
