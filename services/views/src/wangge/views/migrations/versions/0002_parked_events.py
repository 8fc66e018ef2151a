"""Parked events: what a projection could not apply, waiting in order for a retry.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from wangge.service.migrations import create_runner_state

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    create_runner_state(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("parked events are never dropped by a migration")
