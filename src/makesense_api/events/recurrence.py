"""Recurring series: a weekly or monthly rule whose occurrences are real events, each with its
own registrations.

The rule (`events.occurrences`) is weekly on chosen weekdays or monthly on the start date's day,
every `interval` weeks or months, bounded by `count` or by `until` (a local date, inclusive):
exactly one of them, and never more than 200 occurrences (more is refused, not truncated).

Every occurrence starts at `local_start` on its date in the series' zone, so the wall-clock
time holds across DST changes (19:00 in Paris is 18:00 UTC in winter, 17:00 UTC in summer), and
lasts exactly `duration_minutes`. The gap and overlap rules of `events.times` apply to each
occurrence: one that would fall in a spring-forward gap is refused, naming its date.

Editing "this and following" changes an occurrence and every later one; earlier occurrences are
left as they were. When earlier ones exist the series is split, as calendars do: the old rule
ends with the last earlier occurrence and a new series carries the edited ones.
"""

import uuid
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.policy import EVENTS_MANAGE
from makesense_api.chapters import service as chapters
from makesense_api.context import Ctx
from makesense_api.events import changes, rules
from makesense_api.events.access import forget, visible_clause
from makesense_api.events.models import Event, EventSeries, EventStatus
from makesense_api.events.occurrences import Rule, occurrence_dates, starts_of
from makesense_api.events.schemas import (
    MAX_OCCURRENCES,
    Frequency,
    SeriesCreate,
    SeriesEdit,
    SeriesView,
)
from makesense_api.events.times import local_date
from makesense_api.kit import clock
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import FieldError, NotFound, ValidationFailed
from makesense_api.kit.schemas import parse, raise_if


def _rule_errors(data: SeriesCreate) -> list[FieldError]:
    errors: list[FieldError] = []
    if (data.count is None) == (data.until is None):
        errors.append(FieldError("count", "give either count or until"))
    if data.until is not None and data.until < data.start_date:
        errors.append(FieldError("until", "must not be before start_date"))
    if data.by_weekday and data.frequency != Frequency.WEEKLY:
        errors.append(FieldError("by_weekday", "only weekly series have weekdays"))
    return errors


def _view(series: EventSeries, event_ids: list[uuid.UUID]) -> SeriesView:
    return SeriesView(
        id=series.id,
        chapter_id=series.chapter_id,
        frequency=series.frequency,
        interval=series.interval,
        by_weekday=list(series.by_weekday),
        count=series.count,
        until=series.until,
        timezone=series.timezone,
        local_start=series.local_start,
        duration_minutes=series.duration_minutes,
        event_ids=event_ids,
    )


def _occurrences(template: Event, series: EventSeries, starts: list[datetime]) -> list[Event]:
    base = template.model_dump(
        exclude={"id", "created_at", "updated_at", "series_id", "starts_at", "ends_at"}
    )
    length = timedelta(minutes=series.duration_minutes)
    return [
        Event(
            **{**base, "translations": dict(template.translations)},
            series_id=series.id,
            starts_at=start,
            ends_at=start + length,
        )
        for start in starts
    ]


async def create_series(ctx: Ctx, data: SeriesCreate | dict[str, Any]) -> SeriesView:
    """Create a recurring series of draft events in a chapter whose events the caller manages."""
    data = parse(SeriesCreate, data)
    async with use_case(ctx.session):
        chapter = await changes.host_chapter(ctx, data.chapter_id)
        errors = rules.field_errors(data) + _rule_errors(data)
        errors += await rules.link_errors(
            ctx, chapter.id, data.cohost_ids, data.project_id, data.program_id
        )
        template = changes.new_event(ctx, data, chapter, errors)
        errors += rules.shape_errors(template.model_dump())
        raise_if(list(errors))
        rule = Rule(data.frequency, data.interval, tuple(data.by_weekday), data.count, data.until)
        dates = occurrence_dates(data.start_date, rule)
        if len(dates) > MAX_OCCURRENCES:
            raise ValidationFailed.on(
                "until", f"a series has at most {MAX_OCCURRENCES} occurrences"
            )
        starts = starts_of(dates, data.local_start, data.timezone, "local_start", errors)
        raise_if(list(errors))
        if not starts:
            raise ValidationFailed.on("start_date", "the rule gives no occurrence")
        series = EventSeries(
            chapter_id=chapter.id,
            frequency=data.frequency,
            interval=data.interval,
            by_weekday=sorted(set(data.by_weekday)),
            count=data.count,
            until=starts[-1] if data.until is not None else None,
            timezone=data.timezone,
            local_start=f"{data.local_start:%H:%M}",
            duration_minutes=data.duration_minutes,
        )
        ctx.session.add(series)
        await ctx.session.flush()
        occurrences = _occurrences(template, series, starts)
        await changes.insert_events(ctx, occurrences, data.causes, data.cohost_ids)
    return _view(series, [e.id for e in occurrences])


async def _load_series(ctx: Ctx, series_id: uuid.UUID) -> EventSeries:
    series = await ctx.session.get(EventSeries, series_id, populate_existing=True)
    if series is None:
        raise NotFound("series", series_id)
    return series


async def _series_events(
    ctx: Ctx, series_id: uuid.UUID, *where: sa.ColumnElement[bool]
) -> list[Event]:
    stmt = (
        select(Event)
        .where(Event.series_id == series_id, *where)
        .order_by(col(Event.starts_at))
        .execution_options(populate_existing=True)
    )
    return list((await ctx.session.exec(stmt)).all())


