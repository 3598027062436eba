"""feed_tokens: revocable personal calendar feed tokens

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import makesense_api.kit.types

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('feed_token',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('last_used_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_feed_token_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_token'))
    )
    with op.batch_alter_table('feed_token', schema=None) as batch_op:
        batch_op.create_index('ix_feed_token_person_created', ['person_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feed_token_token_hash'), ['token_hash'], unique=True)

    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index('ix_registration_event_updated', ['event_id', 'updated_at'], unique=False)
        batch_op.create_index('ix_registration_person_updated', ['person_id', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_person_updated')
        batch_op.drop_index('ix_registration_event_updated')

    with op.batch_alter_table('feed_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_token_token_hash'))
        batch_op.drop_index('ix_feed_token_person_created')

    op.drop_table('feed_token')
