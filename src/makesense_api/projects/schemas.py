"""Inputs and read models for projects, their needs and the contributions offered on them."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field

from makesense_api.kit.schemas import Input
from makesense_api.projects.models import ProjectStage, ProjectStatus

Cause = Annotated[int, Field(ge=1, le=17, description="A UN Sustainable Development Goal, 1-17.")]


class ProjectTranslationIn(Input):
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class ProjectCreate(Input):
    slug: str
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    default_language: str
    translations: dict[str, ProjectTranslationIn] = Field(default_factory=dict, max_length=50)
    home_chapter_id: uuid.UUID
    causes: list[Cause] = Field(default_factory=list, max_length=17)
    stage: ProjectStage = ProjectStage.IDEA
    owner_id: uuid.UUID | None = Field(
        default=None, description="Create on someone's behalf (the home chapter's organizers)."
    )


class ProjectUpdate(Input):
    """Only the fields given are changed."""

    slug: str | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    default_language: str | None = None
    translations: dict[str, ProjectTranslationIn] | None = Field(default=None, max_length=50)
    causes: list[Cause] | None = Field(default=None, max_length=17)
    stage: ProjectStage | None = None


class ProjectFilter(Input):
    """List filters; all optional and combined with AND."""

    subtree: uuid.UUID | None = Field(default=None, description="A chapter and its descendants.")
    cause: Cause | None = None
    stage: ProjectStage | None = None
    status: ProjectStatus | None = None
    text: str | None = Field(default=None, max_length=200)
    owner_id: uuid.UUID | None = None


class NeedCreate(Input):
    skill: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class NeedUpdate(Input):
    """Only the fields given are changed."""

    skill: str | None = Field(default=None, min_length=1, max_length=64)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class ContributionOffer(Input):
    message: str | None = Field(default=None, max_length=2_000)


class ContributionDone(Input):
    hours: float = Field(ge=0, le=10_000, allow_inf_nan=False)


@dataclass(frozen=True)
class OwnerView:
    person_id: uuid.UUID
    display_name: str


@dataclass(frozen=True)
class ProjectView:
    """A project in the caller's best language, with its causes and owners."""

    id: uuid.UUID
    slug: str
    title: str
    description: str | None
    language: str
    default_language: str
    home_chapter_id: uuid.UUID
    stage: str
    status: str
    causes: list[int]
    owners: list[OwnerView]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NeedView:
    id: uuid.UUID
    project_id: uuid.UUID
    skill: str
    title: str
    description: str | None
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ContributionView:
    """An offer of help, seen by the contributor and the project's managers only."""

    id: uuid.UUID
    need_id: uuid.UUID
    project_id: uuid.UUID
    person_id: uuid.UUID
    display_name: str
    status: str
    message: str | None
    hours: float | None
    created_at: datetime
    updated_at: datetime
