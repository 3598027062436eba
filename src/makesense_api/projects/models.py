"""Project, need and contribution tables."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from makesense_api.kit.models import Entity
from makesense_api.kit.types import AwareDateTime


class ProjectStage(StrEnum):
    IDEA = "idea"
    LAUNCH = "launch"
    GROWTH = "growth"
    SCALE = "scale"


class ProjectStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class NeedStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"


class ContributionStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    DONE = "done"


class Project(Entity, table=True):
    __tablename__ = "project"
    __table_args__ = (
        sa.Index("ix_project_chapter_status", "home_chapter_id", "status"),
        sa.Index("ix_project_updated", "updated_at"),
    )

    slug: str = Field(sa_type=sa.String(80), unique=True, index=True)
    title: str = Field(sa_type=sa.String(200))
    description: str | None = Field(default=None, sa_type=sa.Text)
    default_language: str = Field(sa_type=sa.String(35))
    translations: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    home_chapter_id: uuid.UUID = Field(foreign_key="chapter.id")
    stage: str = Field(default=ProjectStage.IDEA, sa_type=sa.String(16))
    status: str = Field(default=ProjectStatus.DRAFT, sa_type=sa.String(16), index=True)


class ProjectOwner(SQLModel, table=True):
    __tablename__ = "project_owner"
    __table_args__ = (sa.Index("ix_project_owner_person", "person_id", "project_id"),)

    project_id: uuid.UUID = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    person_id: uuid.UUID = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")


class ProjectCause(SQLModel, table=True):
    __tablename__ = "project_cause"
    __table_args__ = (sa.Index("ix_project_cause_cause", "cause", "project_id"),)

    project_id: uuid.UUID = Field(foreign_key="project.id", primary_key=True, ondelete="CASCADE")
    cause: int = Field(primary_key=True)


class Need(Entity, table=True):
    __tablename__ = "need"
    __table_args__ = (
        sa.Index("ix_need_skill_status", "skill", "status"),
        sa.Index("ix_need_project_updated", "project_id", "updated_at"),
    )

    project_id: uuid.UUID = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    skill: str = Field(sa_type=sa.String(64))
    title: str = Field(sa_type=sa.String(200))
    description: str | None = Field(default=None, sa_type=sa.Text)
    status: str = Field(default=NeedStatus.OPEN, sa_type=sa.String(16))


class Contribution(Entity, table=True):
    __tablename__ = "contribution"
    __table_args__ = (
        sa.UniqueConstraint("need_id", "person_id"),
        sa.Index("ix_contribution_person_status", "person_id", "status"),
        sa.Index("ix_contribution_updated", "updated_at"),
        sa.Index("ix_contribution_answered", "answered_at"),
    )

    need_id: uuid.UUID = Field(foreign_key="need.id", index=True, ondelete="CASCADE")
    person_id: uuid.UUID = Field(foreign_key="person.id")
    status: str = Field(default=ContributionStatus.OFFERED, sa_type=sa.String(16))
    message: str | None = Field(default=None, sa_type=sa.Text)
    hours: float | None = None
    # When it was accepted (or recorded done without being accepted first); None while offered
    # or declined. Impact dates the contribution by it, so later edits leave past figures be.
    answered_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
