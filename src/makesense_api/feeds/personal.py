"""A person's private calendar: their registrations as events, read through a feed token.

The feed speaks for the token's person with the narrow principal of `feeds.tokens`, so it shows
exactly what that person may still see, by the same rules as every other read: events hidden
from them since (members-only events of a chapter they left) drop out; an event's private
online link appears only while they hold a seat (`events.views`). Registrations they cancelled
and events called off stay, marked cancelled, so calendar apps remove them rather than keep a
stale copy.
"""

from datetime import datetime, timedelta
from typing import Any, cast

from sqlmodel import col, select

from makesense_api.context import Ctx
from makesense_api.events.access import visible_clause, visible_registrations_clause
from makesense_api.events.models import Event, EventStatus, Registration
from makesense_api.events.views import event_views
from makesense_api.feeds import tokens
from makesense_api.feeds.schemas import CalendarEntry, PersonalCalendar
from makesense_api.kit.clock import utcnow
from makesense_api.kit.errors import NotFound

PAST_DAYS = 90
CALENDAR_SIZE = 500


async def calendar(ctx: Ctx, token: str, now: datetime | None = None) -> PersonalCalendar:
    """The calendar a feed token opens: its person's registrations for events that end after
    90 days ago, by start (at most 500). An unknown or revoked token is not found."""
    access = await tokens.lookup(ctx.session, token)
    if access is None:
        raise NotFound("calendar feed", "for this token")
    reader = Ctx.of(ctx.session, tokens.feed_principal(access.person_id), ctx.languages)
    since = (now or utcnow()) - timedelta(days=PAST_DAYS)
    stmt = (
        select(Event, Registration.status, Registration.updated_at)
        .join(Registration, col(Registration.event_id) == Event.id)
        .where(
            col(Registration.person_id) == access.person_id,
            visible_registrations_clause(reader),
            visible_clause(reader),
            col(Event.status) != EventStatus.DRAFT,
            col(Event.ends_at) >= since,
        )
        .order_by(col(Event.starts_at), col(Event.id))
        .limit(CALENDAR_SIZE)
        .execution_options(populate_existing=True)
    )
    rows: list[Any] = list((await ctx.session.exec(cast(Any, stmt))).all())
    views = await event_views(reader, [row[0] for row in rows])
    entries = [
        CalendarEntry(view, str(status), updated_at)
        for view, (_, status, updated_at) in zip(views, rows, strict=True)
    ]
    return PersonalCalendar(access, entries)
