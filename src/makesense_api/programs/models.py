"""Program, participating chapter and enrolment tables."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from makesense_api.kit.models import Entity
from makesense_api.kit.types import AwareDateTime


class ProgramStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class EnrolmentStatus(StrEnum):
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    DROPPED = "dropped"


class Program(Entity, table=True):
    __tablename__ = "program"
    __table_args__ = (
        sa.Index("ix_program_status_starts", "status", "starts_at"),
        sa.Index("ix_program_updated", "updated_at"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("target_people >= 1", name="target_positive"),
    )

    slug: str = Field(sa_type=sa.String(80), unique=True, index=True)
    title: str = Field(sa_type=sa.String(200))
    description: str | None = Field(default=None, sa_type=sa.Text)
    default_language: str = Field(sa_type=sa.String(35))
    translations: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    chapter_id: uuid.UUID = Field(foreign_key="chapter.id", index=True)  # the organizing chapter
    channels: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # {"whatsapp": "https://chat.whatsapp.com/…"}: shown to enrolled people and organizers only.
    private_links: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    starts_at: datetime = Field(sa_type=AwareDateTime)
    ends_at: datetime = Field(sa_type=AwareDateTime)
    target_people: int
    status: str = Field(default=ProgramStatus.DRAFT, sa_type=sa.String(16))


class ProgramChapter(SQLModel, table=True):
    __tablename__ = "program_chapter"
    __table_args__ = (sa.Index("ix_program_chapter_chapter", "chapter_id", "program_id"),)

    program_id: uuid.UUID = Field(foreign_key="program.id", primary_key=True, ondelete="CASCADE")
    chapter_id: uuid.UUID = Field(foreign_key="chapter.id", primary_key=True)


class Enrolment(Entity, table=True):
    __tablename__ = "enrolment"
    __table_args__ = (
        sa.UniqueConstraint("program_id", "person_id"),
        sa.Index("ix_enrolment_program_status", "program_id", "status"),
        sa.Index("ix_enrolment_person", "person_id", "status"),
        sa.Index("ix_enrolment_program_updated", "program_id", "updated_at"),
        # Impact counts completed enrolments per chapter subtree and period.
        sa.Index("ix_enrolment_chapter_completed", "chapter_id", "status", "completed_at"),
    )

    program_id: uuid.UUID = Field(foreign_key="program.id")
    person_id: uuid.UUID = Field(foreign_key="person.id")
    # The chapter the person takes part through (their home chapter when it takes part, else
    # the organizing chapter), fixed at enrolment; impact is counted there.
    chapter_id: uuid.UUID = Field(foreign_key="chapter.id")
    status: str = Field(default=EnrolmentStatus.ENROLLED, sa_type=sa.String(16))
    completed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
