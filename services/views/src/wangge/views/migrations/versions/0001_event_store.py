"""The views service's event store and the projection runner's tables.

Revision ID: 0001
Revises:
"""

from alembic import op

from wangge.service.migrations import create_event_store

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_event_store(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("the event store is never dropped by a migration")
