"""The callers' data keys (one per ticket).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from wangge.hotline_bridge.personal_data import metadata

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("data keys are never dropped by a migration")
