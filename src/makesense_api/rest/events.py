"""`/v1/events` and `/v1/registrations`: events, their life cycle, and people's places."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from makesense_api.authz.principal import Scope
from makesense_api.events import checkin, recurrence, registrations
from makesense_api.events import service as events
from makesense_api.events.models import EventFormat, EventStatus, RegistrationStatus
from makesense_api.events.schemas import (
    EventCreate,
    EventFilter,
    EventUpdate,
    EventView,
    RegistrationView,
    SeriesCreate,
    SeriesEdit,
    SeriesView,
)
from makesense_api.feeds import ical
from makesense_api.feeds import registrations as registration_feeds
from makesense_api.feeds.changes import Gone
from makesense_api.kit.errors import ValidationFailed
from makesense_api.kit.pagination import Page
from makesense_api.kit.schemas import Input
from makesense_api.rest import schemas
from makesense_api.rest.operations import Call, NoQuery, Registry
from makesense_api.rest.params import FeedQuery, PageQuery
from makesense_api.rest.schemas import Out

api = Registry("events")
EVENT = "/events/{event_id:uuid}"
REGISTRATION = "/registrations/{registration_id:uuid}"
SERIES = "/series/{series_id:uuid}"


class EventQuery(FeedQuery):
    chapter_id: uuid.UUID | None = Field(
        default=None, description="Events hosted or co-hosted in this chapter's subtree."
    )
    country: str | None = Field(default=None, min_length=2, max_length=2)
    starts_from: AwareDatetime | None = Field(
        default=None, description="Starting at or after this instant (default: now, unless "
        "`upcoming=false`)."
    )
    starts_to: AwareDatetime | None = Field(default=None, description="Starting before this.")
    format: EventFormat | None = None
    language: str | None = Field(
        default=None, max_length=35, description="BCP 47 tag of the language spoken."
    )
    cause: int | None = Field(default=None, ge=1, le=17, description="A UN SDG, 1–17.")
    q: str | None = Field(default=None, max_length=200, description="Text in the title.")
    near_lat: float | None = Field(default=None, ge=-90, le=90)
    near_lon: float | None = Field(default=None, ge=-180, le=180)
    near_km: float | None = Field(default=None, gt=0, le=20_000)
    series_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    status: EventStatus | Literal["any"] = Field(
        default=EventStatus.PUBLISHED, description="`any`: every status the caller may see."
    )
    upcoming: bool = Field(default=True, description="Only events not started yet.")


def _near(q: EventQuery) -> tuple[float, float, float] | None:
    given = (q.near_lat, q.near_lon, q.near_km)
    if all(v is None for v in given):
        return None
    if q.near_lat is None or q.near_lon is None or q.near_km is None:
        raise ValidationFailed.on("near_lat", "give near_lat, near_lon and near_km together")
    return q.near_lat, q.near_lon, q.near_km


def _location(view: EventView) -> str:
    return f"/v1/events/{view.id}"


@api.get(
    "/events", "Search events", response=schemas.Event, collection=True, anonymous=True,
    scope=Scope.EVENTS_READ, feed=True,
)
async def list_events(c: Call[EventQuery, None]) -> Page[EventView] | Page[EventView | Gone]:
    """Events the caller may see, by start time: published public events for everyone,
    members-only events for members of the host chapter, drafts for its organizers. By
    default only published events that have not started yet."""
    q = c.query
    if q.updated_since is not None:
        return await events.changes_since(c.ctx, q.updated_since, q.cursor, q.limit)
    flt = events.EventFilter(
        chapter_id=q.chapter_id,
        country_code=q.country,
        starts_from=q.starts_from,
        starts_to=q.starts_to,
        format=q.format.value if q.format else None,
        language=q.language,
        cause=q.cause,
        text=q.q,
        near=_near(q),
        series_id=q.series_id,
        program_id=q.program_id,
        project_id=q.project_id,
        status=None if q.status == "any" else q.status,
        upcoming=q.upcoming,
    )
    return await events.list_events(c.ctx, flt, q.cursor, q.limit)


@api.post(
    "/events", "Create an event", response=schemas.Event, status=201,
    scope=Scope.EVENTS_WRITE, location=_location,
)
async def create_event(c: Call[NoQuery, EventCreate]) -> EventView:
    """Create a draft event hosted by a chapter whose events the caller manages (organizers
    of the chapter or an ancestor, or a partner granted `events:write` there). Times take an
    offset, or are wall-clock times in the event's `timezone`."""
    return await events.create(c.ctx, c.body)


