"""account_privacy: account sign-up and personal data erasure

Nothing to change: sign-up uses the `account` table, and erasure anonymises `person` rows in
place (`person.erased_at`, present since 0001). Every lookup export and erasure make by person
is served by existing indexes (registration, contribution, enrolment, membership, project
owner, consent, authorization code and access token all index `person_id` first).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 06:00:00.000000
"""

from collections.abc import Sequence

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
