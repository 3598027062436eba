"""Event use-cases: create, edit, publish, cancel, read and search. Every call goes through
`ctx.authz`; only holders of `EVENTS_MANAGE` on the host chapter change an event.

Times: inputs take UTC instants or wall-clock times in the event's zone; a wall-clock time in a
daylight-saving gap is rejected, an ambiguous one means its first occurrence (`events.times`).

Status moves one way: draft → published → cancelled (a draft may be cancelled too). Cancelling
keeps every registration as it was, still readable by its person and the organizers. Each change
bumps `sequence` (calendars use it) and writes a domain event in the same transaction.
"""

import uuid
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.chapters import service as chapters
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events import rules
from makesense_api.events.access import load_visible, visible_clause
from makesense_api.events.changes import (
    apply_changes,
    bump,
    changed,
    host_chapter,
    insert_events,
    load_managed,
    mark_published,
    new_event,
    normalized,
    reload,
    resolve_times,
    zone_ok,
)
from makesense_api.events.models import (
    Event,
    EventCause,
    EventCohost,
    EventFormat,
    EventStatus,
    EventVisibility,
    Registration,
    RegistrationStatus,
)
from makesense_api.events.outbox import event_changed
from makesense_api.events.schemas import EventCreate, EventUpdate, EventView
from makesense_api.events.schemas import EventFilter as EventFilter
from makesense_api.events.views import event_rows, event_views, row_views
from makesense_api.feeds.changes import Gone, Source
from makesense_api.feeds.changes import changes_since as feed_changes
from makesense_api.kit import clock
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import ValidationFailed
from makesense_api.kit.geo import near_clause
from makesense_api.kit.pagination import Cursor, Page, Window, keyset_page, keyset_pages_by
from makesense_api.kit.schemas import parse, raise_if
from makesense_api.kit.validation import coordinates_error

# -- reads -------------------------------------------------------------------------------


async def get_event(ctx: Ctx, event_id: uuid.UUID) -> EventView:
    """One event, if the caller may see it."""
    return (await event_views(ctx, [await load_visible(ctx, event_id)]))[0]


async def get_many(ctx: Ctx, event_ids: list[uuid.UUID]) -> dict[uuid.UUID, EventView]:
    """The visible events among `event_ids`, batched (for loaders)."""
    if not event_ids:
        return {}
    stmt = event_rows(col(Event.id).in_(event_ids), visible_clause(ctx))
    rows = (await ctx.session.exec(cast(Any, stmt))).all()
    return {v.id: v for v in await row_views(ctx, rows)}


def filter_clauses(flt: EventFilter) -> list[sa.ColumnElement[bool]]:
    """One clause per filter, each served by an index of `events.models`."""
    clauses: list[sa.ColumnElement[bool]] = []
    if flt.chapter_id is not None:
        subtree = chapters.subtree_ids(flt.chapter_id)
        cohosted = select(EventCohost.event_id).where(col(EventCohost.chapter_id).in_(subtree))
        clauses.append(sa.or_(col(Event.chapter_id).in_(subtree), col(Event.id).in_(cohosted)))
    if flt.country_code is not None:
        clauses.append(col(Event.country_code) == flt.country_code.upper())
    starts_from = flt.starts_from
    if starts_from is None and flt.upcoming:
        starts_from = clock.utcnow()
    if starts_from is not None:
        clauses.append(col(Event.starts_at) >= clock.as_utc(starts_from))
    if flt.starts_to is not None:
        clauses.append(col(Event.starts_at) < clock.as_utc(flt.starts_to))
    for name, given, allowed in (
        ("format", flt.format, EventFormat),
        ("status", flt.status, EventStatus),
    ):
        if given is not None and given not in set(allowed):
            raise ValidationFailed.on(name, f"must be one of {', '.join(allowed)}")
    for column, value in (
        (Event.format, flt.format),
        (Event.language, rules.language(flt.language) if flt.language else None),
        (Event.status, flt.status),
        (Event.series_id, flt.series_id),
        (Event.program_id, flt.program_id),
        (Event.project_id, flt.project_id),
    ):
        if value is not None:
            clauses.append(col(column) == value)
    if flt.cause is not None:
        clauses.append(
            col(Event.id).in_(select(EventCause.event_id).where(EventCause.cause == flt.cause))
        )
    if flt.text:
        clauses.append(sa.func.lower(Event.title).contains(flt.text.lower(), autoescape=True))
    if flt.near is not None:
        lat, lon, km = flt.near
        raise_if([coordinates_error("near", lat, lon)])
        if not 0 < km <= 20_000:
            raise ValidationFailed.on("near.radius_km", "must be between 0 and 20000")
        clauses.append(near_clause(col(Event.latitude), col(Event.longitude), lat, lon, km))
    return clauses


async def list_events(
    ctx: Ctx, flt: EventFilter | None = None, after: Cursor = None, limit: int = 20
) -> Page[EventView]:
    """Visible events matching the filter, by start time then id: one statement for the page,
    plus the rights lookups the caller's token allows (see `views.row_views`)."""
    stmt = event_rows(visible_clause(ctx), *filter_clauses(flt or EventFilter()))
    page = await keyset_page(
        ctx.session,
        stmt,
        [col(Event.starts_at), col(Event.id)],
        lambda e: [e.starts_at, e.id],
        after,
        limit,
    )
    return page.replace(await row_views(ctx, page.items))


