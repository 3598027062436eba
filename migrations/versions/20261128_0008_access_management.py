"""access_management: client secret rotation and access management

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import makesense_api.kit.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_secret_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('previous_secret_expires_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('oauth_code', schema=None) as batch_op:
        batch_op.create_index('ix_oauth_code_expires_at', ['expires_at'], unique=False)
    with op.batch_alter_table('access_token', schema=None) as batch_op:
        batch_op.create_index('ix_access_token_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_access_token_revoked_at', ['revoked_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('access_token', schema=None) as batch_op:
        batch_op.drop_index('ix_access_token_revoked_at')
        batch_op.drop_index('ix_access_token_expires_at')
    with op.batch_alter_table('oauth_code', schema=None) as batch_op:
        batch_op.drop_index('ix_oauth_code_expires_at')
    with op.batch_alter_table('oauth_client', schema=None) as batch_op:
        batch_op.drop_column('previous_secret_expires_at')
        batch_op.drop_column('previous_secret_hash')
