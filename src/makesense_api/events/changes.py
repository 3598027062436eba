"""Building and changing event rows: the steps shared by single events and series.

Edits are checked against the event as it would become, then applied in the caller's
savepoint; every change bumps `sequence` atomically and is announced in the outbox. Seat
counters are never written here except through `events.seats`.
"""

import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from makesense_api.authz.policy import EVENTS_MANAGE
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter
from makesense_api.context import Ctx
from makesense_api.events import rules
from makesense_api.events.access import forget, load_visible
from makesense_api.events.models import Event, EventStatus
from makesense_api.events.outbox import event_changed, registration_changed
from makesense_api.events.schemas import EventChanges
from makesense_api.events.seats import fill_from_waitlist, set_capacity
from makesense_api.events.times import resolve
from makesense_api.impact import rollup
from makesense_api.kit import clock
from makesense_api.kit.errors import Conflict, FieldError, NotFound, ValidationFailed
from makesense_api.kit.schemas import null_errors, raise_if

TIME_FIELDS = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")
CHECK_IN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes
CHECK_IN_LENGTH = 8
# Columns an edit may change but never clear.
REQUIRED_ON_UPDATE = (
    "title",
    "default_language",
    "translations",
    "format",
    "timezone",
    "language",
    "waitlist_enabled",
    "visibility",
    "starts_at",
    "ends_at",
)


async def host_chapter(ctx: Ctx, chapter_id: uuid.UUID) -> Chapter:
    """The host chapter named by an input, which the caller must be allowed to manage events in."""
    try:
        chapter = await chapters.load_visible(ctx, chapter_id)
    except NotFound:
        raise ValidationFailed.on("chapter_id", "no such chapter") from None
    await ctx.authz.require(EVENTS_MANAGE, chapter.id)
    return chapter


def new_event(ctx: Ctx, data: Any, chapter: Chapter, errors: list[FieldError]) -> Event:
    """An unsaved event from a template's fields (times are set by the caller)."""
    values = data.model_dump(
        include={
            "project_id",
            "program_id",
            "title",
            "description",
            "format",
            "venue_name",
            "venue_address",
            "latitude",
            "longitude",
            "online_url",
            "timezone",
            "capacity",
            "waitlist_enabled",
            "visibility",
        }
    )
    return Event(
        **values,
        chapter_id=chapter.id,
        country_code=chapter.country_code,
        language=rules.language(data.language),
        default_language=rules.language(data.default_language or data.language),
        translations=rules.translations(data.translations, errors),
        status=EventStatus.DRAFT,
    )


async def insert_events(
    ctx: Ctx, events: list[Event], causes: list[int], cohost_ids: list[uuid.UUID]
) -> None:
    """Save new events with their causes and co-hosts, and announce them."""
    ctx.session.add_all(events)
    await ctx.session.flush()
    ids = [e.id for e in events]
    await rules.set_causes(ctx, ids, causes)
    await rules.set_cohosts(ctx, ids, cohost_ids)
    for event in events:
        event_changed(ctx, "event.created", event)


async def load_managed(ctx: Ctx, event_id: uuid.UUID) -> Event:
    """A visible event the caller manages, still open to changes."""
    event = await load_visible(ctx, event_id)
    await ctx.authz.require(EVENTS_MANAGE, event.chapter_id)
    if event.status == EventStatus.CANCELLED:
        raise Conflict("a cancelled event cannot change")
    return event


async def bump(ctx: Ctx, event: Event) -> None:
    """Count one more revision, atomically (RFC 5545 SEQUENCE)."""
    await ctx.session.exec(
        sa.update(Event)
        .where(col(Event.id) == event.id)
        .values(sequence=Event.sequence + 1)
        .execution_options(synchronize_session=False)
    )
    forget(ctx.session, Event, event.id, "sequence", "updated_at")


