"""Contributions: volunteers offering their help on a project's needs, and the answers.

- A person offers help as themself through `projects:write`, on an open need of a published
  project; offering again is a no-op.
- offered → accepted | declined, accepted → done (the project's managers); the contributor may
  withdraw an offer not yet answered.
- `answered_at` is set once, when the contribution becomes accepted (or done, were it ever
  recorded done without being accepted first): impact dates the contribution by it, and no
  later change (done, hours, message, erasure of the contributor) moves it.

A contribution is seen by its contributor and by the project's managers.
"""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from makesense_api.authz.policy import PROJECTS_MANAGE
from makesense_api.authz.principal import Scope
from makesense_api.context import Ctx
from makesense_api.impact import rollup
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from makesense_api.kit.models import Tombstone
from makesense_api.kit.outbox import record
from makesense_api.kit.pagination import Cursor, Page, Window, keyset_page, keyset_pages_by
from makesense_api.kit.schemas import parse
from makesense_api.people.models import Person
from makesense_api.projects import needs
from makesense_api.projects import service as projects
from makesense_api.projects.models import (
    Contribution,
    ContributionStatus,
    Need,
    NeedStatus,
    Project,
    ProjectStatus,
)
from makesense_api.projects.schemas import (
    ContributionDone,
    ContributionOffer,
    ContributionView,
)

# Which status a contribution must have to move to each target status.
MOVES = {
    ContributionStatus.ACCEPTED: ContributionStatus.OFFERED,
    ContributionStatus.DECLINED: ContributionStatus.OFFERED,
    ContributionStatus.DONE: ContributionStatus.ACCEPTED,
}


def visible_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """Contributions the caller may see: their own, and those on projects they manage."""
    if ctx.principal.is_system:
        return sa.true()
    seen: list[sa.ColumnElement[bool]] = []
    person_id = ctx.principal.person_id
    if person_id is not None and ctx.principal.has_scope(Scope.PROJECTS_READ):
        seen.append(col(Contribution.person_id) == person_id)
        seen.append(col(Project.id).in_(projects.owned_by(person_id)))
    managed = ctx.authz.chapters_where(PROJECTS_MANAGE)
    if managed is not None:
        seen.append(col(Project.home_chapter_id).in_(managed))
    if not seen:
        return sa.false()
    return sa.and_(sa.or_(*seen), projects.visible_clause(ctx))


def _contributions(ctx: Ctx) -> Select[Contribution, Project, str]:
    """Visible contributions with their project and contributor's name, as one query."""
    return (
        select(Contribution, Project, Person.display_name)
        .join(Need, col(Need.id) == Contribution.need_id)
        .join(Project, col(Project.id) == Need.project_id)
        .join(Person, col(Person.id) == Contribution.person_id)
        .where(visible_clause(ctx))
    )


