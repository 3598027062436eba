"""Read models for events and registrations, built a page at a time.

Every helper takes a whole batch and runs a fixed number of statements for it (causes, co-hosts,
the caller's rights on the host chapters, the caller's own registrations), so a page of 50
events costs what a page of 5 does.

Reads that select events themselves (lists, batches by id) use `event_rows`: plain columns, no
ORM objects, with each event's causes and co-hosts aggregated into the same statement, so a
page costs one statement plus the rights lookups that the caller's token makes possible (none
for an anonymous caller). `row_views` turns such rows into views with the same rules as
`event_views`.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from makesense_api.authz.policy import EVENTS_MANAGE, EVENTS_REVIEW
from makesense_api.context import Ctx
from makesense_api.events.access import acts_for_self
from makesense_api.events.models import (
    Event,
    EventCause,
    EventCohost,
    Registration,
    RegistrationStatus,
)
from makesense_api.events.schemas import EventView, RegistrationView
from makesense_api.kit.i18n import localize

SEATED = frozenset(
    {RegistrationStatus.REGISTERED, RegistrationStatus.ATTENDED, RegistrationStatus.NO_SHOW}
)


async def _causes(ctx: Ctx, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
    found: dict[uuid.UUID, list[int]] = defaultdict(list)
    stmt = (
        select(EventCause.event_id, EventCause.cause)
        .where(col(EventCause.event_id).in_(ids))
        .order_by(col(EventCause.cause))
    )
    for event_id, cause in (await ctx.session.exec(stmt)).all():
        found[event_id].append(cause)
    return found


async def _cohosts(ctx: Ctx, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    stmt = (
        select(EventCohost.event_id, EventCohost.chapter_id)
        .where(col(EventCohost.event_id).in_(ids))
        .order_by(col(EventCohost.chapter_id))
    )
    for event_id, chapter_id in (await ctx.session.exec(stmt)).all():
        found[event_id].append(chapter_id)
    return found


async def _own_statuses(ctx: Ctx, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    me = acts_for_self(ctx)
    if me is None:
        return {}
    stmt = select(Registration.event_id, Registration.status).where(
        Registration.person_id == me, col(Registration.event_id).in_(ids)
    )
    return dict((await ctx.session.exec(stmt)).all())


async def event_views(ctx: Ctx, events: list[Event]) -> list[EventView]:
    """Views of a batch of events the caller may see."""
    if not events:
        return []
    ids = [e.id for e in events]
    causes = await _causes(ctx, ids)
    cohosts = await _cohosts(ctx, ids)
    return await _views(ctx, events, [causes[i] for i in ids], [cohosts[i] for i in ids])


async def _views(
    ctx: Ctx,
    events: Sequence[Any],
    causes: list[list[int]],
    cohosts: list[list[uuid.UUID]],
) -> list[EventView]:
    ids = [e.id for e in events]
    hosts = {e.chapter_id for e in events}
    organizers = await ctx.authz.chapters_allowing(EVENTS_REVIEW, hosts)
    managers = await ctx.authz.chapters_allowing(EVENTS_MANAGE, hosts)
    own = await _own_statuses(ctx, ids)
    return [
        _view(
            ctx,
            e,
            its_causes,
            its_cohosts,
            own.get(e.id),
            e.chapter_id in organizers,
            e.chapter_id in managers,
        )
        for e, its_causes, its_cohosts in zip(events, causes, cohosts, strict=True)
    ]


# -- events read as rows -------------------------------------------------------------------

EVENT_TABLE: sa.Table = Event.__table__  # type: ignore[attr-defined]
CAUSE_TABLE: sa.Table = EventCause.__table__  # type: ignore[attr-defined]
COHOST_TABLE: sa.Table = EventCohost.__table__  # type: ignore[attr-defined]


def _listed(table: sa.Table, value: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """The values of `table` for the outer query's event, as one comma-separated string."""
    return (
        sa.select(sa.func.aggregate_strings(sa.cast(value, sa.String), ","))
        .where(table.c.event_id == EVENT_TABLE.c.id)
        .scalar_subquery()
    )


