"""Event, series, registration and check-in mutations."""

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time
from enum import Enum
from typing import Any

import strawberry

from makesense_api.events import checkin, recurrence, registrations
from makesense_api.events import service as events
from makesense_api.events.schemas import EventView, RegistrationView, SeriesView
from makesense_api.graphql.context import Info
from makesense_api.graphql.errors import Error, attempt, result_union
from makesense_api.graphql.inputs import given, ids_in
from makesense_api.graphql.relay import expect_id
from makesense_api.graphql.types.events import (
    Event,
    EventFormat,
    EventSeries,
    EventVisibility,
    Registration,
    SeriesFrequency,
    value_of,
)

UNSET = strawberry.UNSET


@strawberry.enum(description="What check-in records.")
class CheckInOutcome(Enum):
    ATTENDED = strawberry.enum_value("attended", description="The person came.")
    NO_SHOW = strawberry.enum_value("no_show", description="The person held a seat, not came.")


@strawberry.input(description="Title and description in one more language.")
class EventTranslationInput:
    language: str = strawberry.field(description="BCP 47 tag.")
    title: str | None = strawberry.field(default=None, description="Translated title.")
    description: str | None = strawberry.field(default=None, description="Translated text.")


@strawberry.input(description="Fields every event is made of; omitted optional ones default.")
class EventTemplateInput:
    chapter_id: strawberry.ID = strawberry.field(description="The host chapter.")
    title: str = strawberry.field(description="Title in the default language.")
    format: EventFormat = strawberry.field(description="In person, online or hybrid.")
    timezone: str = strawberry.field(description="IANA zone the event happens in.")
    language: str = strawberry.field(description="BCP 47 tag of the language spoken.")
    description: str | None = strawberry.field(default=UNSET, description="Description.")
    default_language: str | None = strawberry.field(
        default=UNSET, description="Language of title and description; `language` by default."
    )
    translations: list[EventTranslationInput] | None = strawberry.field(
        default=UNSET, description="Other languages."
    )
    venue_name: str | None = strawberry.field(default=UNSET, description="Name of the place.")
    venue_address: str | None = strawberry.field(default=UNSET, description="Postal address.")
    latitude: float | None = strawberry.field(default=UNSET, description="Degrees north.")
    longitude: float | None = strawberry.field(default=UNSET, description="Degrees east.")
    online_url: str | None = strawberry.field(default=UNSET, description="Link to join.")
    causes: list[int] | None = strawberry.field(default=UNSET, description="SDGs, 1–17.")
    capacity: int | None = strawberry.field(default=UNSET, description="Seats; null: unlimited.")
    waitlist_enabled: bool | None = strawberry.field(
        default=UNSET, description="Queue people once full (default true)."
    )
    visibility: EventVisibility | None = strawberry.field(
        default=UNSET, description="Who sees it once published (default public)."
    )
    cohost_ids: list[strawberry.ID] | None = strawberry.field(
        default=UNSET, description="Co-hosting chapters."
    )
    project_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The project the event is for."
    )
    program_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The program the event belongs to."
    )


@strawberry.input(
    description="A new draft event. Times with an offset are instants; without one they are "
    "wall-clock times in `timezone`."
)
class EventCreateInput(EventTemplateInput):
    starts_at: datetime = strawberry.field(description="Start.")
    ends_at: datetime = strawberry.field(description="End.")
    registration_opens_at: datetime | None = strawberry.field(
        default=UNSET, description="Registration opens; from publication when omitted."
    )
    registration_closes_at: datetime | None = strawberry.field(
        default=UNSET, description="Registration closes; at the end when omitted."
    )


