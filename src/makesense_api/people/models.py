"""Person, account and membership tables; skills and causes are rows so they can be indexed."""

import uuid
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from makesense_api.kit.models import Entity
from makesense_api.kit.types import AwareDateTime


class Role(IntEnum):
    """Membership roles, ordered: each role can do what the lower ones can."""

    MEMBER = 1
    ORGANIZER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, label: str) -> "Role":
        return cls[label.upper()]


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    ZOOM = "zoom"
    EMAIL = "email"
    IN_PERSON = "in_person"


class Person(Entity, table=True):
    __tablename__ = "person"
    __table_args__ = (sa.Index("ix_person_updated", "updated_at"),)

    display_name: str = Field(sa_type=sa.String(120))
    city: str | None = Field(default=None, sa_type=sa.String(120))
    country_code: str | None = Field(default=None, sa_type=sa.String(2))
    bio: str | None = Field(default=None, sa_type=sa.Text)
    languages: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    email: str | None = Field(default=None, sa_type=sa.String(254), index=True)
    phone: str | None = Field(default=None, sa_type=sa.String(32))
    home_chapter_id: uuid.UUID | None = Field(default=None, foreign_key="chapter.id", index=True)
    open_to_matching: bool = Field(default=False, index=True)
    # {"contact_by_email": true, "matching": true, ...} with the instant each was given.
    consents: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_by_client_id: str | None = Field(default=None, sa_type=sa.String(64))
    erased_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class PersonSkill(SQLModel, table=True):
    __tablename__ = "person_skill"
    __table_args__ = (sa.Index("ix_person_skill_skill", "skill", "person_id"),)

    person_id: uuid.UUID = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    skill: str = Field(sa_type=sa.String(64), primary_key=True)


class PersonCause(SQLModel, table=True):
    __tablename__ = "person_cause"
    __table_args__ = (sa.Index("ix_person_cause_cause", "cause", "person_id"),)

    person_id: uuid.UUID = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    cause: int = Field(primary_key=True)


class Account(Entity, table=True):
    __tablename__ = "account"

    person_id: uuid.UUID = Field(foreign_key="person.id", unique=True, ondelete="CASCADE")
    email: str = Field(sa_type=sa.String(254), unique=True, index=True)
    password_hash: str = Field(sa_type=sa.String(255))
    verified: bool = False
    last_login_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class Membership(Entity, table=True):
    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("person_id", "chapter_id"),
        sa.Index("ix_membership_chapter_role", "chapter_id", "role"),
        sa.Index("ix_membership_updated", "updated_at"),
        sa.Index("ix_membership_chapter_updated", "chapter_id", "updated_at"),
    )

    person_id: uuid.UUID = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    chapter_id: uuid.UUID = Field(foreign_key="chapter.id", ondelete="CASCADE")
    role: int = Field(default=Role.MEMBER)
