"""Inputs and read models for feed tokens and the personal calendar. No read model carries a
hash; only `CreatedFeedToken` carries a plaintext token, once, and keeps it out of its `repr`."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import Field

from makesense_api.events.schemas import EventView
from makesense_api.kit.schemas import Input


class FeedTokenCreate(Input):
    """A token for one calendar app to read the calling person's calendar."""

    name: str = Field(
        min_length=1, max_length=100, description="Which calendar app or device it is for."
    )


@dataclass(frozen=True)
class FeedTokenView:
    """A feed token as its owner sees it: how to recognise it, never how to use it."""

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class CreatedFeedToken:
    """The answer to creating a feed token: the only time its plaintext is shown."""

    token: str = field(repr=False)
    view: FeedTokenView


@dataclass(frozen=True)
class CalendarEntry:
    """One event of a person's calendar, with where the person stands in it."""

    event: EventView
    registration_status: str
    registration_updated_at: datetime


@dataclass(frozen=True)
class FeedAccess:
    """A feed token that authenticates: its person, and when its use was last recorded."""

    token_id: uuid.UUID
    person_id: uuid.UUID
    last_used_at: datetime | None


@dataclass(frozen=True)
class PersonalCalendar:
    """A person's calendar, read through one of their feed tokens."""

    access: FeedAccess
    entries: list[CalendarEntry]
