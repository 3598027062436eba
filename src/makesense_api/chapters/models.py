"""Chapter tables. The tree is kept twice: `parent_id` for edits, a closure table for queries.

`chapter_closure` holds one row per (ancestor, descendant) pair, the chapter itself included at
depth 0, so a subtree or an ancestor chain is one indexed lookup on either key.
"""

import uuid
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from makesense_api.kit.models import Entity


class ChapterKind(StrEnum):
    NETWORK = "network"
    REGION = "region"
    COUNTRY = "country"
    CITY = "city"
    NEIGHBOURHOOD = "neighbourhood"


class ChapterStatus(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"
    CLOSED = "closed"


class Chapter(Entity, table=True):
    __tablename__ = "chapter"
    __table_args__ = (
        sa.Index("ix_chapter_lat_lon", "latitude", "longitude"),
        sa.Index("ix_chapter_updated", "updated_at"),
    )

    slug: str = Field(sa_type=sa.String(80), unique=True, index=True)
    name: str = Field(sa_type=sa.String(200))
    description: str | None = Field(default=None, sa_type=sa.Text)
    default_language: str = Field(sa_type=sa.String(35))
    translations: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    kind: str = Field(sa_type=sa.String(20))
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="chapter.id", index=True)
    depth: int = 0
    country_code: str | None = Field(default=None, sa_type=sa.String(2), index=True)
    city: str | None = Field(default=None, sa_type=sa.String(120))
    timezone: str = Field(sa_type=sa.String(64))
    languages: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    latitude: float | None = None
    longitude: float | None = None
    status: str = Field(default=ChapterStatus.ACTIVE, sa_type=sa.String(16), index=True)
    # [{"kind": "whatsapp", "value": "https://…", "private": true}]
    contacts: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)


class ChapterClosure(SQLModel, table=True):
    __tablename__ = "chapter_closure"
    __table_args__ = (sa.Index("ix_chapter_closure_descendant", "descendant_id", "ancestor_id"),)

    ancestor_id: uuid.UUID = Field(foreign_key="chapter.id", primary_key=True)
    descendant_id: uuid.UUID = Field(foreign_key="chapter.id", primary_key=True)
    depth: int
