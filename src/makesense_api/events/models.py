"""Event, series and registration tables.

`Event.seats_taken` is the seat counter: it only changes through one conditional UPDATE
(`… SET seats_taken = seats_taken + 1 WHERE seats_taken < capacity RETURNING …`), which is
atomic on SQLite and PostgreSQL alike, so capacity holds under any concurrency.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from makesense_api.kit.models import Entity
from makesense_api.kit.types import AwareDateTime


class EventFormat(StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class EventVisibility(StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class EventSeries(Entity, table=True):
    """A recurrence rule whose occurrences are real events (`Event.series_id`)."""

    __tablename__ = "event_series"

    chapter_id: uuid.UUID = Field(foreign_key="chapter.id", index=True)
    frequency: str = Field(sa_type=sa.String(16))  # weekly | monthly
    interval: int = 1
    by_weekday: list[int] = Field(default_factory=list, sa_type=sa.JSON)  # 0 = Monday
    count: int | None = None
    until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    timezone: str = Field(sa_type=sa.String(64))
    local_start: str = Field(sa_type=sa.String(8))  # "19:00" wall-clock time in `timezone`
    duration_minutes: int


class Event(Entity, table=True):
    __tablename__ = "event"
    __table_args__ = (
        sa.Index("ix_event_status_starts", "status", "visibility", "starts_at"),
        sa.Index("ix_event_chapter_starts", "chapter_id", "starts_at"),
        sa.Index("ix_event_country_starts", "country_code", "starts_at"),
        sa.Index("ix_event_language_starts", "language", "starts_at"),
        sa.Index("ix_event_format_starts", "format", "starts_at"),
        sa.Index("ix_event_lat_lon", "latitude", "longitude"),
        sa.Index("ix_event_series_starts", "series_id", "starts_at"),
        sa.Index("ix_event_updated", "updated_at"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint(
            "capacity IS NULL OR seats_taken <= capacity", name="capacity_not_exceeded"
        ),
    )

    chapter_id: uuid.UUID = Field(foreign_key="chapter.id")
    project_id: uuid.UUID | None = Field(default=None, foreign_key="project.id", index=True)
    program_id: uuid.UUID | None = Field(default=None, foreign_key="program.id", index=True)
    series_id: uuid.UUID | None = Field(default=None, foreign_key="event_series.id")
    title: str = Field(sa_type=sa.String(200))
    description: str | None = Field(default=None, sa_type=sa.Text)
    default_language: str = Field(sa_type=sa.String(35))
    translations: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    format: str = Field(sa_type=sa.String(16))
    venue_name: str | None = Field(default=None, sa_type=sa.String(200))
    venue_address: str | None = Field(default=None, sa_type=sa.String(500))
    latitude: float | None = None
    longitude: float | None = None
    online_url: str | None = Field(default=None, sa_type=sa.String(500))
    starts_at: datetime = Field(sa_type=AwareDateTime)
    ends_at: datetime = Field(sa_type=AwareDateTime)
    timezone: str = Field(sa_type=sa.String(64))
    language: str = Field(sa_type=sa.String(35))
    country_code: str | None = Field(default=None, sa_type=sa.String(2))
    capacity: int | None = None
    seats_taken: int = 0
    waitlist_enabled: bool = True
    registration_opens_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    registration_closes_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    visibility: str = Field(default=EventVisibility.PUBLIC, sa_type=sa.String(16))
    status: str = Field(default=EventStatus.DRAFT, sa_type=sa.String(16))
    check_in_code: str | None = Field(default=None, sa_type=sa.String(16))
    sequence: int = 0  # bumped on every change a calendar must see (RFC 5545 SEQUENCE)
    published_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class EventCause(SQLModel, table=True):
    __tablename__ = "event_cause"
    __table_args__ = (sa.Index("ix_event_cause_cause", "cause", "event_id"),)

    event_id: uuid.UUID = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    cause: int = Field(primary_key=True)


class EventCohost(SQLModel, table=True):
    __tablename__ = "event_cohost"
    __table_args__ = (sa.Index("ix_event_cohost_chapter", "chapter_id", "event_id"),)

    event_id: uuid.UUID = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    chapter_id: uuid.UUID = Field(foreign_key="chapter.id", primary_key=True)


class Registration(Entity, table=True):
    __tablename__ = "registration"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "person_id"),
        sa.Index("ix_registration_event_status", "event_id", "status", "queued_at", "id"),
        sa.Index("ix_registration_person", "person_id", "status"),
        sa.Index("ix_registration_updated", "updated_at"),
    )

    event_id: uuid.UUID = Field(foreign_key="event.id")
    person_id: uuid.UUID = Field(foreign_key="person.id")
    status: str = Field(sa_type=sa.String(16))
    # Arrival order: the waitlist is promoted by (queued_at, id), first in, first out.
    queued_at: datetime = Field(sa_type=AwareDateTime)
    promoted_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    checked_in_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    client_id: str | None = Field(default=None, sa_type=sa.String(64))