async def get_series(ctx: Ctx, series_id: uuid.UUID) -> SeriesView:
    """A series with the occurrences the caller may see (NotFound when none)."""
    series = await _load_series(ctx, series_id)
    visible = await _series_events(ctx, series.id, visible_clause(ctx))
    if not visible:
        raise NotFound("series", series_id)
    return _view(series, [e.id for e in visible])


async def get_many_series(ctx: Ctx, series_ids: list[uuid.UUID]) -> dict[uuid.UUID, SeriesView]:
    """The series among `series_ids` with the occurrences the caller may see, batched (for
    loaders); a series none of whose occurrences is visible is left out, as in `get_series`."""
    if not series_ids:
        return {}
    stmt = (
        select(Event.series_id, Event.id)
        .where(col(Event.series_id).in_(series_ids), visible_clause(ctx))
        .order_by(col(Event.starts_at), col(Event.id))
    )
    occurrences: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for series_id, event_id in (await ctx.session.exec(stmt)).all():
        if series_id is not None:
            occurrences[series_id].append(event_id)
    if not occurrences:
        return {}
    rows = await ctx.session.exec(
        select(EventSeries)
        .where(col(EventSeries.id).in_(list(occurrences)))
        .execution_options(populate_existing=True)
    )
    return {s.id: _view(s, occurrences[s.id]) for s in rows.all()}


async def publish_series(ctx: Ctx, series_id: uuid.UUID) -> SeriesView:
    """Publish every draft occurrence of a series that has not ended."""
    async with use_case(ctx.session):
        series = await _load_series(ctx, series_id)
        await chapters.load_visible(ctx, series.chapter_id)
        await ctx.authz.require(EVENTS_MANAGE, series.chapter_id)
        now = clock.utcnow()
        drafts = await _series_events(
            ctx, series.id, col(Event.status) == EventStatus.DRAFT, col(Event.ends_at) > now
        )
        for event in drafts:
            await changes.mark_published(ctx, event)
        occurrences = await _series_events(ctx, series.id)
    return _view(series, [e.id for e in occurrences])


def _edit_of(
    event: Event,
    series: EventSeries,
    data: SeriesEdit,
    base: dict[str, Any],
    errors: list[FieldError],
) -> dict[str, Any]:
    """The changes for one occurrence: the shared fields, and its new times if any."""
    given = dict(base)
    if data.local_start is None and data.duration_minutes is None:
        return given
    at = data.local_start or time.fromisoformat(series.local_start)
    day = local_date(event.starts_at, series.timezone)
    starts = starts_of([day], at, series.timezone, "local_start", errors)
    if starts:
        length = (
            timedelta(minutes=data.duration_minutes)
            if data.duration_minutes is not None
            else event.ends_at - event.starts_at
        )
        given.update(starts_at=starts[0], ends_at=starts[0] + length)
    return given


async def _split(
    ctx: Ctx, series: EventSeries, earlier: list[Event], following: list[Event]
) -> EventSeries:
    """End the series before `following` and give those occurrences a series of their own."""
    tail = EventSeries(
        **series.model_dump(exclude={"id", "created_at", "updated_at", "count"}),
        count=len(following) if series.count is not None else None,
    )
    ctx.session.add(tail)
    if series.count is not None:
        series.count = len(earlier)
    if series.until is not None:
        series.until = earlier[-1].starts_at
    ctx.session.add(series)
    await ctx.session.flush()
    await ctx.session.exec(
        sa.update(Event)
        .where(col(Event.id).in_([e.id for e in following]))
        .values(series_id=tail.id)
        .execution_options(synchronize_session=False)
    )
    for event in following:
        forget(ctx.session, Event, event.id, "series_id", "updated_at")
    return tail


async def update_following(
    ctx: Ctx, event_id: uuid.UUID, data: SeriesEdit | dict[str, Any]
) -> SeriesView:
    """Edit an occurrence and every later one of its series (cancelled ones stay as they are);
    earlier occurrences are untouched. All of them change, or none."""
    data = parse(SeriesEdit, data)
    async with use_case(ctx.session):
        event = await changes.load_managed(ctx, event_id)
        if event.series_id is None:
            raise ValidationFailed.on("event_id", "the event is not part of a series")
        series = await _load_series(ctx, event.series_id)
        errors = rules.field_errors(data)
        errors += await rules.link_errors(
            ctx, event.chapter_id, data.cohost_ids, data.project_id, data.program_id
        )
        base = changes.normalized(data, errors)
        for name in ("local_start", "duration_minutes"):
            base.pop(name, None)
        raise_if(list(errors))
        earlier = await _series_events(ctx, series.id, col(Event.starts_at) < event.starts_at)
        following = await _series_events(ctx, series.id, col(Event.starts_at) >= event.starts_at)
        for occurrence in following:
            if occurrence.status != EventStatus.CANCELLED:
                await _edit_one(ctx, occurrence, series, data, base)
        target = await _split(ctx, series, earlier, following) if earlier else series
        if data.local_start is not None:
            target.local_start = f"{data.local_start:%H:%M}"
        if data.duration_minutes is not None:
            target.duration_minutes = data.duration_minutes
        ctx.session.add(target)
        await ctx.session.flush()
    return _view(target, [e.id for e in following])


async def _edit_one(
    ctx: Ctx, event: Event, series: EventSeries, data: SeriesEdit, base: dict[str, Any]
) -> None:
    errors: list[FieldError] = []
    given = _edit_of(event, series, data, base, errors)
    try:
        fields = await changes.apply_changes(ctx, event, given, errors)
    except ValidationFailed as failed:
        day = local_date(event.starts_at, series.timezone)
        raise ValidationFailed(
            [FieldError(e.field, f"occurrence of {day}: {e.message}") for e in failed.errors]
        ) from None
    await changes.changed(ctx, event, fields)
