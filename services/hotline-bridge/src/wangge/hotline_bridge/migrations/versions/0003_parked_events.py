"""Parked events: what a projection could not apply, waiting in order for a retry.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from wangge.service.migrations import create_runner_state

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    create_runner_state(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("parked events are never dropped by a migration")
