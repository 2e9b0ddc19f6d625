"""Guild settings for the outside services (issue 19): synced lyrics on or off, the SponsorBlock
categories skipped, the voice channel's status showing the track.

Revision ID: 0008
Revises: 0007
Create Date: 2027-02-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Server defaults are the new defaults: lyrics and the voice status on; NULL categories read as
    # the default ones (music_offtopic, sponsor), so a guild that never chose follows them.
    with op.batch_alter_table("guild_settings") as batch:
        batch.add_column(sa.Column("lyrics", sa.Boolean, nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("sponsorblock_categories", sa.JSON, nullable=True))
        batch.add_column(sa.Column("voice_status", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch:
        for column in ("voice_status", "sponsorblock_categories", "lyrics"):
            batch.drop_column(column)
