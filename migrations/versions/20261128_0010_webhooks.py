"""webhooks: webhook endpoints, deliveries and attempts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import makesense_api.kit.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text('webhooks_at IS NULL')


def upgrade() -> None:
    op.create_table('webhook_endpoint',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('chapter_id', sa.Uuid(), nullable=True),
    sa.Column('partner_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('subtree_id', sa.Uuid(), nullable=True),
    sa.Column('secret', sa.String(length=500), nullable=False),
    sa.Column('previous_secret', sa.String(length=500), nullable=True),
    sa.Column('previous_secret_expires_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('(chapter_id IS NULL) <> (partner_id IS NULL)', name=op.f('ck_webhook_endpoint_one_owner')),
    sa.ForeignKeyConstraint(['chapter_id'], ['chapter.id'], name=op.f('fk_webhook_endpoint_chapter_id_chapter'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['person.id'], name=op.f('fk_webhook_endpoint_created_by_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partner_organisation.id'], name=op.f('fk_webhook_endpoint_partner_id_partner_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subtree_id'], ['chapter.id'], name=op.f('fk_webhook_endpoint_subtree_id_chapter'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoint'))
    )
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_endpoint_chapter', ['chapter_id'], unique=False)
        batch_op.create_index('ix_webhook_endpoint_partner', ['partner_id'], unique=False)

    op.create_table('webhook_delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('endpoint_id', sa.Uuid(), nullable=False),
    sa.Column('domain_event_id', sa.Uuid(), nullable=True),
    sa.Column('msg_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('completed_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], name=op.f('fk_webhook_delivery_endpoint_id_webhook_endpoint'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_delivery')),
    sa.UniqueConstraint('endpoint_id', 'domain_event_id', name=op.f('uq_webhook_delivery_endpoint_id_domain_event_id')),
    sa.UniqueConstraint('msg_id', name=op.f('uq_webhook_delivery_msg_id'))
    )
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_delivery_endpoint_created', ['endpoint_id', 'created_at', 'id'], unique=False)

    op.create_table('webhook_attempt',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('endpoint_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('started_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('response_excerpt', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_delivery.id'], name=op.f('fk_webhook_attempt_delivery_id_webhook_delivery'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], name=op.f('fk_webhook_attempt_endpoint_id_webhook_endpoint'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempt'))
    )
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_attempt_delivery', ['delivery_id', 'number'], unique=False)
        batch_op.create_index('ix_webhook_attempt_endpoint_created', ['endpoint_id', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('domain_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhooks_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=True))
    # No endpoint exists yet: what happened before has nobody to be announced to.
    op.execute(sa.text('UPDATE domain_event SET webhooks_at = created_at'))
    with op.batch_alter_table('domain_event', schema=None) as batch_op:
        batch_op.create_index('ix_domain_event_webhooks_pending', ['id'], unique=False, sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    with op.batch_alter_table('domain_event', schema=None) as batch_op:
        batch_op.drop_index('ix_domain_event_webhooks_pending')
        batch_op.drop_column('webhooks_at')
    with op.batch_alter_table('webhook_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_attempt_endpoint_created')
        batch_op.drop_index('ix_webhook_attempt_delivery')
    op.drop_table('webhook_attempt')
    with op.batch_alter_table('webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_delivery_endpoint_created')
        batch_op.drop_index('ix_webhook_delivery_due')
    op.drop_table('webhook_delivery')
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_endpoint_partner')
        batch_op.drop_index('ix_webhook_endpoint_chapter')
    op.drop_table('webhook_endpoint')
