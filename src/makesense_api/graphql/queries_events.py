"""Root query fields and filters for events, and `node(id:)` for events, registrations and
series."""

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from makesense_api.events import service as events
from makesense_api.events.schemas import EventFilter
from makesense_api.graphql import nodes
from makesense_api.graphql.context import Info
from makesense_api.graphql.inputs import given
from makesense_api.graphql.relay import Connection, connection, expect_id, window
from makesense_api.graphql.types.common import NearInput
from makesense_api.graphql.types.events import (
    Event,
    EventFormat,
    EventSeries,
    EventStatus,
    Registration,
    event_loader,
    events_of,
    registration_loader,
    series_loader,
)

# -- filters ------------------------------------------------------------------------------


@strawberry.input(description="Filters for a chapter's events; all optional, combined with AND.")
class ChapterEventFilterInput:
    starts_from: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Starting at or after this instant."
    )
    starts_to: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Starting before this instant."
    )
    format: EventFormat | None = strawberry.field(
        default=strawberry.UNSET, description="Only this format."
    )
    language: str | None = strawberry.field(
        default=strawberry.UNSET, description="Spoken in this language (BCP 47)."
    )
    cause: int | None = strawberry.field(
        default=strawberry.UNSET, description="Serving this SDG (1–17)."
    )
    text: str | None = strawberry.field(default=strawberry.UNSET, description="In the title.")
    status: EventStatus | None = strawberry.field(
        default=strawberry.UNSET,
        description="Published when omitted; null: every status the caller may see.",
    )
    upcoming: bool = strawberry.field(
        default=True, description="Only events not started yet, unless `startsFrom` is given."
    )


@strawberry.input(description="Filters for events; all optional, combined with AND.")
class EventFilterInput(ChapterEventFilterInput):
    subtree: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Hosted or co-hosted by this chapter or one of its descendants.",
    )
    country: str | None = strawberry.field(
        default=strawberry.UNSET, description="In this ISO country."
    )
    near: NearInput | None = strawberry.field(
        default=strawberry.UNSET, description="With a venue within this circle."
    )


@strawberry.enum(description="Orderings of the event list.")
class EventOrder(Enum):
    STARTS_AT = strawberry.enum_value("starts_at", description="Earliest start first.")


def event_filter(f: ChapterEventFilterInput | None) -> EventFilter:
    """The service filter; a malformed chapter ID is a field error on `filter.subtree`."""
    if f is None:
        return EventFilter()
    data = {k: v.value if isinstance(v, Enum) else v for k, v in given(f).items()}
    subtree = data.pop("subtree", None)
    if subtree is not None:
        data["chapter_id"] = expect_id(subtree, "Chapter", "filter.subtree")
    if "country" in data:
        data["country_code"] = data.pop("country")
    near = data.pop("near", None)
    if near is not None:
        data["near"] = (near["latitude"], near["longitude"], near["radius_km"])
    return EventFilter(**data)


async def _event(info: Info, raw: uuid.UUID) -> Event | None:
    view = await event_loader(info).load(raw)
    return Event.from_view(view) if view else None


nodes.register("Event")(_event)


@nodes.register("Registration")
async def _registration_node(info: Info, raw: uuid.UUID) -> Registration | None:
    view = await registration_loader(info).load(raw)
    return Registration.from_view(view) if view else None


@nodes.register("EventSeries")
async def _series_node(info: Info, raw: uuid.UUID) -> EventSeries | None:
    view = await series_loader(info).load(raw)
    return EventSeries.from_view(view) if view else None


@strawberry.type
class EventQueries:
    @strawberry.field(
        description="Events the caller may see, by start time; by default the published "
        "ones not started yet."
    )
    async def events(
        self,
        info: Info,
        filter: EventFilterInput | None = None,
        order_by: EventOrder = EventOrder.STARTS_AT,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Event]:
        ctx = info.context.ctx
        flt = event_filter(filter)
        page = await events.list_events(ctx, flt, after=window(first, after, last, before))
        return connection(
            page.replace(events_of(info, page.items)),
            count=lambda: events.count_events(ctx, flt),
        )

    @strawberry.field(description="An event by its global ID; null when it is not visible.")
    async def event(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The event's global ID.")],
    ) -> Event | None:
        return await _event(info, expect_id(id, "Event"))
