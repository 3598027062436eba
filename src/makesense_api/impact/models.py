"""Goals set per chapter or per program, and the mobilisation rollup."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from makesense_api.kit.models import Entity
from makesense_api.kit.types import AwareDateTime


class Goal(Entity, table=True):
    __tablename__ = "goal"
    __table_args__ = (
        sa.CheckConstraint("(chapter_id IS NULL) <> (program_id IS NULL)", name="one_target"),
        sa.CheckConstraint("target >= 1", name="target_positive"),
        sa.CheckConstraint("deadline > starts_at", name="deadline_after_start"),
    )

    chapter_id: uuid.UUID | None = Field(default=None, foreign_key="chapter.id", index=True)
    program_id: uuid.UUID | None = Field(default=None, foreign_key="program.id", index=True)
    metric: str = Field(default="mobilised_people", sa_type=sa.String(32))
    target: int
    starts_at: datetime = Field(sa_type=AwareDateTime)
    deadline: datetime = Field(sa_type=AwareDateTime)


class Mobilisation(SQLModel, table=True):
    """The impact rollup: one person's activity in one chapter's subtree in one UTC period.

    Kept by `impact.rollup` in the transaction of every change to the facts it sums. There is
    a row per reporting period a person was active in, for each kind of period (`months` = 1,
    3, 6 or 12: month, quarter, semester, year), so a report's distinct people of a period are
    a plain count of rows, and its breakdowns plain sums, without grouping by person.
    `activities` counts the mobilising facts (attended registrations, contributions accepted or
    done, completed enrolments); a row with none holds only no-shows. `causes` has bit `n` set
    when an attended event or a contributed project serves SDG `n`.
    """

    __tablename__ = "mobilisation"
    __table_args__ = (
        sa.Index("ix_mobilisation_person", "person_id", "months", "period"),
        # Covers the reports on PostgreSQL: they read it alone (index-only scans).
        sa.Index(
            "ix_mobilisation_report", "ancestor_id", "months", "period", "person_id",
            postgresql_include=["activities", "attended", "no_shows", "causes"],
        ),
    )

    ancestor_id: uuid.UUID = Field(foreign_key="chapter.id", primary_key=True, ondelete="CASCADE")
    months: int = Field(primary_key=True)  # the kind of period: 1, 3, 6 or 12 months
    period: int = Field(primary_key=True)  # yyyymm of its first UTC month, e.g. 202607
    person_id: uuid.UUID = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    activities: int
    attended: int
    no_shows: int
    causes: int
