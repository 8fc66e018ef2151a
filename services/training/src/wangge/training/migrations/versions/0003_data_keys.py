"""Data keys of the training service's data subjects (workers, sessions' and forums' outside
people), wrapped by the key-encryption key.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from wangge.training.personal_data import metadata

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("data keys are never dropped by a migration")
