"""change_feeds: indexes for the change feeds of every collection

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 06:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each change feed filters on `updated_at` (within its parent for nested collections).
INDEXES = [
    ('chapter', 'ix_chapter_updated', ['updated_at']),
    ('person', 'ix_person_updated', ['updated_at']),
    ('membership', 'ix_membership_updated', ['updated_at']),
    ('membership', 'ix_membership_chapter_updated', ['chapter_id', 'updated_at']),
    ('project', 'ix_project_updated', ['updated_at']),
    ('need', 'ix_need_project_updated', ['project_id', 'updated_at']),
    ('contribution', 'ix_contribution_updated', ['updated_at']),
    ('program', 'ix_program_updated', ['updated_at']),
    ('enrolment', 'ix_enrolment_program_updated', ['program_id', 'updated_at']),
]


def upgrade() -> None:
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