async def pages_for_chapters(
    ctx: Ctx, chapter_ids: list[uuid.UUID], window: Window, flt: EventFilter | None = None
) -> dict[uuid.UUID, Page[EventView]]:
    """The first page of the visible events hosted by each chapter that match the filter (by
    default: published, not started yet), by start time, in one query."""
    stmt = select(Event).where(visible_clause(ctx), *filter_clauses(flt or EventFilter()))
    pages = await keyset_pages_by(
        ctx.session,
        Event,
        stmt,
        col(Event.chapter_id),
        chapter_ids,
        [col(Event.starts_at), col(Event.id)],
        lambda e: [e.starts_at, e.id],
        window,
    )
    views = {v.id: v for v in await event_views(ctx, [e for p in pages.values() for e in p.items])}
    return {cid: p.replace([views[e.id] for e in p.items]) for cid, p in pages.items()}


async def count_events(ctx: Ctx, flt: EventFilter | None = None) -> int:
    """How many visible events match the filter."""
    stmt = (
        select(sa.func.count())
        .select_from(Event)
        .where(visible_clause(ctx), *filter_clauses(flt or EventFilter()))
    )
    return (await ctx.session.exec(stmt)).one()


async def changes_since(
    ctx: Ctx, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[EventView | Gone]:
    """Events changed after `since`, oldest change first, for mirroring clients; announced
    events the caller can no longer see (now members-only, or outside their chapters) come
    back as `Gone`. Drafts the caller cannot see are never mentioned."""
    reach = ctx.authz.reach_chapters()
    hideable: sa.ColumnElement[bool] = col(Event.status) != EventStatus.DRAFT
    if reach is not None:
        hideable = sa.and_(hideable, col(Event.chapter_id).in_(reach))
    source = Source(
        Event, "event", visible_clause(ctx), hideable, reach, lambda ids: get_many(ctx, ids)
    )
    return await feed_changes(ctx, source, since, after, limit)


CALENDAR_SIZE = 500


async def chapter_calendar(
    ctx: Ctx, slug: str, since: datetime
) -> tuple[ChapterView, list[EventView]]:
    """A visible chapter and the public events of its subtree (co-hosted included) starting
    from `since`, published or cancelled, by start (at most 500): a calendar feed."""
    chapter = await chapters.get_by_slug(ctx, slug)
    flt = EventFilter(chapter_id=chapter.id, starts_from=since, status=None)
    stmt = (
        select(Event)
        .where(
            visible_clause(ctx),
            *filter_clauses(flt),
            col(Event.visibility) == EventVisibility.PUBLIC,
            col(Event.status) != EventStatus.DRAFT,
        )
        .order_by(col(Event.starts_at), col(Event.id))
        .limit(CALENDAR_SIZE)
    )
    rows = (await ctx.session.exec(stmt.execution_options(populate_existing=True))).all()
    return chapter, await event_views(ctx, list(rows))


# -- writes ------------------------------------------------------------------------------


async def create(ctx: Ctx, data: EventCreate | dict[str, Any]) -> EventView:
    """Create a draft event in a chapter whose events the caller manages."""
    data = parse(EventCreate, data)
    async with use_case(ctx.session):
        chapter = await host_chapter(ctx, data.chapter_id)
        errors = rules.field_errors(data)
        errors += await rules.link_errors(
            ctx, chapter.id, data.cohost_ids, data.project_id, data.program_id
        )
        event = new_event(ctx, data, chapter, errors)
        if zone_ok(errors):
            for name, value in resolve_times(data.timezone, data.model_dump(), errors).items():
                setattr(event, name, value)
            errors += rules.shape_errors(event.model_dump())
        raise_if(list(errors))
        await insert_events(ctx, [event], data.causes, data.cohost_ids)
    return (await event_views(ctx, [event]))[0]


async def update(ctx: Ctx, event_id: uuid.UUID, data: EventUpdate | dict[str, Any]) -> EventView:
    """Edit an event; its capacity never falls below the seats already taken. Raising the
    capacity of a published event promotes waitlisted people into the new seats."""
    data = parse(EventUpdate, data)
    async with use_case(ctx.session):
        event = await load_managed(ctx, event_id)
        errors = rules.field_errors(data)
        errors += await rules.link_errors(
            ctx, event.chapter_id, data.cohost_ids, data.project_id, data.program_id
        )
        given = normalized(data, errors)
        if zone_ok(errors):
            zone = given.get("timezone") or event.timezone
            given.update(resolve_times(zone, given, errors))
        await changed(ctx, event, await apply_changes(ctx, event, given, errors))
        await reload(ctx, event)
    return (await event_views(ctx, [event]))[0]


async def publish(ctx: Ctx, event_id: uuid.UUID) -> EventView:
    """Open a draft to its audience and to registrations; it gets its self check-in code."""
    async with use_case(ctx.session):
        event = await load_managed(ctx, event_id)
        await mark_published(ctx, event)
        await reload(ctx, event)
    return (await event_views(ctx, [event]))[0]


async def cancel(ctx: Ctx, event_id: uuid.UUID) -> EventView:
    """Call an event off. Registrations keep their status and stay readable."""
    async with use_case(ctx.session):
        event = await load_managed(ctx, event_id)
        previous = event.status
        event.status = EventStatus.CANCELLED
        event.cancelled_at = clock.utcnow()
        ctx.session.add(event)
        await bump(ctx, event)
        counts = dict(
            (
                await ctx.session.exec(
                    select(Registration.status, sa.func.count())
                    .where(Registration.event_id == event.id)
                    .group_by(col(Registration.status))
                )
            ).all()
        )
        event_changed(
            ctx,
            "event.cancelled",
            event,
            previous_status=previous,
            registrations={s.value: counts.get(s.value, 0) for s in RegistrationStatus},
        )
        await ctx.session.flush()
        await reload(ctx, event)
    return (await event_views(ctx, [event]))[0]