async def reload(ctx: Ctx, event: Event) -> Event:
    await ctx.session.refresh(event)
    return event


def zone_ok(errors: list[FieldError]) -> bool:
    return not any(e.field == "timezone" for e in errors)


def resolve_times(zone: str, given: dict[str, Any], errors: list[FieldError]) -> dict[str, Any]:
    """Instants for the time fields present in `given`, wall-clock times read in `zone`."""
    return {
        name: None if given[name] is None else resolve(given[name], zone, name, errors)
        for name in TIME_FIELDS
        if name in given
    }


async def apply_changes(
    ctx: Ctx, event: Event, given: dict[str, Any], errors: list[FieldError]
) -> list[str]:
    """Check `given` (validated column values, times as instants) against the event as it
    would become, then apply it and count a revision; the names of the fields given."""
    if given.get("capacity") is not None and given["capacity"] < event.seats_taken:
        errors.append(
            FieldError("capacity", f"{event.seats_taken} seats are taken; it cannot be lower")
        )
    links = {k: given.pop(k) for k in ("causes", "cohost_ids") if k in given}
    errors += rules.shape_errors({**event.model_dump(), **given})
    raise_if(list(errors))
    if not given and not links:
        return []
    if "capacity" in given and not await set_capacity(ctx.session, event.id, given["capacity"]):
        raise ValidationFailed.on("capacity", "more seats were taken meanwhile; retry")
    for name, value in given.items():
        if name != "capacity":
            setattr(event, name, value)
    ctx.session.add(event)
    if "causes" in links:
        await rules.set_causes(ctx, [event.id], links["causes"])
    if "cohost_ids" in links:
        await rules.set_cohosts(ctx, [event.id], links["cohost_ids"])
    await bump(ctx, event)
    await ctx.session.flush()
    return sorted([*given, *links])


def normalized(data: EventChanges, errors: list[FieldError]) -> dict[str, Any]:
    """The given fields of an edit as column values (tags canonical, translations clean);
    `causes: null` and `cohost_ids: null` clear them."""
    errors += null_errors(data, REQUIRED_ON_UPDATE)
    given: dict[str, Any] = data.model_dump(exclude_unset=True)
    for name in ("language", "default_language"):
        if given.get(name):
            given[name] = rules.language(given[name])
    if data.translations is not None:
        given["translations"] = rules.translations(data.translations, errors)
    for name in ("causes", "cohost_ids"):
        if name in given and given[name] is None:
            given[name] = []
    return given


async def changed(ctx: Ctx, event: Event, fields: list[str]) -> None:
    """Announce an edit (an empty one is none); new seats of a published event go to its
    waitlist."""
    if not fields:
        return
    await rollup.event_edited(ctx.session, event.id, fields)
    event_changed(ctx, "event.updated", event, fields=fields)
    if "capacity" in fields and event.status == EventStatus.PUBLISHED:
        await promote_waitlist(ctx, event)


async def promote_waitlist(ctx: Ctx, event: Event) -> None:
    """Give free seats to waitlisted people, first in first out, and announce each one."""
    for registration in await fill_from_waitlist(ctx.session, event.id, clock.utcnow()):
        registration_changed(ctx, "registration.promoted", event, registration)


def check_in_code() -> str:
    return "".join(secrets.choice(CHECK_IN_ALPHABET) for _ in range(CHECK_IN_LENGTH))


async def mark_published(ctx: Ctx, event: Event) -> None:
    """Move a draft the caller manages to published."""
    if event.status != EventStatus.DRAFT:
        raise Conflict("only a draft can be published")
    if event.ends_at <= clock.utcnow():
        raise Conflict("an event that has ended cannot be published")
    event.status = EventStatus.PUBLISHED
    event.published_at = clock.utcnow()
    event.check_in_code = check_in_code()
    ctx.session.add(event)
    await bump(ctx, event)
    event_changed(ctx, "event.published", event)
    await ctx.session.flush()
