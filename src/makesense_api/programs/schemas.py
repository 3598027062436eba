"""Inputs and read models for programs, participating chapters and enrolments."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, Field

from makesense_api.kit.schemas import Input
from makesense_api.people.models import Channel
from makesense_api.programs.models import EnrolmentStatus, ProgramStatus

PrivateLinks = dict[Channel, str]


class ProgramTextIn(Input):
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class ProgramCreate(Input):
    slug: str
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    default_language: str
    translations: dict[str, ProgramTextIn] = Field(default_factory=dict, max_length=50)
    chapter_id: uuid.UUID = Field(description="The organizing chapter.")
    channels: list[Channel] = Field(default_factory=list, max_length=4)
    private_links: PrivateLinks = Field(
        default_factory=dict,
        description="Per channel, a link shown only to enrolled people and organizers.",
    )
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    target_people: int = Field(ge=1, le=1_000_000_000)
    chapter_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=200, description="Other participating chapters."
    )


class ProgramUpdate(Input):
    """Only the fields given are changed."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    default_language: str | None = None
    translations: dict[str, ProgramTextIn] | None = Field(default=None, max_length=50)
    channels: list[Channel] | None = Field(default=None, max_length=4)
    private_links: PrivateLinks | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    target_people: int | None = Field(default=None, ge=1, le=1_000_000_000)


class EnrolmentCreate(Input):
    person_id: uuid.UUID | None = Field(
        default=None, description="Whom to enrol; the caller themself when omitted."
    )
    chapter_id: uuid.UUID | None = Field(
        default=None,
        description="The chapter the person takes part through; defaults to their home "
        "chapter when it takes part, else the organizing chapter.",
    )


@dataclass(frozen=True)
class ProgramView:
    """A program as one caller may see it; `private_links` is None unless they may see it."""

    id: uuid.UUID
    slug: str
    title: str
    description: str | None
    language: str
    chapter_id: uuid.UUID
    chapter_ids: list[uuid.UUID]
    channels: list[str]
    private_links: dict[str, str] | None
    starts_at: datetime
    ends_at: datetime
    target_people: int
    status: str
    viewer_enrolment: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EnrolmentView:
    id: uuid.UUID
    program_id: uuid.UUID
    person_id: uuid.UUID
    chapter_id: uuid.UUID
    status: str
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProgramEventView:
    """An event linked to a program, as listed on the program."""

    id: uuid.UUID
    chapter_id: uuid.UUID
    title: str
    language: str
    format: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    status: str


class ProgramFilter(Input):
    """List filters; all optional and combined with AND."""

    chapter_id: uuid.UUID | None = Field(
        default=None, description="Programs this chapter organizes or takes part in."
    )
    status: ProgramStatus | None = None
    active_at: AwareDatetime | None = Field(
        default=None, description="Programs running at this instant."
    )


class EnrolmentFilter(Input):
    """List filters; all optional and combined with AND."""

    program_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    status: EnrolmentStatus | None = None
