"""Goals set per chapter or per program."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

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
