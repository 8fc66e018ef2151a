"""Data keys of mediation parties from outside the register, one per party (they shared their
case's key before).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from wangge.cases.personal_data import party_keys

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    party_keys.create(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("data keys are never dropped by a migration")