@api.get(
    EVENT, "Get an event", response=schemas.Event, anonymous=True, scope=Scope.EVENTS_READ,
    alternates={"application/ld+json": ical.json_ld},
)
async def get_event(c: Call[NoQuery, None]) -> EventView:
    """One event, if the caller may see it. `online_url` is given to registered people and
    organizers, `check_in_code` to organizers. With `Accept: application/ld+json`, a
    schema.org Event instead."""
    return await events.get_event(c.ctx, c.id("event_id"))


@api.patch(
    EVENT, "Edit an event", response=schemas.Event, scope=Scope.EVENTS_WRITE,
    current=get_event,
)
async def update_event(c: Call[NoQuery, EventUpdate]) -> EventView:
    """Change the fields given (organizers of the host chapter). Send `If-Match` with the
    ETag you read to be sure nobody changed the event meanwhile. The capacity never falls
    below the seats taken; raising it promotes waitlisted people."""
    return await events.update(c.ctx, c.id("event_id"), c.body)


@api.post(
    EVENT + "/publish", "Publish an event", response=schemas.Event, scope=Scope.EVENTS_WRITE,
    conflicts=True,
)
async def publish_event(c: Call[NoQuery, None]) -> EventView:
    """Open a draft to its audience and to registrations; 409 unless it is a draft that has
    not ended."""
    return await events.publish(c.ctx, c.id("event_id"))


@api.post(
    EVENT + "/cancel", "Cancel an event", response=schemas.Event, scope=Scope.EVENTS_WRITE,
    conflicts=True,
)
async def cancel_event(c: Call[NoQuery, None]) -> EventView:
    """Call an event off. Registrations keep their status and stay readable."""
    return await events.cancel(c.ctx, c.id("event_id"))


# -- registrations -------------------------------------------------------------------------


class RegistrationCreate(Input):
    person_id: uuid.UUID | None = Field(
        default=None,
        description="Whom to register (organizers and partner tools); the caller when omitted.",
    )


class CheckIn(Input):
    status: Literal["attended", "no_show"] = Field(
        default="attended", description="What happened: attended or no_show."
    )


class RegistrationQuery(FeedQuery):
    status: RegistrationStatus | None = None


def _registration_location(view: RegistrationView) -> str:
    return f"/v1/registrations/{view.id}"


@api.post(
    EVENT + "/registrations", "Register for an event", response=schemas.Registration,
    status=201, body_required=False, scope=Scope.REGISTRATIONS_WRITE,
    location=_registration_location, conflicts=True,
)
async def register(c: Call[NoQuery, RegistrationCreate]) -> RegistrationView:
    """Register the caller (or, for organizers and partner tools, `person_id`) for a published
    event whose registration window is open. Registered while seats remain, then waitlisted;
    409 `capacity_full` when the event is full and has no waitlist. Registering again returns
    the existing registration."""
    return await registrations.register(c.ctx, c.id("event_id"), c.body.person_id)


@api.get(
    EVENT + "/registrations", "List an event's registrations", response=schemas.Registration,
    collection=True, scope=Scope.REGISTRATIONS_READ, feed=True,
)
async def list_registrations(
    c: Call[RegistrationQuery, None],
) -> Page[RegistrationView] | Page[RegistrationView | Gone]:
    """The attendee list in arrival order, for organizers of the host chapter (and partners
    granted `registrations:read` there). With `updated_since`, a change feed of the list:
    cancellations come back with status `cancelled`, deletions as tombstones."""
    q = c.query
    if q.updated_since is not None:
        return await registration_feeds.event_changes(
            c.ctx, c.id("event_id"), q.updated_since, q.cursor, q.limit
        )
    status = q.status.value if q.status else None
    return await registrations.list_registrations(
        c.ctx, c.id("event_id"), status, q.cursor, q.limit
    )


@api.get(
    REGISTRATION, "Get a registration", response=schemas.Registration,
    scope=Scope.REGISTRATIONS_READ,
)
async def get_registration(c: Call[NoQuery, None]) -> RegistrationView:
    """A registration: the caller's own, or any of an event the caller organizes."""
    return await registrations.get_registration(c.ctx, c.id("registration_id"))


@api.post(
    REGISTRATION + "/cancel", "Cancel a registration", response=schemas.Registration,
    scope=Scope.REGISTRATIONS_WRITE, conflicts=True,
)
async def cancel_registration(c: Call[NoQuery, None]) -> RegistrationView:
    """Cancel a registration (its person, or organizers); a freed seat goes to the first
    person on the waitlist. Cancelling again changes nothing."""
    return await registrations.cancel(c.ctx, c.id("registration_id"))


