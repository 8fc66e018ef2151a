"""Data keys of organisations' contact persons and of visits (their notes and needs).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from wangge.registry.personal_data import subjects

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    subjects.create_all(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("personal data keys are never dropped by a migration")
