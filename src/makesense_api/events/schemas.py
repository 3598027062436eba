"""Inputs, filters and read models for events, series and registrations.

Date-time inputs accept an instant (with an offset) or a wall-clock time in the event's zone
(without one); see `events.times` for how daylight-saving gaps and overlaps are resolved.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field

from makesense_api.events.models import EventFormat, EventStatus, EventVisibility
from makesense_api.kit.schemas import Input

Cause = Annotated[int, Field(ge=1, le=17, description="A UN Sustainable Development Goal, 1–17.")]


def _whole_minutes(at: time) -> time:
    if at.second or at.microsecond or at.tzinfo is not None:
        raise ValueError("give a wall-clock time in whole minutes, without an offset (19:00)")
    return at


LocalTime = Annotated[time, AfterValidator(_whole_minutes)]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday … 6 = Sunday.")]

MAX_OCCURRENCES = 200
TEXT_FIELDS = ("title", "description")


class Frequency(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class TranslationIn(Input):
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)


class EventChanges(Input):
    """Fields an edit may change; only those given are changed (`capacity: null` = unlimited)."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    default_language: str | None = None
    translations: dict[str, TranslationIn] | None = Field(default=None, max_length=50)
    format: EventFormat | None = None
    venue_name: str | None = Field(default=None, max_length=200)
    venue_address: str | None = Field(default=None, max_length=500)
    latitude: float | None = None
    longitude: float | None = None
    online_url: str | None = Field(default=None, max_length=500)
    language: str | None = None
    causes: list[Cause] | None = Field(default=None, max_length=17)
    cohost_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)
    project_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None
    capacity: int | None = Field(default=None, ge=1, le=1_000_000)
    waitlist_enabled: bool | None = None
    visibility: EventVisibility | None = None


class EventTemplate(Input):
    """What every event is made of, whether created alone or as a series occurrence."""

    chapter_id: uuid.UUID = Field(description="The host chapter.")
    cohost_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    project_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    default_language: str | None = Field(
        default=None, description="Language of title and description; defaults to `language`."
    )
    translations: dict[str, TranslationIn] = Field(default_factory=dict, max_length=50)
    format: EventFormat
    venue_name: str | None = Field(default=None, max_length=200)
    venue_address: str | None = Field(default=None, max_length=500)
    latitude: float | None = None
    longitude: float | None = None
    online_url: str | None = Field(default=None, max_length=500)
    timezone: str = Field(description="IANA zone the event happens in.")
    language: str = Field(description="BCP 47 tag of the language spoken at the event.")
    causes: list[Cause] = Field(default_factory=list, max_length=17)
    capacity: int | None = Field(default=None, ge=1, le=1_000_000, description="null: unlimited")
    waitlist_enabled: bool = True
    visibility: EventVisibility = EventVisibility.PUBLIC


class EventCreate(EventTemplate):
    starts_at: datetime
    ends_at: datetime
    registration_opens_at: datetime | None = Field(
        default=None, description="null: open from publication."
    )
    registration_closes_at: datetime | None = Field(
        default=None, description="null: open until the event ends."
    )


class EventUpdate(EventChanges):
    """Changes to one event. Times without an offset are read in the (new) `timezone`; changing
    only `timezone` keeps the instants."""

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    timezone: str | None = None
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None


class SeriesCreate(EventTemplate):
    """A recurring event: occurrences on the rule's dates at `local_start` in `timezone`."""

    start_date: date = Field(description="No occurrence before this local date.")
    local_start: LocalTime = Field(description="Wall-clock start, kept across DST changes.")
    duration_minutes: int = Field(ge=1, le=14 * 24 * 60)
    frequency: Frequency
    interval: int = Field(default=1, ge=1, le=52)
    by_weekday: list[Weekday] = Field(
        default_factory=list, max_length=7, description="weekly only; default: start date's day"
    )
    count: int | None = Field(default=None, ge=1, le=MAX_OCCURRENCES)
    until: date | None = Field(default=None, description="Last local date (inclusive).")


class SeriesEdit(EventChanges):
    """Changes applied to one occurrence and every later one of its series."""

    local_start: LocalTime | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=14 * 24 * 60)


@dataclass(frozen=True)
class EventFilter:
    """Search filters, combined with AND. By default: published events not started yet."""

    chapter_id: uuid.UUID | None = None  # the chapter's subtree, co-hosted events included
    country_code: str | None = None
    starts_from: datetime | None = None  # instants; naive values are taken as UTC
    starts_to: datetime | None = None
    format: str | None = None
    language: str | None = None
    cause: int | None = None
    text: str | None = None
    near: tuple[float, float, float] | None = None  # latitude, longitude, radius in km
    series_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    status: str | None = EventStatus.PUBLISHED  # None: every status the caller may see
    upcoming: bool = True  # only events starting from now on, unless `starts_from` is given


@dataclass(frozen=True)
class EventView:
    """An event as one caller may see it.

    `title`/`description` are in `text_language` (chosen from the caller's languages);
    `language` is the language spoken at the event. `online_url` is given only to people
    registered for it and to organizers; `check_in_code` only to organizers.
    """

    id: uuid.UUID
    chapter_id: uuid.UUID
    cohost_ids: list[uuid.UUID]
    project_id: uuid.UUID | None
    program_id: uuid.UUID | None
    series_id: uuid.UUID | None
    title: str
    description: str | None
    text_language: str
    format: str
    venue_name: str | None
    venue_address: str | None
    latitude: float | None
    longitude: float | None
    online_url: str | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    language: str
    country_code: str | None
    causes: list[int]
    capacity: int | None
    seats_taken: int
    waitlist_enabled: bool
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    visibility: str
    status: str
    sequence: int
    published_at: datetime | None
    cancelled_at: datetime | None
    check_in_code: str | None
    viewer_registration: str | None  # the caller's own registration status, if any
    created_at: datetime
    updated_at: datetime

    @property
    def seats_left(self) -> int | None:
        """None when the capacity is unlimited."""
        return None if self.capacity is None else max(self.capacity - self.seats_taken, 0)

    @property
    def starts_local(self) -> datetime:
        return self.starts_at.astimezone(ZoneInfo(self.timezone))

    @property
    def ends_local(self) -> datetime:
        return self.ends_at.astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class SeriesView:
    id: uuid.UUID
    chapter_id: uuid.UUID
    frequency: str
    interval: int
    by_weekday: list[int]
    count: int | None
    until: datetime | None
    timezone: str
    local_start: str
    duration_minutes: int
    event_ids: list[uuid.UUID] = field(default_factory=list)  # occurrences, earliest first


@dataclass(frozen=True)
class RegistrationView:
    id: uuid.UUID
    event_id: uuid.UUID
    person_id: uuid.UUID
    status: str
    queued_at: datetime
    waitlist_position: int | None  # 1 = next to be promoted; None unless waitlisted
    promoted_at: datetime | None
    cancelled_at: datetime | None
    checked_in_at: datetime | None
    client_id: str | None
    created_at: datetime
    updated_at: datetime
