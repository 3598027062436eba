"""Change feeds of registrations: an event's attendee list, and a person's own registrations.

The same shape as every other change feed (`feeds.changes`): registrations changed after an
instant, oldest change first, as read models, or as `Gone` when they were deleted (tombstones
of entity `registration`, whose `chapter_id` is the event's host chapter) or became invisible.
A cancelled registration is a change, not a deletion: it comes back with status `cancelled`.
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.policy import REGISTRATIONS_REVIEW
from makesense_api.authz.principal import Scope
from makesense_api.chapters.models import Chapter
from makesense_api.context import Ctx
from makesense_api.events import registrations
from makesense_api.events.access import load_visible, visible_registrations_clause
from makesense_api.events.models import Registration
from makesense_api.events.schemas import RegistrationView
from makesense_api.feeds.changes import Gone, Source, changes_since
from makesense_api.kit.errors import NotFound
from makesense_api.kit.pagination import Cursor, Page

ENTITY = "registration"


async def event_changes(
    ctx: Ctx, event_id: uuid.UUID, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[RegistrationView | Gone]:
    """An event's registrations changed after `since` (organizers of the host chapter, as for
    the attendee list); deletions in the host chapter come back as `Gone`."""
    event = await load_visible(ctx, event_id)
    ctx.authz.require_scope(Scope.REGISTRATIONS_READ)
    if not await ctx.authz.can(REGISTRATIONS_REVIEW, event.chapter_id):
        raise NotFound("registrations of event", event_id)
    of_event = col(Registration.event_id) == event.id
    source = Source(
        table=Registration,
        entity=ENTITY,
        visible=sa.and_(of_event, visible_registrations_clause(ctx)),
        hideable=of_event,
        reach=select(Chapter.id).where(Chapter.id == event.chapter_id),
        views=lambda ids: registrations.get_many(ctx, ids),
    )
    return await changes_since(ctx, source, since, after, limit)


async def my_changes(
    ctx: Ctx, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[RegistrationView | Gone]:
    """The caller's own registrations changed after `since` (`profile` or
    `registrations:read`). A person's registrations are deleted only with the person, so
    no tombstone concerns the feed."""
    me = registrations.own_registrations_of(ctx)
    mine = col(Registration.person_id) == me
    source = Source(
        table=Registration,
        entity=ENTITY,
        visible=sa.and_(mine, visible_registrations_clause(ctx)),
        hideable=mine,
        reach=select(Chapter.id).where(sa.false()),
        views=lambda ids: registrations.get_many(ctx, ids),
    )
    return await changes_since(ctx, source, since, after, limit)
