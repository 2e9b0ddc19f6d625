"""Audit log of admin actions; crossfade seconds as a guild setting.

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # A server default so rows written by 0001 get a value in place (crossfade off, as before).
    op.add_column(
        "guild_settings",
        sa.Column("crossfade_s", sa.Float, nullable=False, server_default=sa.text("0")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", _AUTO_ID, primary_key=True, autoincrement=True),
        sa.Column("guild_id", sa.BigInteger, nullable=False),
        sa.Column("actor_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_log_guild_created", "audit_log", ["guild_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_guild_created", table_name="audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("guild_settings") as batch:
        batch.drop_column("crossfade_s")