@strawberry.input(description="Changes to events; omitted fields stay as they are.")
class EventChangesInput:
    title: str | None = strawberry.field(default=UNSET, description="Title.")
    description: str | None = strawberry.field(default=UNSET, description="Description.")
    default_language: str | None = strawberry.field(default=UNSET, description="BCP 47 tag.")
    translations: list[EventTranslationInput] | None = strawberry.field(
        default=UNSET, description="Replaces all translations."
    )
    format: EventFormat | None = strawberry.field(default=UNSET, description="Format.")
    venue_name: str | None = strawberry.field(default=UNSET, description="Name of the place.")
    venue_address: str | None = strawberry.field(default=UNSET, description="Postal address.")
    latitude: float | None = strawberry.field(default=UNSET, description="Degrees north.")
    longitude: float | None = strawberry.field(default=UNSET, description="Degrees east.")
    online_url: str | None = strawberry.field(default=UNSET, description="Link to join.")
    language: str | None = strawberry.field(default=UNSET, description="Language spoken.")
    causes: list[int] | None = strawberry.field(default=UNSET, description="Replaces the SDGs.")
    cohost_ids: list[strawberry.ID] | None = strawberry.field(
        default=UNSET, description="Replaces the co-hosts."
    )
    project_id: strawberry.ID | None = strawberry.field(default=UNSET, description="Project.")
    program_id: strawberry.ID | None = strawberry.field(default=UNSET, description="Program.")
    capacity: int | None = strawberry.field(
        default=UNSET, description="Seats (never below those taken); null: unlimited."
    )
    waitlist_enabled: bool | None = strawberry.field(default=UNSET, description="Waitlist.")
    visibility: EventVisibility | None = strawberry.field(default=UNSET, description="Audience.")


@strawberry.input(
    description="Changes to one event. Times without an offset are read in the (new) "
    "`timezone`; changing only `timezone` keeps the instants."
)
class EventUpdateInput(EventChangesInput):
    id: strawberry.ID = strawberry.field(description="The event.")
    starts_at: datetime | None = strawberry.field(default=UNSET, description="Start.")
    ends_at: datetime | None = strawberry.field(default=UNSET, description="End.")
    timezone: str | None = strawberry.field(default=UNSET, description="IANA zone.")
    registration_opens_at: datetime | None = strawberry.field(
        default=UNSET, description="Registration opens."
    )
    registration_closes_at: datetime | None = strawberry.field(
        default=UNSET, description="Registration closes."
    )


@strawberry.input(description="Changes to an occurrence and every later one of its series.")
class EventUpdateFollowingInput(EventChangesInput):
    event_id: strawberry.ID = strawberry.field(description="The first occurrence to change.")
    local_start: time | None = strawberry.field(
        default=UNSET, description="New wall-clock start (HH:MM)."
    )
    duration_minutes: int | None = strawberry.field(default=UNSET, description="New length.")


@strawberry.input(
    description="A recurring series of draft events: occurrences on the rule's dates at "
    "`localStart` in `timezone`; give `count` or `until`."
)
class EventSeriesCreateInput(EventTemplateInput):
    start_date: date = strawberry.field(description="No occurrence before this local date.")
    local_start: time = strawberry.field(description="Wall-clock start (HH:MM).")
    duration_minutes: int = strawberry.field(description="Length of each occurrence.")
    frequency: SeriesFrequency = strawberry.field(description="Weekly or monthly.")
    interval: int | None = strawberry.field(default=UNSET, description="Every n weeks/months.")
    by_weekday: list[int] | None = strawberry.field(
        default=UNSET, description="Weekly only: 0 = Monday … 6 = Sunday."
    )
    count: int | None = strawberry.field(default=UNSET, description="Number of occurrences.")
    until: date | None = strawberry.field(default=UNSET, description="Last local date.")


@strawberry.input(description="Open a draft event to its audience.")
class EventPublishInput:
    id: strawberry.ID = strawberry.field(description="The draft event.")


@strawberry.input(description="Call an event off.")
class EventCancelInput:
    id: strawberry.ID = strawberry.field(description="The event.")


@strawberry.input(description="A series to publish.")
class EventSeriesPublishInput:
    id: strawberry.ID = strawberry.field(description="The series.")


@strawberry.input(description="Register for a published event.")
class EventRegisterInput:
    event_id: strawberry.ID = strawberry.field(description="The event.")
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Whom to register (organizers); the caller when omitted."
    )