def _view(c: Contribution, project: Project, name: str) -> ContributionView:
    return ContributionView(
        id=c.id,
        need_id=c.need_id,
        project_id=project.id,
        person_id=c.person_id,
        display_name=name,
        status=c.status,
        message=c.message,
        hours=c.hours,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


async def _load(ctx: Ctx, contribution_id: uuid.UUID) -> tuple[Contribution, Project, str]:
    stmt = _contributions(ctx).where(Contribution.id == contribution_id)
    row = (await ctx.session.exec(stmt)).first()
    if row is None:
        raise NotFound("contribution", contribution_id)
    return row[0], row[1], row[2]


async def get(ctx: Ctx, contribution_id: uuid.UUID) -> ContributionView:
    """One contribution, for its contributor or the project's managers."""
    return _view(*await _load(ctx, contribution_id))


async def get_many(
    ctx: Ctx, contribution_ids: list[uuid.UUID]
) -> dict[uuid.UUID, ContributionView]:
    """The visible contributions among `contribution_ids`, in one query (for loaders)."""
    if not contribution_ids:
        return {}
    stmt = _contributions(ctx).where(col(Contribution.id).in_(contribution_ids))
    return {r[0].id: _view(*r) for r in (await ctx.session.exec(stmt)).all()}


async def pages_for_needs(
    ctx: Ctx, need_ids: list[uuid.UUID], window: Window
) -> dict[uuid.UUID, Page[ContributionView]]:
    """The first page of visible contributions on each need, in offer order, in two queries
    (the pages, then their projects and contributors' names)."""
    stmt = (
        select(Contribution)
        .join(Need, col(Need.id) == Contribution.need_id)
        .join(Project, col(Project.id) == Need.project_id)
        .where(visible_clause(ctx))
    )
    pages = await keyset_pages_by(
        ctx.session,
        Contribution,
        stmt,
        col(Contribution.need_id),
        need_ids,
        [col(Contribution.id)],
        lambda c: [c.id],
        window,
    )
    rows = [c for page in pages.values() for c in page.items]
    context: dict[uuid.UUID, tuple[Project, str]] = {}
    if rows:
        details = (
            select(Contribution.id, Project, Person.display_name)
            .join(Need, col(Need.id) == Contribution.need_id)
            .join(Project, col(Project.id) == Need.project_id)
            .join(Person, col(Person.id) == Contribution.person_id)
            .where(col(Contribution.id).in_([c.id for c in rows]))
        )
        context = {cid: (p, name) for cid, p, name in (await ctx.session.exec(details)).all()}
    return {
        nid: page.replace([_view(c, *context[c.id]) for c in page.items])
        for nid, page in pages.items()
    }


async def list_contributions(
    ctx: Ctx,
    need_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    status: str | None = None,
    after: Cursor = None,
    limit: int = 20,
) -> Page[ContributionView]:
    """Contributions the caller may see, by need, project, contributor or status."""
    stmt = _contributions(ctx)
    if need_id is not None:
        stmt = stmt.where(Contribution.need_id == need_id)
    if project_id is not None:
        stmt = stmt.where(Project.id == project_id)
    if person_id is not None:
        stmt = stmt.where(Contribution.person_id == person_id)
    if status is not None:
        if status not in set(ContributionStatus):
            raise ValidationFailed.on("status", "must be offered, accepted, declined or done")
        stmt = stmt.where(Contribution.status == status)
    page = await keyset_page(
        ctx.session, stmt, [col(Contribution.id)], lambda r: [r[0].id], after, limit
    )
    return page.replace([_view(*r) for r in page.items])


async def _find_offer(ctx: Ctx, need_id: uuid.UUID, person_id: uuid.UUID) -> Contribution | None:
    stmt = select(Contribution).where(
        Contribution.need_id == need_id, Contribution.person_id == person_id
    )
    return (await ctx.session.exec(stmt)).first()


async def _insert_offer(
    ctx: Ctx, need_id: uuid.UUID, person_id: uuid.UUID, message: str | None
) -> uuid.UUID:
    """Insert an offer; when a concurrent request inserted the same one first, return it."""
    contribution = Contribution(need_id=need_id, person_id=person_id, message=message)
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(contribution)
    except IntegrityError:
        winner = await _find_offer(ctx, need_id, person_id)
        if winner is None:
            raise
        return winner.id
    return contribution.id


async def offer(
    ctx: Ctx, need_id: uuid.UUID, data: ContributionOffer | dict[str, Any] | None = None
) -> ContributionView:
    """Offer one's help on an open need of a published project; offering again is a no-op."""
    data = parse(ContributionOffer, data if data is not None else {})
    ctx.authz.require_scope(Scope.PROJECTS_WRITE)
    person_id = ctx.principal.person_id
    if person_id is None:
        raise Forbidden("only a person offers help, as themself")
    async with use_case(ctx.session):
        need, project = await needs.load(ctx, need_id)
        existing = await _find_offer(ctx, need.id, person_id)
        if existing is not None:
            contribution_id = existing.id
        else:
            if project.status != ProjectStatus.PUBLISHED:
                raise Conflict("help is offered on published projects only")
            if need.status != NeedStatus.OPEN:
                raise Conflict("this need is no longer open")
            contribution_id = await _insert_offer(ctx, need.id, person_id, data.message)
            _announce(ctx, "contribution.offered", contribution_id, need.id, project)
    return await get(ctx, contribution_id)


def _announce(
    ctx: Ctx, type_: str, contribution_id: uuid.UUID, need_id: uuid.UUID, project: Project
) -> None:
    record(
        ctx, type_, project.home_chapter_id, contribution_id,
        contribution_id=contribution_id, need_id=need_id, project_id=project.id,
    )


async def _answer(
    ctx: Ctx,
    contribution_id: uuid.UUID,
    target: ContributionStatus,
    hours: float | None = None,
) -> ContributionView:
    """Move a contribution along offered → accepted | declined, accepted → done."""
    ctx.authz.require_scope(Scope.PROJECTS_WRITE)
    async with use_case(ctx.session):
        contribution, project, name = await _load(ctx, contribution_id)
        await projects.require_manager(ctx, project)
        if contribution.status != MOVES[target]:
            raise Conflict(f"a contribution {contribution.status} cannot become {target}")
        contribution.status = target.value
        if target in (ContributionStatus.ACCEPTED, ContributionStatus.DONE):
            contribution.answered_at = contribution.answered_at or utcnow()
        if hours is not None:
            contribution.hours = hours
        ctx.session.add(contribution)
        await rollup.refresh_people(ctx.session, [contribution.person_id])
        if target == ContributionStatus.ACCEPTED:
            _announce(ctx, "contribution.accepted", contribution.id, contribution.need_id, project)
    return _view(contribution, project, name)


async def accept(ctx: Ctx, contribution_id: uuid.UUID) -> ContributionView:
    """Accept an offer (the project's managers); the need stays open until they fill it."""
    return await _answer(ctx, contribution_id, ContributionStatus.ACCEPTED)


async def decline(ctx: Ctx, contribution_id: uuid.UUID) -> ContributionView:
    """Decline an offer (the project's managers)."""
    return await _answer(ctx, contribution_id, ContributionStatus.DECLINED)


async def complete(
    ctx: Ctx, contribution_id: uuid.UUID, data: ContributionDone | dict[str, Any]
) -> ContributionView:
    """Record an accepted contribution as done, with the hours given."""
    data = parse(ContributionDone, data)
    return await _answer(ctx, contribution_id, ContributionStatus.DONE, data.hours)


async def withdraw(ctx: Ctx, contribution_id: uuid.UUID) -> None:
    """The contributor takes back an offer that has not been answered yet."""
    ctx.authz.require_scope(Scope.PROJECTS_WRITE)
    async with use_case(ctx.session):
        contribution, project, _ = await _load(ctx, contribution_id)
        if contribution.person_id != ctx.principal.person_id:
            raise Forbidden("only the contributor may withdraw an offer")
        if contribution.status != ContributionStatus.OFFERED:
            raise Conflict("only an offer not yet answered can be withdrawn")
        await ctx.session.delete(contribution)
        ctx.session.add(
            Tombstone(
                entity="contribution",
                entity_id=contribution.id,
                chapter_id=project.home_chapter_id,
            )
        )
