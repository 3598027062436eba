"""Who sees which events and registrations: one filter per entity, for get, list and batches.

Rows are loaded fresh (`populate_existing`), and `forget` marks what a conditional UPDATE
changed: seat counters and statuses change through statements that bypass the session's
identity map.

Events:
- published (or cancelled) public events: everyone;
- published (or cancelled) members-only events: holders of `CHAPTER_MEMBER_READ` on the host
  chapter (members of it or of one of its ancestors, through a `chapters:read` token);
- drafts, and everything else of the chapter: holders of `EVENTS_REVIEW` on the host chapter;
- always within the token's chapter reach (judged on the host chapter).

Registrations: the person's own (a `profile` or `registrations:read` token acting as them), and
every registration of events whose host chapter grants `REGISTRATIONS_REVIEW`, within reach.

Whatever falls outside is reported as not found.
"""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.util import identity_key
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.policy import CHAPTER_MEMBER_READ, EVENTS_REVIEW, REGISTRATIONS_REVIEW
from makesense_api.authz.principal import Scope
from makesense_api.context import Ctx
from makesense_api.events.models import (
    Event,
    EventStatus,
    EventVisibility,
    Registration,
)
from makesense_api.kit.errors import NotFound


def forget(session: AsyncSession, model: type[Any], key: uuid.UUID, *attrs: str) -> None:
    """Mark columns that a conditional UPDATE changed behind the session's back as stale in its
    cached copy of the row, if any, so the next query returning the row reloads them."""
    cached = session.identity_map.get(identity_key(model, key))
    if cached is not None:
        session.expire(cached, list(attrs))


def visible_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """Which events the caller may see."""
    if ctx.principal.is_system:
        return sa.true()
    announced = col(Event.status) != EventStatus.DRAFT
    clauses = [sa.and_(announced, col(Event.visibility) == EventVisibility.PUBLIC)]
    members = ctx.authz.chapters_where(CHAPTER_MEMBER_READ)
    if members is not None:
        clauses.append(sa.and_(announced, col(Event.chapter_id).in_(members)))
    reviewers = ctx.authz.chapters_where(EVENTS_REVIEW)
    if reviewers is not None:
        clauses.append(col(Event.chapter_id).in_(reviewers))
    clause = sa.or_(*clauses)
    reach = ctx.authz.reach_chapters()
    if reach is not None:
        clause = sa.and_(clause, col(Event.chapter_id).in_(reach))
    return clause


async def load_visible(ctx: Ctx, event_id: uuid.UUID) -> Event:
    """The event row if the caller may see it, else NotFound."""
    stmt = select(Event).where(Event.id == event_id, visible_clause(ctx))
    event = (await ctx.session.exec(stmt.execution_options(populate_existing=True))).first()
    if event is None:
        raise NotFound("event", event_id)
    return event


def acts_for_self(ctx: Ctx) -> uuid.UUID | None:
    """The person the token acts for when it may read their registrations, else None."""
    person_id = ctx.principal.person_id
    if person_id is None:
        return None
    if ctx.principal.has_scope(Scope.PROFILE) or ctx.principal.has_scope(Scope.REGISTRATIONS_READ):
        return person_id
    return None


def visible_registrations_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """Which registrations the caller may see."""
    if ctx.principal.is_system:
        return sa.true()
    clauses: list[sa.ColumnElement[bool]] = []
    me = acts_for_self(ctx)
    if me is not None:
        clauses.append(col(Registration.person_id) == me)
    reviewers = ctx.authz.chapters_where(REGISTRATIONS_REVIEW)
    if reviewers is not None:
        reviewed = select(Event.id).where(col(Event.chapter_id).in_(reviewers))
        clauses.append(col(Registration.event_id).in_(reviewed))
    if not clauses:
        return sa.false()
    clause = sa.or_(*clauses)
    reach = ctx.authz.reach_chapters()
    if reach is not None:
        in_reach = select(Event.id).where(col(Event.chapter_id).in_(reach))
        clause = sa.and_(clause, col(Registration.event_id).in_(in_reach))
    return clause


async def load_registration(ctx: Ctx, registration_id: uuid.UUID) -> Registration:
    """The registration row if the caller may see it, else NotFound."""
    stmt = select(Registration).where(
        Registration.id == registration_id, visible_registrations_clause(ctx)
    )
    registration = (await ctx.session.exec(stmt.execution_options(populate_existing=True))).first()
    if registration is None:
        raise NotFound("registration", registration_id)
    return registration