@strawberry.input(description="Cancel a registration; a freed seat goes to the waitlist.")
class RegistrationCancelInput:
    id: strawberry.ID = strawberry.field(description="The registration.")


@strawberry.input(description="Record whether a registered person came.")
class RegistrationCheckInInput:
    id: strawberry.ID = strawberry.field(description="The registration.")
    status: CheckInOutcome = strawberry.field(
        default=CheckInOutcome.ATTENDED, description="Attended (default) or no-show."
    )


@strawberry.input(description="Record several registrations of one event at once.")
class RegistrationCheckInManyInput:
    event_id: strawberry.ID = strawberry.field(description="The event.")
    registration_ids: list[strawberry.ID] = strawberry.field(description="1–500 registrations.")
    status: CheckInOutcome = strawberry.field(
        default=CheckInOutcome.ATTENDED, description="Attended (default) or no-show."
    )


@strawberry.input(description="Check oneself in with the code shown at the event.")
class EventSelfCheckInInput:
    event_id: strawberry.ID = strawberry.field(description="The event.")
    code: str = strawberry.field(description="The event's check-in code.")


@strawberry.type(description="The event after the change.")
class EventPayload:
    event: Event = strawberry.field(description="The event.")


@strawberry.type(description="The series after the change.")
class EventSeriesPayload:
    series: EventSeries = strawberry.field(description="The series.")


@strawberry.type(description="The registration after the change.")
class RegistrationPayload:
    registration: Registration = strawberry.field(description="The registration.")


@strawberry.type(description="The registrations after the change, in the order given.")
class RegistrationCheckInManyPayload:
    registrations: list[Registration] = strawberry.field(description="The registrations.")


EventResult = result_union(EventPayload, "EventResult")
EventSeriesResult = result_union(EventSeriesPayload, "EventSeriesResult")
RegistrationResult = result_union(RegistrationPayload, "RegistrationResult")
RegistrationCheckInManyResult = result_union(
    RegistrationCheckInManyPayload, "RegistrationCheckInManyResult"
)


def _event_data(input_: object, *drop: str) -> dict[str, Any]:
    """The given fields as the service names them: enums as values, global IDs as UUIDs."""
    data = {k: v.value if isinstance(v, Enum) else v for k, v in given(input_).items()}
    for name in drop:
        data.pop(name, None)
    if data.get("translations") is not None:
        data["translations"] = {t.pop("language"): t for t in data["translations"]}
    if data.get("cohost_ids") is not None:
        data["cohost_ids"] = [
            expect_id(c, "Chapter", f"cohost_ids.{i}") for i, c in enumerate(data["cohost_ids"])
        ]
    return ids_in(data, chapter_id="Chapter", project_id="Project", program_id="Program")


# Each runs the service call inside `attempt`, so that a malformed global ID, parsed within the
# call, becomes a typed ValidationError like any other input error.


async def _event(call: Callable[[], Awaitable[EventView]]) -> EventPayload | Error:
    async def run() -> EventPayload:
        return EventPayload(event=Event.from_view(await call()))

    return await attempt(run)


async def _series(call: Callable[[], Awaitable[SeriesView]]) -> EventSeriesPayload | Error:
    async def run() -> EventSeriesPayload:
        return EventSeriesPayload(series=EventSeries.from_view(await call()))

    return await attempt(run)


async def _registration(
    call: Callable[[], Awaitable[RegistrationView]],
) -> RegistrationPayload | Error:
    async def run() -> RegistrationPayload:
        return RegistrationPayload(registration=Registration.from_view(await call()))

    return await attempt(run)


