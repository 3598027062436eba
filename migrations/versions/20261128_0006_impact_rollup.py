"""impact_rollup: impact rollup of mobilised people by chapter ancestor and month

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 06:00:00.000000

The backfill recomputes every row from the facts, as `impact.rollup.rebuild` does, in one
`INSERT … SELECT` written out here so that this revision keeps its meaning whatever the code
becomes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SDGS = range(1, 18)

MONTH = {
    "postgresql": "CAST(to_char(({}) AT TIME ZONE 'UTC', 'YYYYMM') AS INTEGER)",
    "sqlite": "CAST(strftime('%Y%m', {}) AS INTEGER)",
}


def backfill_sql(dialect: str) -> str:
    """The statement filling `mobilisation` from registrations, contributions, enrolments:
    rows per month, then per quarter, semester and year from the months."""
    month = MONTH[dialect].format
    any_causes = " + ".join(f"MAX({{0}}.causes & {1 << n})" for n in SDGS).format
    period = "(m.month / 100) * 100 + ((m.month % 100 - 1) / s.months) * s.months + 1"
    spans = " UNION ALL ".join(f"SELECT {n} AS months" for n in (1, 3, 6, 12))
    return f"""
INSERT INTO mobilisation
    (ancestor_id, months, period, person_id, activities, attended, no_shows, causes)
SELECT m.ancestor_id, s.months, {period}, m.person_id,
       SUM(m.activities), SUM(m.attended), SUM(m.no_shows), {any_causes('m')}
FROM (
SELECT cc.ancestor_id AS ancestor_id, f.month AS month, f.person_id AS person_id,
       SUM(f.activities) AS activities, SUM(f.attended) AS attended,
       SUM(f.no_shows) AS no_shows, {any_causes('f')} AS causes
FROM (
    SELECT r.person_id AS person_id, e.chapter_id AS chapter_id,
           {month('e.starts_at')} AS month,
           CASE WHEN r.status = 'attended' THEN 1 ELSE 0 END AS activities,
           CASE WHEN r.status = 'attended' THEN 1 ELSE 0 END AS attended,
           CASE WHEN r.status = 'no_show' THEN 1 ELSE 0 END AS no_shows,
           CASE WHEN r.status = 'attended' THEN
               (SELECT COALESCE(SUM(1 << ec.cause), 0) FROM event_cause ec
                WHERE ec.event_id = e.id)
           ELSE 0 END AS causes
    FROM registration r JOIN event e ON e.id = r.event_id
    WHERE r.status IN ('attended', 'no_show')
    UNION ALL
    SELECT c.person_id, p.home_chapter_id, {month('c.updated_at')}, 1, 0, 0,
           (SELECT COALESCE(SUM(1 << pc.cause), 0) FROM project_cause pc
            WHERE pc.project_id = p.id)
    FROM contribution c JOIN need n ON n.id = c.need_id JOIN project p ON p.id = n.project_id
    WHERE c.status IN ('accepted', 'done')
    UNION ALL
    SELECT en.person_id, en.chapter_id, {month('en.completed_at')}, 1, 0, 0, 0
    FROM enrolment en
    WHERE en.status = 'completed' AND en.completed_at IS NOT NULL
) AS f
JOIN chapter_closure cc ON cc.descendant_id = f.chapter_id
GROUP BY cc.ancestor_id, f.month, f.person_id
) AS m
CROSS JOIN ({spans}) AS s
GROUP BY m.ancestor_id, s.months, {period}, m.person_id
"""  # noqa: S608 (constant SQL: no input, only the dialect's month expression)


def upgrade() -> None:
    op.create_table('mobilisation',
    sa.Column('ancestor_id', sa.Uuid(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('activities', sa.Integer(), nullable=False),
    sa.Column('attended', sa.Integer(), nullable=False),
    sa.Column('no_shows', sa.Integer(), nullable=False),
    sa.Column('causes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ancestor_id'], ['chapter.id'], name=op.f('fk_mobilisation_ancestor_id_chapter'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_mobilisation_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ancestor_id', 'months', 'period', 'person_id', name=op.f('pk_mobilisation'))
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # A one-off pass over every activity row: minutes on a large network, not a request.
        op.execute(sa.text("SET LOCAL statement_timeout = 0"))
    op.execute(sa.text(backfill_sql(dialect)))
    # Indexes after the backfill: building them once is faster than maintaining them row by row.
    with op.batch_alter_table('mobilisation', schema=None) as batch_op:
        batch_op.create_index('ix_mobilisation_person', ['person_id', 'months', 'period'], unique=False)
        batch_op.create_index('ix_mobilisation_report', ['ancestor_id', 'months', 'period', 'person_id'], unique=False, postgresql_include=['activities', 'attended', 'no_shows', 'causes'])


def downgrade() -> None:
    with op.batch_alter_table('mobilisation', schema=None) as batch_op:
        batch_op.drop_index('ix_mobilisation_report')
        batch_op.drop_index('ix_mobilisation_person')
    op.drop_table('mobilisation')
