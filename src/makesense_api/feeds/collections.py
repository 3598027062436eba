"""The change feeds of nested and personal collections: needs, contributions, enrolments,
people and chapter members, each stated with its service's own visibility rule.

What makes an item appear or disappear without its own row changing is sent as a signal:

    people        a membership added or changed in a chapter the caller organizes (the person
                  appears), a person leaving such a chapter (`PERSON_LEFT` tombstones)
    all of them   the calling person's own role changing in a chapter: items there may appear
                  (a new role) or be hidden (a role lowered or ended)

A lowered or ended role may mark items the caller never saw as gone, and deletions are
reported within the caller's reach (a withdrawn offer cannot be traced back to its project): a
mark carries an id and an instant, never content.
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.policy import MEMBERS_READ
from makesense_api.authz.principal import Scope
from makesense_api.chapters import service as chapters
from makesense_api.context import Ctx
from makesense_api.feeds.changes import PERSON_LEFT, Gone, Source, changes_since, role_signals
from makesense_api.kit.clock import as_utc
from makesense_api.kit.models import Tombstone
from makesense_api.kit.pagination import Cursor, Page
from makesense_api.people import service as people
from makesense_api.people.models import Membership, Person, Role
from makesense_api.people.schemas import MembershipView, PersonView
from makesense_api.programs import enrolments
from makesense_api.programs import service as programs
from makesense_api.programs.models import Enrolment, Program
from makesense_api.programs.schemas import EnrolmentView
from makesense_api.projects import contributions, needs
from makesense_api.projects import service as projects
from makesense_api.projects.models import Contribution, Need, Project
from makesense_api.projects.schemas import ContributionView, NeedView

# -- needs ---------------------------------------------------------------------------------


async def need_changes(
    ctx: Ctx, project_id: uuid.UUID, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[NeedView | Gone]:
    """A visible project's needs changed after `since` (the project hidden: not found)."""
    project = await projects.load_visible(ctx, project_id)
    source = Source(
        Need,
        "need",
        col(Need.project_id) == project.id,
        sa.false(),
        ctx.authz.reach_chapters(),
        lambda ids: needs.get_many(ctx, ids),
        tombstones=col(Tombstone.chapter_id) == project.home_chapter_id,
    )
    return await changes_since(ctx, source, since, after, limit)


# -- contributions -------------------------------------------------------------------------


def _contribution_visible(ctx: Ctx) -> sa.ColumnElement[bool]:
    """The contributions rule, evaluated for the outer contribution row."""
    return sa.exists(
        select(Need.id)
        .join(Project, col(Project.id) == Need.project_id)
        .where(col(Need.id) == Contribution.need_id, contributions.visible_clause(ctx))
        .correlate(Contribution)
    )


