"""Event, registration and series types, and their batch loaders."""

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from makesense_api.context import Ctx
from makesense_api.events import recurrence, registrations
from makesense_api.events import service as events
from makesense_api.events.schemas import EventFilter, EventView, RegistrationView, SeriesView
from makesense_api.graphql import loaders
from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import (
    Connection,
    Node,
    connection,
    to_global_id,
    window,
)
from makesense_api.graphql.types.chapters import Chapter, chapter_loader
from makesense_api.graphql.types.common import Location, location
from makesense_api.graphql.types.people import Person, person_loader
from makesense_api.graphql.types.projects import Project, project_loader

if TYPE_CHECKING:
    from makesense_api.graphql.types.programs import Program

PROGRAMS = "makesense_api.graphql.types.programs"


@strawberry.enum(description="How people take part in an event.")
class EventFormat(Enum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


@strawberry.enum(description="Where an event stands: draft → published → cancelled.")
class EventStatus(Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


@strawberry.enum(description="Who may see a published event.")
class EventVisibility(Enum):
    PUBLIC = strawberry.enum_value("public", description="Everyone, anonymous callers included.")
    MEMBERS = strawberry.enum_value("members", description="Members of the host chapter.")


@strawberry.enum(description="Where a registration stands.")
class RegistrationStatus(Enum):
    REGISTERED = strawberry.enum_value("registered", description="Holds a seat.")
    WAITLISTED = strawberry.enum_value("waitlisted", description="Queued for a freed seat.")
    CANCELLED = strawberry.enum_value("cancelled", description="Gave up the seat or place.")
    ATTENDED = strawberry.enum_value("attended", description="Checked in.")
    NO_SHOW = strawberry.enum_value("no_show", description="Held a seat and did not come.")


@strawberry.enum(description="How often a series repeats.")
class SeriesFrequency(Enum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


def value_of(member: Enum | None) -> Any:
    """The service value of a GraphQL enum member (None stays None)."""
    return None if member is None else member.value


@strawberry.type(description="Where an in-person event takes place.")
class Venue:
    name: str | None = strawberry.field(description="Name of the place.")
    address: str | None = strawberry.field(description="Postal address.")


@strawberry.type(
    description="An event hosted by a chapter. Published public events are seen by everyone, "
    "members-only ones by the host chapter's members, drafts by its organizers."
)
class Event(Node):
    raw_id: strawberry.Private[uuid.UUID]
    chapter_raw_id: strawberry.Private[uuid.UUID]
    cohost_raw_ids: strawberry.Private[list[uuid.UUID]]
    project_raw_id: strawberry.Private[uuid.UUID | None]
    program_raw_id: strawberry.Private[uuid.UUID | None]
    series_raw_id: strawberry.Private[uuid.UUID | None]
    own_status: strawberry.Private[str | None]
    title: str = strawberry.field(description="Title in the best language for the caller.")
    description: str | None = strawberry.field(description="Description, same language rule.")
    text_language: str = strawberry.field(description="BCP 47 tag of the title and description.")
    language: str = strawberry.field(description="BCP 47 tag of the language spoken there.")
    format: EventFormat = strawberry.field(description="In person, online or hybrid.")
    venue: Venue | None = strawberry.field(description="The place, for in-person events.")
    location: Location | None = strawberry.field(description="Where the venue is.")
    online_url: str | None = strawberry.field(
        description="Link to join; only for people holding a seat and the organizers."
    )
    starts_at: datetime = strawberry.field(description="Start, with the offset of `timezone`.")
    ends_at: datetime = strawberry.field(description="End, with the offset of `timezone`.")
    timezone: str = strawberry.field(description="IANA time zone the event happens in.")
    country_code: str | None = strawberry.field(description="ISO country of the host chapter.")
    causes: list[int] = strawberry.field(description="UN Sustainable Development Goals, 1–17.")
    capacity: int | None = strawberry.field(description="Seats in all; null when unlimited.")
    seats_taken: int = strawberry.field(description="Seats held by registered people.")
    seats_left: int | None = strawberry.field(description="Seats still free; null: unlimited.")
    waitlist_enabled: bool = strawberry.field(
        description="Whether people queue for freed seats once the event is full."
    )
    registration_opens_at: datetime | None = strawberry.field(
        description="Registration opens (event's offset); null: from publication."
    )
    registration_closes_at: datetime | None = strawberry.field(
        description="Registration closes (event's offset); null: when the event ends."
    )
    visibility: EventVisibility = strawberry.field(description="Who may see it once published.")
    status: EventStatus = strawberry.field(description="Draft, published or cancelled.")
    sequence: int = strawberry.field(description="Revision number (calendars use it).")
    published_at: datetime | None = strawberry.field(description="When it was published.")
    cancelled_at: datetime | None = strawberry.field(description="When it was called off.")
    check_in_code: str | None = strawberry.field(
        description="Code people enter to check themselves in; only for its organizers."
    )
    created_at: datetime = strawberry.field(description="When the event was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: EventView) -> "Event":
        zone = v.starts_local.tzinfo
        has_venue = v.venue_name is not None or v.venue_address is not None
        return cls(
            id=to_global_id("Event", v.id),
            raw_id=v.id,
            chapter_raw_id=v.chapter_id,
            cohost_raw_ids=v.cohost_ids,
            project_raw_id=v.project_id,
            program_raw_id=v.program_id,
            series_raw_id=v.series_id,
            own_status=v.viewer_registration,
            title=v.title,
            description=v.description,
            text_language=v.text_language,
            language=v.language,
            format=EventFormat(v.format),
            venue=Venue(name=v.venue_name, address=v.venue_address) if has_venue else None,
            location=location(v.latitude, v.longitude),
            online_url=v.online_url,
            starts_at=v.starts_local,
            ends_at=v.ends_local,
            timezone=v.timezone,
            country_code=v.country_code,
            causes=v.causes,
            capacity=v.capacity,
            seats_taken=v.seats_taken,
            seats_left=v.seats_left,
            waitlist_enabled=v.waitlist_enabled,
            registration_opens_at=v.registration_opens_at.astimezone(zone)
            if v.registration_opens_at
            else None,
            registration_closes_at=v.registration_closes_at.astimezone(zone)
            if v.registration_closes_at
            else None,
            visibility=EventVisibility(v.visibility),
            status=EventStatus(v.status),
            sequence=v.sequence,
            published_at=v.published_at,
            cancelled_at=v.cancelled_at,
            check_in_code=v.check_in_code,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The chapter hosting the event.")
    async def host_chapter(self, info: Info) -> Chapter | None:
        view = await chapter_loader(info).load(self.chapter_raw_id)
        return Chapter.from_view(view) if view else None

    @strawberry.field(description="Chapters co-hosting the event (those the caller may see).")
    async def cohosts(self, info: Info) -> list[Chapter]:
        views = await chapter_loader(info).load_many(self.cohost_raw_ids)
        return [Chapter.from_view(v) for v in views if v]

    @strawberry.field(description="The project the event is for, if any.")
    async def project(self, info: Info) -> Project | None:
        if self.project_raw_id is None:
            return None
        view = await project_loader(info).load(self.project_raw_id)
        return Project.from_view(view) if view else None

    @strawberry.field(description="The mobilisation program the event belongs to, if any.")
    async def program(self, info: Info) -> Annotated["Program", strawberry.lazy(PROGRAMS)] | None:
        from makesense_api.graphql.types.programs import Program, program_loader

        if self.program_raw_id is None:
            return None
        view = await program_loader(info).load(self.program_raw_id)
        return Program.from_view(view) if view else None

    @strawberry.field(description="The recurring series the event is an occurrence of, if any.")
    async def series(self, info: Info) -> "EventSeries | None":
        if self.series_raw_id is None:
            return None
        view = await series_loader(info).load(self.series_raw_id)
        return EventSeries.from_view(view) if view else None

    @strawberry.field(
        description="Registrations in arrival order: all of them for the organizers, the "
        "caller's own otherwise."
    )
    async def registrations(
        self,
        info: Info,
        status: Annotated[
            RegistrationStatus | None, strawberry.argument(description="Only this status.")
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection["Registration"]:
        key = (self.raw_id, window(first, after, None, None))
        page = await event_registrations_loader(info, value_of(status)).load(key)
        return connection(page.replace([Registration.from_view(v) for v in page.items]))

    @strawberry.field(
        description="The caller's own registration, when their token may read it; else null."
    )
    async def viewer_registration(self, info: Info) -> "Registration | None":
        if self.own_status is None:  # the read model already knows there is none
            return None
        view = await own_registration_loader(info).load(self.raw_id)
        return Registration.from_view(view) if view else None


@strawberry.type(
    description="A person's place at an event, seen by the person and the event's organizers."
)
class Registration(Node):
    raw_id: strawberry.Private[uuid.UUID]
    event_raw_id: strawberry.Private[uuid.UUID]
    person_raw_id: strawberry.Private[uuid.UUID]
    status: RegistrationStatus = strawberry.field(description="Where the registration stands.")
    queued_at: datetime = strawberry.field(description="Arrival time; orders the waitlist.")
    waitlist_position: int | None = strawberry.field(
        description="1 = next to get a seat; null unless waitlisted."
    )
    promoted_at: datetime | None = strawberry.field(description="When it left the waitlist.")
    checked_in_at: datetime | None = strawberry.field(description="When the person checked in.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    client_id: str | None = strawberry.field(description="The OAuth client that created it.")
    created_at: datetime = strawberry.field(description="When the registration was made.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: RegistrationView) -> "Registration":
        return cls(
            id=to_global_id("Registration", v.id),
            raw_id=v.id,
            event_raw_id=v.event_id,
            person_raw_id=v.person_id,
            status=RegistrationStatus(v.status),
            queued_at=v.queued_at,
            waitlist_position=v.waitlist_position,
            promoted_at=v.promoted_at,
            checked_in_at=v.checked_in_at,
            cancelled_at=v.cancelled_at,
            client_id=v.client_id,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The event.")
    async def event(self, info: Info) -> Event | None:
        view = await event_loader(info).load(self.event_raw_id)
        return Event.from_view(view) if view else None

    @strawberry.field(description="The person, if the caller may see them (the people rule).")
    async def person(self, info: Info) -> Person | None:
        view = await person_loader(info).load(self.person_raw_id)
        return Person.from_view(view) if view else None


@strawberry.type(
    description="A recurring event: a weekly or monthly rule whose occurrences are events, "
    "each with its own registrations; the wall-clock start holds across DST changes."
)
class EventSeries(Node):
    raw_id: strawberry.Private[uuid.UUID]
    chapter_raw_id: strawberry.Private[uuid.UUID]
    event_raw_ids: strawberry.Private[list[uuid.UUID]]
    frequency: SeriesFrequency = strawberry.field(description="Weekly or monthly.")
    interval: int = strawberry.field(description="Every `interval` weeks or months.")
    by_weekday: list[int] = strawberry.field(description="Weekdays, 0 = Monday … 6 = Sunday.")
    count: int | None = strawberry.field(description="Number of occurrences, when bounded so.")
    until: datetime | None = strawberry.field(description="Start of the last occurrence.")
    timezone: str = strawberry.field(description="IANA zone of the wall-clock start.")
    local_start: str = strawberry.field(description="Wall-clock start, HH:MM.")
    duration_minutes: int = strawberry.field(description="Length of each occurrence.")

    @classmethod
    def from_view(cls, v: SeriesView) -> "EventSeries":
        return cls(
            id=to_global_id("EventSeries", v.id),
            raw_id=v.id,
            chapter_raw_id=v.chapter_id,
            event_raw_ids=v.event_ids,
            frequency=SeriesFrequency(v.frequency),
            interval=v.interval,
            by_weekday=v.by_weekday,
            count=v.count,
            until=v.until,
            timezone=v.timezone,
            local_start=v.local_start,
            duration_minutes=v.duration_minutes,
        )

    @strawberry.field(description="The chapter hosting the series.")
    async def host_chapter(self, info: Info) -> Chapter | None:
        view = await chapter_loader(info).load(self.chapter_raw_id)
        return Chapter.from_view(view) if view else None

    @strawberry.field(description="The occurrences the caller may see, earliest first.")
    async def occurrences(self, info: Info) -> list[Event]:
        views = await event_loader(info).load_many(self.event_raw_ids)
        return [Event.from_view(v) for v in views if v]


# -- loaders ------------------------------------------------------------------------------


def event_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, EventView | None]":
    return loaders.by_id(info.context, "event", events.get_many)


def events_of(info: Info, views: list[EventView]) -> list[Event]:
    """Events of a list the caller just read; the loader keeps them, so nested fields that
    point back at them (a registration's event) need no second read."""
    loader = event_loader(info)
    for view in views:
        loader.prime(view.id, view)
    return [Event.from_view(v) for v in views]


def registration_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, RegistrationView | None]":
    return loaders.by_id(info.context, "registration", registrations.get_many)


def series_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, SeriesView | None]":
    return loaders.by_id(info.context, "event.series", recurrence.get_many_series)


def own_registration_loader(
    info: Info,
) -> "loaders.DataLoader[uuid.UUID, RegistrationView | None]":
    """The caller's own registration per event id."""
    return loaders.by_id(info.context, "event.viewerRegistration", registrations.own_for_events)


def event_registrations_loader(
    info: Info, status: str | None
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[RegistrationView]]":
    """One loader per status filter, so each filter costs one query per nesting level."""

    async def fetch(
        ctx: Ctx, ids: list[uuid.UUID], w: loaders.Window
    ) -> dict[uuid.UUID, loaders.Page[RegistrationView]]:
        return await registrations.pages_for_events(ctx, ids, w, status)

    return loaders.pages_by_id(info.context, f"event.registrations:{status}", fetch)


def chapter_events_loader(
    info: Info, flt: EventFilter
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[EventView]]":
    """One loader per filter, so each filter costs one query per nesting level."""

    async def fetch(
        ctx: Ctx, ids: list[uuid.UUID], w: loaders.Window
    ) -> dict[uuid.UUID, loaders.Page[EventView]]:
        return await events.pages_for_chapters(ctx, ids, w, flt)

    return loaders.pages_by_id(info.context, f"chapter.events:{flt!r}", fetch)
