"""The Telegram bridge (issue 18): which chat a guild is linked to, the chat's members the bot has
seen (for ``/all``), and who may control the music from Telegram.

Revision ID: 0007
Revises: 0006
Create Date: 2027-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copy of the column type at this revision (migrations never import models).
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A guild links to at most one chat (the key), a chat to at most one guild (the unique index).
    op.create_table(
        "telegram_links",
        sa.Column("guild_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("chat_title", sa.String(255), nullable=True),
        sa.Column("linked_by", sa.BigInteger, nullable=False),  # the Discord user who ran /telegram link
        sa.Column("confirmed_by", sa.BigInteger, nullable=False),  # the Telegram admin who sent the code
        sa.Column("linked_at", _TS, nullable=False),
    )
    op.create_index("uq_telegram_links_chat", "telegram_links", ["chat_id"], unique=True)
    op.create_table(
        "telegram_members",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("first_name", sa.String(255), nullable=False),
        sa.Column("last_name", sa.String(255), nullable=True),
        sa.Column("is_bot", sa.Boolean, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
    )
    with op.batch_alter_table("guild_settings") as batch:
        batch.add_column(sa.Column("telegram_control", sa.String(16), nullable=False,
                                   server_default=sa.text("'admins'")))


def downgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch:
        batch.drop_column("telegram_control")
    op.drop_table("telegram_members")
    op.drop_index("uq_telegram_links_chat", table_name="telegram_links")
    op.drop_table("telegram_links")