async def contribution_changes(
    ctx: Ctx, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[ContributionView | Gone]:
    """Contributions the caller may see (theirs, those on projects they manage) changed after
    `since`; withdrawn offers and those on projects they no longer manage as `Gone`."""
    ctx.authz.require_scope(Scope.PROJECTS_READ)
    visible = _contribution_visible(ctx)
    item = sa.alias(Contribution.__table__)  # type: ignore[attr-defined]
    need = sa.alias(Need.__table__)  # type: ignore[attr-defined]
    project = sa.alias(Project.__table__)  # type: ignore[attr-defined]
    items = item.join(need, need.c.id == item.c.need_id).join(
        project, project.c.id == need.c.project_id
    )
    seen = item.c.id.in_(select(Contribution.id).where(visible))
    source = Source(
        Contribution,
        "contribution",
        visible,
        sa.false(),
        ctx.authz.reach_chapters(),
        lambda ids: contributions.get_many(ctx, ids),
        signals=role_signals(
            ctx, since, items, item.c.id, project.c.home_chapter_id, seen, Role.ORGANIZER
        ),
    )
    return await changes_since(ctx, source, since, after, limit)


# -- enrolments ----------------------------------------------------------------------------


async def enrolment_changes(
    ctx: Ctx, program_id: uuid.UUID, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[EnrolmentView | Gone]:
    """Enrolments of a visible program that the caller may see, changed after `since`."""
    ctx.authz.require_scope(Scope.PROGRAMS_READ)
    program = await programs.load_visible(ctx, program_id)
    visible = sa.and_(
        col(Enrolment.program_id) == program.id,
        sa.exists(
            select(Program.id)
            .where(col(Program.id) == Enrolment.program_id, enrolments.visible_clause(ctx))
            .correlate(Enrolment)
        ),
    )
    item = sa.alias(Enrolment.__table__)  # type: ignore[attr-defined]
    seen = sa.and_(
        item.c.program_id == program.id, item.c.id.in_(select(Enrolment.id).where(visible))
    )
    source = Source(
        Enrolment,
        "enrolment",
        visible,
        sa.false(),
        ctx.authz.reach_chapters(),
        lambda ids: enrolments.get_many(ctx, ids),
        signals=role_signals(
            ctx, since, item, item.c.id, item.c.chapter_id, seen, Role.ORGANIZER
        ),
    )
    return await changes_since(ctx, source, since, after, limit)


# -- people --------------------------------------------------------------------------------


async def people_changes(
    ctx: Ctx, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[PersonView | Gone]:
    """People the caller may see changed after `since`, members who joined a chapter they
    organize included; people who left their chapters (or were erased) as `Gone`."""
    ctx.authz.require_scope(Scope.PEOPLE_READ)
    since = as_utc(since)
    organized = ctx.authz.chapters_where(MEMBERS_READ)
    visible = people.visible_people_clause(ctx)
    hideable: list[sa.ColumnElement[bool]] = []
    tombstones: list[sa.ColumnElement[bool]] = []
    member = sa.alias(Membership.__table__)  # type: ignore[attr-defined]
    me = ctx.principal.person_id
    if me is not None:
        hideable.append(col(Person.id) == me)
        tombstones.append(col(Tombstone.entity_id) == me)
    seen = member.c.person_id.in_(select(Person.id).where(visible))
    signals = role_signals(
        ctx, since, member, member.c.person_id, member.c.chapter_id, seen, Role.ORGANIZER
    )
    if organized is not None:
        members = select(Membership.person_id).where(col(Membership.chapter_id).in_(organized))
        hideable.append(col(Person.id).in_(members))
        tombstones.append(col(Tombstone.chapter_id).in_(organized))
        signals.append(
            select(member.c.person_id.label("id"), member.c.updated_at.label("at")).where(
                member.c.updated_at > since, member.c.chapter_id.in_(organized)
            )
        )
    source = Source(
        Person,
        PERSON_LEFT,
        visible,
        sa.or_(*hideable) if hideable else sa.false(),
        ctx.authz.reach_chapters(),
        lambda ids: people.get_many(ctx, ids),
        signals=signals,
        tombstones=sa.or_(*tombstones) if tombstones else sa.false(),
    )
    return await changes_since(ctx, source, since, after, limit)


# -- chapter members -----------------------------------------------------------------------


async def member_changes(
    ctx: Ctx, chapter_id: uuid.UUID, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[MembershipView | Gone]:
    """A chapter's memberships changed after `since` (for those who may list its members);
    ended memberships as `Gone`."""
    await chapters.load_visible(ctx, chapter_id)
    await ctx.authz.require(MEMBERS_READ, chapter_id)

    async def views(ids: list[uuid.UUID]) -> dict[uuid.UUID, MembershipView]:
        stmt = select(Membership).where(
            col(Membership.id).in_(ids), Membership.chapter_id == chapter_id
        )
        rows = list((await ctx.session.exec(stmt)).all())
        return {v.id: v for v in people.membership_views(rows)}

    source = Source(
        Membership,
        "membership",
        col(Membership.chapter_id) == chapter_id,
        sa.false(),
        ctx.authz.reach_chapters(),
        views,
        tombstones=col(Tombstone.chapter_id) == chapter_id,
    )
    return await changes_since(ctx, source, since, after, limit)