@strawberry.type
class EventMutations:
    @strawberry.mutation(description="Create a draft event in a chapter whose events you manage.")
    async def event_create(self, info: Info, input: EventCreateInput) -> EventResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _event(lambda: events.create(ctx, _event_data(input)))

    @strawberry.mutation(
        description="Change an event (its organizers); a higher capacity promotes the waitlist."
    )
    async def event_update(self, info: Info, input: EventUpdateInput) -> EventResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _event(
            lambda: events.update(ctx, expect_id(input.id, "Event"), _event_data(input, "id"))
        )

    @strawberry.mutation(description="Open a draft event to its audience and to registrations.")
    async def event_publish(self, info: Info, input: EventPublishInput) -> EventResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _event(lambda: events.publish(ctx, expect_id(input.id, "Event")))

    @strawberry.mutation(description="Call an event off; registrations stay readable.")
    async def event_cancel(self, info: Info, input: EventCancelInput) -> EventResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _event(lambda: events.cancel(ctx, expect_id(input.id, "Event")))

    @strawberry.mutation(description="Create a recurring series of draft events.")
    async def event_series_create(
        self, info: Info, input: EventSeriesCreateInput
    ) -> EventSeriesResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _series(lambda: recurrence.create_series(ctx, _event_data(input)))

    @strawberry.mutation(description="Publish every draft occurrence of a series not yet ended.")
    async def event_series_publish(
        self, info: Info, input: EventSeriesPublishInput
    ) -> EventSeriesResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _series(
            lambda: recurrence.publish_series(ctx, expect_id(input.id, "EventSeries"))
        )

    @strawberry.mutation(
        description="Change an occurrence and every later one of its series; earlier ones "
        "stay as they were (the series is split). Returns the series of the changed ones."
    )
    async def event_update_following(
        self, info: Info, input: EventUpdateFollowingInput
    ) -> EventSeriesResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _series(
            lambda: recurrence.update_following(
                ctx,
                expect_id(input.event_id, "Event", "eventId"),
                _event_data(input, "event_id"),
            )
        )

    @strawberry.mutation(
        description="Register for a published event (yourself, or anyone as an organizer): a "
        "seat while any is left, else the waitlist; registering again changes nothing."
    )
    async def event_register(self, info: Info, input: EventRegisterInput) -> RegistrationResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _registration(
            lambda: registrations.register(
                ctx,
                expect_id(input.event_id, "Event", "eventId"),
                expect_id(input.person_id, "Person", "personId") if input.person_id else None,
            )
        )

    @strawberry.mutation(
        description="Cancel a registration (its person, or organizers); the first waitlisted "
        "person gets the freed seat."
    )
    async def registration_cancel(
        self, info: Info, input: RegistrationCancelInput
    ) -> RegistrationResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _registration(
            lambda: registrations.cancel(ctx, expect_id(input.id, "Registration"))
        )

    @strawberry.mutation(description="Mark one registration attended or no-show (organizers).")
    async def registration_check_in(
        self, info: Info, input: RegistrationCheckInInput
    ) -> RegistrationResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _registration(
            lambda: checkin.check_in(
                ctx, expect_id(input.id, "Registration"), value_of(input.status)
            )
        )

    @strawberry.mutation(
        description="Mark up to 500 registrations of an event at once, all or none "
        "(organizers); each registration that cannot be marked is named."
    )
    async def registration_check_in_many(
        self, info: Info, input: RegistrationCheckInManyInput
    ) -> RegistrationCheckInManyResult:  # type: ignore[valid-type]
        async def run() -> RegistrationCheckInManyPayload:
            ids = [
                expect_id(r, "Registration", f"registration_ids.{i}")
                for i, r in enumerate(input.registration_ids)
            ]
            views = await checkin.check_in_many(
                info.context.ctx,
                expect_id(input.event_id, "Event", "eventId"),
                ids,
                value_of(input.status),
            )
            return RegistrationCheckInManyPayload(
                registrations=[Registration.from_view(v) for v in views]
            )

        return await attempt(run)

    @strawberry.mutation(
        description="Check yourself in with the event's code, on the day of the event."
    )
    async def event_self_check_in(
        self, info: Info, input: EventSelfCheckInInput
    ) -> RegistrationResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _registration(
            lambda: checkin.self_check_in(
                ctx, expect_id(input.event_id, "Event", "eventId"), input.code
            )
        )
