"""Inputs and read models for partner organisations and their grants."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field, HttpUrl

from makesense_api.kit.schemas import Input


class PartnerCreate(Input):
    slug: str
    name: str = Field(min_length=1, max_length=200)
    website: HttpUrl | None = Field(default=None, description="The organisation's public site.")


class PartnerUpdate(Input):
    """Only the fields given are changed; `website: null` clears it."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    website: HttpUrl | None = None
    active: bool | None = Field(default=None, description="Inactive partners get no new grants.")


class GrantCreate(Input):
    """Give a partner reach into a chapter subtree; scopes merge with those already granted."""

    partner_id: uuid.UUID
    chapter_id: uuid.UUID
    scopes: list[str] = Field(min_length=1, max_length=20)


@dataclass(frozen=True)
class PartnerView:
    id: uuid.UUID
    slug: str
    name: str
    website: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class GrantView:
    """Everything one partner holds on one chapter subtree. `id` is the id of its oldest
    remaining scope row, so it stays the same while that scope is granted."""

    id: uuid.UUID
    partner: PartnerView
    chapter_id: uuid.UUID
    chapter_slug: str
    scopes: list[str]
    granted_at: datetime
    updated_at: datetime
