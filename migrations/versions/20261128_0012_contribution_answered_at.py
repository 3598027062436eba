"""contribution_answered_at: date contributions by when they were accepted or done

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 07:10:00.000000

Impact dated a contribution by its `updated_at`, which any later edit moves. The backfill gives
each accepted or done contribution the instant of its `contribution.accepted` event when there
is one (the acceptance itself), else its `updated_at` (the best instant left). Then the rollup
rows of the contributors whose date changed are rebuilt from the facts, with the statement of
revision 0006 read from that file and dated by `answered_at`.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

import makesense_api.kit.types

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWERED = "contribution.status IN ('accepted', 'done')"

BACKFILL = [
    # One pass over the acceptance events (`subject_id` is the contribution; no index on it).
    f"""
UPDATE contribution SET answered_at = accepted.at
FROM (
    SELECT subject_id, MIN(created_at) AS at FROM domain_event
    WHERE type = 'contribution.accepted' GROUP BY subject_id
) AS accepted
WHERE accepted.subject_id = contribution.id AND {ANSWERED}
""",  # noqa: S608 (constant SQL)
    f"UPDATE contribution SET answered_at = updated_at WHERE {ANSWERED} AND answered_at IS NULL",  # noqa: S608 (constant SQL)
]

# The contributors whose contributions are now dated differently: their rollup rows change.
MOVED = f"SELECT person_id FROM contribution WHERE {ANSWERED} AND answered_at <> updated_at"  # noqa: S608


def _revision_0006() -> Any:
    path = Path(__file__).with_name("20261128_0006_impact_rollup.py")
    spec = importlib.util.spec_from_file_location("impact_rollup_0006", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rollup_sql(dialect: str, dated_by: str) -> str:
    """Revision 0006's `INSERT … SELECT` of the rollup, with contributions dated by the column
    `dated_by`, for the people `MOVED` names only."""
    revision_0006 = _revision_0006()
    sql: str = revision_0006.backfill_sql(dialect)
    month = revision_0006.MONTH[dialect]
    for old, new in (
        (month.format("c.updated_at"), month.format(f"c.{dated_by}")),
        ("GROUP BY cc.ancestor_id", f"WHERE f.person_id IN ({MOVED})\nGROUP BY cc.ancestor_id"),
    ):
        assert sql.count(old) == 1, old
        sql = sql.replace(old, new)
    return sql


def _rebuild(dated_by: str) -> None:
    """Rewrite the rollup rows of the people `MOVED` names, contributions dated by `dated_by`."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # A one-off pass over the contributions and their people's facts, not a request.
        op.execute(sa.text("SET LOCAL statement_timeout = 0"))
    op.execute(sa.text(f"DELETE FROM mobilisation WHERE person_id IN ({MOVED})"))  # noqa: S608
    op.execute(sa.text(rollup_sql(dialect, dated_by)))


def upgrade() -> None:
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answered_at', makesense_api.kit.types.AwareDateTime(timezone=True), nullable=True))
    for statement in BACKFILL:
        op.execute(sa.text(statement))
    _rebuild("answered_at")
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.create_index('ix_contribution_answered', ['answered_at'], unique=False)


def downgrade() -> None:
    _rebuild("updated_at")  # dated by `updated_at` again
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.drop_index('ix_contribution_answered')
        batch_op.drop_column('answered_at')