def event_rows(*where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """Every column of the events matching `where`, with `cause_list` and `cohost_list`."""
    return sa.select(
        *EVENT_TABLE.c,
        _listed(CAUSE_TABLE, CAUSE_TABLE.c.cause).label("cause_list"),
        _listed(COHOST_TABLE, COHOST_TABLE.c.chapter_id).label("cohost_list"),
    ).where(*where)


def _split(listed: str | None) -> list[str]:
    return listed.split(",") if listed else []


async def row_views(ctx: Ctx, rows: Sequence[Any]) -> list[EventView]:
    """Views of events read with `event_rows`, for a caller who may see them."""
    if not rows:
        return []
    # Plain attributes: a row's own attribute access costs about as much as building a view.
    keys = rows[0]._fields
    plain = [SimpleNamespace(**dict(zip(keys, r, strict=True))) for r in rows]
    causes = [sorted(int(c) for c in _split(r.cause_list)) for r in plain]
    cohosts = [sorted(uuid.UUID(c) for c in _split(r.cohost_list)) for r in plain]
    return await _views(ctx, plain, causes, cohosts)


def _view(
    ctx: Ctx,
    e: Any,
    causes: list[int],
    cohosts: list[uuid.UUID],
    own: str | None,
    organizer: bool,
    manager: bool,
) -> EventView:
    text_language, text = localize(
        {"title": e.title, "description": e.description},
        e.default_language,
        e.translations,
        ctx.languages,
    )
    return EventView(
        id=e.id,
        chapter_id=e.chapter_id,
        cohost_ids=cohosts,
        project_id=e.project_id,
        program_id=e.program_id,
        series_id=e.series_id,
        title=text["title"] or e.title,
        description=text["description"],
        text_language=text_language,
        format=str(e.format),
        venue_name=e.venue_name,
        venue_address=e.venue_address,
        latitude=e.latitude,
        longitude=e.longitude,
        online_url=e.online_url if organizer or own in SEATED else None,
        starts_at=e.starts_at,
        ends_at=e.ends_at,
        timezone=e.timezone,
        language=e.language,
        country_code=e.country_code,
        causes=causes,
        capacity=e.capacity,
        seats_taken=e.seats_taken,
        waitlist_enabled=e.waitlist_enabled,
        registration_opens_at=e.registration_opens_at,
        registration_closes_at=e.registration_closes_at,
        visibility=str(e.visibility),
        status=str(e.status),
        sequence=e.sequence,
        published_at=e.published_at,
        cancelled_at=e.cancelled_at,
        check_in_code=e.check_in_code if manager else None,
        viewer_registration=own,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


async def _waitlist_positions(ctx: Ctx, regs: list[Registration]) -> dict[uuid.UUID, int]:
    """1-based places in their events' waitlists, in one statement for the batch."""
    waiting = [r.id for r in regs if r.status == RegistrationStatus.WAITLISTED]
    if not waiting:
        return {}
    ahead = aliased(Registration)
    count_ahead = (
        select(sa.func.count())
        .select_from(ahead)
        .where(
            col(ahead.event_id) == Registration.event_id,
            col(ahead.status) == RegistrationStatus.WAITLISTED,
            sa.or_(
                col(ahead.queued_at) < Registration.queued_at,
                sa.and_(
                    col(ahead.queued_at) == Registration.queued_at,
                    col(ahead.id) < Registration.id,
                ),
            ),
        )
        .scalar_subquery()
    )
    stmt = select(Registration.id, count_ahead).where(col(Registration.id).in_(waiting))
    return {rid: n + 1 for rid, n in (await ctx.session.exec(stmt)).all()}


async def registration_views(ctx: Ctx, regs: list[Registration]) -> list[RegistrationView]:
    """Views of a batch of registrations the caller may see."""
    positions = await _waitlist_positions(ctx, regs)
    return [
        RegistrationView(
            id=r.id,
            event_id=r.event_id,
            person_id=r.person_id,
            status=str(r.status),
            queued_at=r.queued_at,
            waitlist_position=positions.get(r.id),
            promoted_at=r.promoted_at,
            cancelled_at=r.cancelled_at,
            checked_in_at=r.checked_in_at,
            client_id=r.client_id,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in regs
    ]
