"""Read models for events and registrations, built a page at a time.

Every helper takes a whole batch and runs a fixed number of statements for it (causes, co-hosts,
the caller's rights on the host chapters, the caller's own registrations), so a page of 50
events costs what a page of 5 does.
"""

import uuid
from collections import defaultdict

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
    hosts = {e.chapter_id for e in events}
    causes = await _causes(ctx, ids)
    cohosts = await _cohosts(ctx, ids)
    organizers = await ctx.authz.chapters_allowing(EVENTS_REVIEW, hosts)
    managers = await ctx.authz.chapters_allowing(EVENTS_MANAGE, hosts)
    own = await _own_statuses(ctx, ids)
    return [
        _view(
            ctx,
            e,
            causes[e.id],
            cohosts[e.id],
            own.get(e.id),
            e.chapter_id in organizers,
            e.chapter_id in managers,
        )
        for e in events
    ]


def _view(
    ctx: Ctx,
    e: Event,
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
