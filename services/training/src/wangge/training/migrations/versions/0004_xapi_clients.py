"""Credentials of xAPI clients (learning record providers and readers): a key, the scrypt hash
of a secret, a role.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from wangge.training.xapi_clients import metadata

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("credentials are revoked, never dropped by a migration")
