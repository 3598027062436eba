"""Inputs and read models for chapters."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from makesense_api.chapters.models import ChapterKind, ChapterStatus
from makesense_api.kit.schemas import Input


class ContactIn(Input):
    kind: str = Field(min_length=1, max_length=32, description="whatsapp, email, video, …")
    value: str = Field(min_length=1, max_length=500)
    private: bool = Field(default=False, description="Visible to the chapter's members only.")


class TranslationIn(Input):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class ChapterCreate(Input):
    slug: str
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    default_language: str
    translations: dict[str, TranslationIn] = Field(default_factory=dict, max_length=50)
    kind: ChapterKind
    parent_id: uuid.UUID
    country_code: str | None = None
    city: str | None = Field(default=None, max_length=120)
    timezone: str
    languages: list[str] = Field(default_factory=list, max_length=20)
    latitude: float | None = None
    longitude: float | None = None
    contacts: list[ContactIn] = Field(default_factory=list, max_length=20)


class ChapterUpdate(Input):
    """Only the fields given are changed."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    default_language: str | None = None
    translations: dict[str, TranslationIn] | None = Field(default=None, max_length=50)
    kind: ChapterKind | None = None
    country_code: str | None = None
    city: str | None = Field(default=None, max_length=120)
    timezone: str | None = None
    languages: list[str] | None = Field(default=None, max_length=20)
    latitude: float | None = None
    longitude: float | None = None
    status: ChapterStatus | None = None
    contacts: list[ContactIn] | None = Field(default=None, max_length=20)


@dataclass(frozen=True)
class Contact:
    kind: str
    value: str
    private: bool


@dataclass(frozen=True)
class ChapterView:
    """A chapter as one caller may see it: localized text, private contacts only for members."""

    id: uuid.UUID
    slug: str
    name: str
    description: str | None
    language: str
    kind: str
    parent_id: uuid.UUID | None
    depth: int
    country_code: str | None
    city: str | None
    timezone: str
    languages: list[str]
    latitude: float | None
    longitude: float | None
    status: str
    contacts: list[Contact]
    created_at: datetime
    updated_at: datetime
