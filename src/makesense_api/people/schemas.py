"""Inputs and read models for people and memberships."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import EmailStr, Field

from makesense_api.kit.schemas import Input

SDG = Field(ge=1, le=17, description="A UN Sustainable Development Goal, 1–17.")


class PersonCreate(Input):
    display_name: str = Field(min_length=1, max_length=120)
    city: str | None = Field(default=None, max_length=120)
    country_code: str | None = None
    bio: str | None = Field(default=None, max_length=5_000)
    languages: list[str] = Field(default_factory=list, max_length=20)
    skills: list[str] = Field(default_factory=list, max_length=50)
    causes: list[int] = Field(default_factory=list, max_length=17)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ().-]{4,32}$")
    home_chapter_id: uuid.UUID | None = None
    open_to_matching: bool = False


class PersonUpdate(Input):
    """Only the fields given are changed."""

    display_name: str | None = Field(default=None, min_length=1, max_length=120)
    city: str | None = Field(default=None, max_length=120)
    country_code: str | None = None
    bio: str | None = Field(default=None, max_length=5_000)
    languages: list[str] | None = Field(default=None, max_length=20)
    skills: list[str] | None = Field(default=None, max_length=50)
    causes: list[int] | None = Field(default=None, max_length=17)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ().-]{4,32}$")
    home_chapter_id: uuid.UUID | None = None
    open_to_matching: bool | None = None


@dataclass(frozen=True)
class PersonView:
    """A person as one caller may see them; `email`/`phone` are None unless allowed."""

    id: uuid.UUID
    display_name: str
    city: str | None
    country_code: str | None
    bio: str | None
    languages: list[str]
    skills: list[str]
    causes: list[int]
    home_chapter_id: uuid.UUID | None
    open_to_matching: bool
    email: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MembershipView:
    id: uuid.UUID
    person_id: uuid.UUID
    chapter_id: uuid.UUID
    role: str
    created_at: datetime