@api.post(
    REGISTRATION + "/check-in", "Check a registration in", response=schemas.Registration,
    body_required=False, scope=Scope.REGISTRATIONS_WRITE, conflicts=True,
)
async def check_in(c: Call[NoQuery, CheckIn]) -> RegistrationView:
    """Mark a seated registration attended (or no_show), for organizers of a published
    event."""
    return await checkin.check_in(c.ctx, c.id("registration_id"), c.body.status)


# -- recurring series ----------------------------------------------------------------------


class Series(Out):
    """A recurring series: a weekly or monthly rule whose occurrences are events of their own,
    each with its own registrations."""

    id: uuid.UUID
    chapter_id: uuid.UUID = Field(description="The host chapter.")
    frequency: str = Field(description="weekly or monthly.")
    interval: int = Field(description="Every `interval` weeks or months.")
    by_weekday: list[int] = Field(description="Weekly series: ISO weekdays, 1 = Monday.")
    count: int | None = Field(description="How many occurrences, when bounded by a count.")
    until: datetime | None = Field(description="Start of the last occurrence, when bounded "
                                   "by a date.")
    timezone: str = Field(description="IANA zone the wall-clock start is kept in.")
    local_start: str = Field(description="Wall-clock start, HH:MM, kept across DST changes.")
    duration_minutes: int
    event_ids: list[uuid.UUID] = Field(
        description="The occurrences the caller may see, earliest first."
    )


def _series_location(view: SeriesView) -> str:
    return f"/v1/series/{view.id}"


@api.post(
    "/series", "Create a recurring series", response=Series, status=201,
    scope=Scope.EVENTS_WRITE, location=_series_location,
)
async def create_series(c: Call[NoQuery, SeriesCreate]) -> SeriesView:
    """Create a series of draft events in a chapter whose events the caller manages: weekly
    (on `by_weekday`, default the start date's day) or monthly (on the start date's day),
    every `interval` weeks or months, bounded by `count` or `until` (exactly one; at most 200
    occurrences). Each occurrence starts at `local_start` in `timezone`, so the wall-clock
    time holds across DST changes; one falling in a DST gap is refused, naming its date."""
    return await recurrence.create_series(c.ctx, c.body)


@api.get(SERIES, "Get a series", response=Series, anonymous=True, scope=Scope.EVENTS_READ)
async def get_series(c: Call[NoQuery, None]) -> SeriesView:
    """A series and the ids of the occurrences the caller may see; 404 when they see none."""
    return await recurrence.get_series(c.ctx, c.id("series_id"))


class OccurrenceQuery(PageQuery):
    status: EventStatus | Literal["any"] = Field(
        default="any", description="Only this status; `any`: every status the caller may see."
    )


@api.get(
    SERIES + "/events", "List a series' occurrences", response=schemas.Event, collection=True,
    anonymous=True, scope=Scope.EVENTS_READ,
)
async def list_occurrences(c: Call[OccurrenceQuery, None]) -> Page[EventView]:
    """The occurrences of a series the caller may see, past and future, by start time; 404
    when the caller sees none of them."""
    series = await recurrence.get_series(c.ctx, c.id("series_id"))
    status = None if c.query.status == "any" else c.query.status
    flt = EventFilter(series_id=series.id, status=status, upcoming=False)
    return await events.list_events(c.ctx, flt, c.query.cursor, c.query.limit)


@api.post(
    SERIES + "/publish", "Publish a series", response=Series, scope=Scope.EVENTS_WRITE,
    conflicts=True,
)
async def publish_series(c: Call[NoQuery, None]) -> SeriesView:
    """Publish every draft occurrence of the series that has not ended."""
    return await recurrence.publish_series(c.ctx, c.id("series_id"))


@api.post(
    EVENT + "/update-following", "Edit this and following occurrences", response=Series,
    scope=Scope.EVENTS_WRITE, conflicts=True,
)
async def update_following(c: Call[NoQuery, SeriesEdit]) -> SeriesView:
    """Change an occurrence and every later one of its series (cancelled ones stay as they
    are); earlier occurrences are untouched, and when there are any the series is split, as
    calendars do: the answer is the series of the changed occurrences. All of them change or
    none (422 names the date of an occurrence that cannot take the change)."""
    return await recurrence.update_following(c.ctx, c.id("event_id"), c.body)
