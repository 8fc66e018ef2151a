"""The key ring (per-person data keys) and the keyed-hash identity index.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from wangge.registry.personal_data import metadata

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("personal data keys are never dropped by a migration")
