"""Who asked for a play from outside Discord (a Telegram member): their name, as the queue credits them,
so ``/history`` names them instead of reading the play as autoplay's.

Revision ID: 0010
Revises: 0009
Create Date: 2027-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("play_history") as batch:
        batch.add_column(sa.Column("requester_name", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("play_history") as batch:
        batch.drop_column("requester_name")
