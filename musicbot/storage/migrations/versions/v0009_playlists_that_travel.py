"""Playlists that travel (issue 19): a server's own playlists next to its members', and members'
playlists shared with a server.

Revision ID: 0009
Revises: 0008
Create Date: 2027-02-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the column types at this revision (migrations never import models).
_AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Every playlist so far is a member's. A server's keeps the guild's id in owner_id: Discord never
    # gives a user and a guild the same id, so the (owner_id, name_lower) key stays as it is.
    # Not in batch mode: on SQLite that copies the table, and dropping the old copy cascades to every
    # playlist's tracks (foreign keys are on). Both backends add a column with a constant default in place.
    op.add_column("playlists", sa.Column("scope", sa.String(8), nullable=False, server_default=sa.text("'user'")))
    op.create_table(
        "playlist_shares",
        sa.Column("playlist_id", _AUTO_ID, sa.ForeignKey("playlists.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("guild_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("owner_name", sa.String(100), nullable=False),
        sa.Column("shared_at", _TS, nullable=False),
    )
    op.create_index("ix_playlist_shares_guild", "playlist_shares", ["guild_id"])


def downgrade() -> None:
    op.drop_index("ix_playlist_shares_guild", table_name="playlist_shares")
    op.drop_table("playlist_shares")
    # A server's playlists have no place in the older schema, which knows only members' playlists.
    op.execute("DELETE FROM playlist_tracks WHERE playlist_id IN (SELECT id FROM playlists WHERE scope = 'guild')")
    op.execute("DELETE FROM playlists WHERE scope = 'guild'")
    # In place too (SQLite 3.35 on), for the same reason.
    op.drop_column("playlists", "scope")
