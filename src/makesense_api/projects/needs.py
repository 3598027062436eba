"""The help a project needs: a skill asked for, open until its managers mark it filled.

A need is seen by whoever sees its project, and managed by the project's managers.
"""

import uuid
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from makesense_api.authz.principal import Scope
from makesense_api.context import Ctx
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import Conflict, NotFound, ValidationFailed
from makesense_api.kit.outbox import record
from makesense_api.kit.pagination import Cursor, Page, Window, keyset_page, keyset_pages_by
from makesense_api.kit.schemas import null_errors, parse, raise_if
from makesense_api.people.service import normalize_skill
from makesense_api.projects.models import Need, NeedStatus, Project, ProjectStatus
from makesense_api.projects.schemas import NeedCreate, NeedUpdate, NeedView
from makesense_api.projects.service import (
    load_managed,
    load_visible,
    require_manager,
    visible_clause,
)


def view(need: Need) -> NeedView:
    """The read model of a need (needs carry no translations)."""
    return NeedView(
        id=need.id,
        project_id=need.project_id,
        skill=need.skill,
        title=need.title,
        description=need.description,
        status=need.status,
        created_at=need.created_at,
        updated_at=need.updated_at,
    )


async def load(ctx: Ctx, need_id: uuid.UUID) -> tuple[Need, Project]:
    """A need and its project, if the caller may see the project; else NotFound."""
    stmt = (
        select(Need, Project)
        .join(Project, col(Project.id) == Need.project_id)
        .where(Need.id == need_id, visible_clause(ctx))
    )
    row = (await ctx.session.exec(stmt)).first()
    if row is None:
        raise NotFound("need", need_id)
    return row[0], row[1]


async def get(ctx: Ctx, need_id: uuid.UUID) -> NeedView:
    """One need of a visible project."""
    return view((await load(ctx, need_id))[0])


async def get_many(ctx: Ctx, need_ids: list[uuid.UUID]) -> dict[uuid.UUID, NeedView]:
    """The needs among `need_ids` whose project the caller sees, in one query (for loaders)."""
    if not need_ids:
        return {}
    stmt = select(Need).where(col(Need.id).in_(need_ids), col(Need.project_id).in_(_visible(ctx)))
    return {n.id: view(n) for n in (await ctx.session.exec(stmt)).all()}


def _visible(ctx: Ctx) -> SelectOfScalar[uuid.UUID]:
    return select(Project.id).where(visible_clause(ctx))


def _status_clause(status: str | None) -> list[ColumnElement[bool]]:
    if status is None:
        return []
    if status not in set(NeedStatus):
        raise ValidationFailed.on("status", "must be open or filled")
    return [col(Need.status) == status]


async def pages_for_projects(
    ctx: Ctx, project_ids: list[uuid.UUID], window: Window, status: str | None = None
) -> dict[uuid.UUID, Page[NeedView]]:
    """The first page of needs of each visible project, in creation order, in one query;
    projects the caller cannot see get an empty page."""
    stmt = select(Need).where(col(Need.project_id).in_(_visible(ctx)), *_status_clause(status))
    pages = await keyset_pages_by(
        ctx.session,
        Need,
        stmt,
        col(Need.project_id),
        project_ids,
        [col(Need.id)],
        lambda n: [n.id],
        window,
    )
    return {pid: page.replace([view(n) for n in page.items]) for pid, page in pages.items()}


async def list_needs(
    ctx: Ctx,
    project_id: uuid.UUID,
    status: str | None = None,
    after: Cursor = None,
    limit: int = 20,
) -> Page[NeedView]:
    """A visible project's needs, optionally only open or filled ones, in creation order."""
    await load_visible(ctx, project_id)
    stmt = select(Need).where(Need.project_id == project_id)
    if status is not None:
        if status not in set(NeedStatus):
            raise ValidationFailed.on("status", "must be open or filled")
        stmt = stmt.where(Need.status == status)
    page = await keyset_page(ctx.session, stmt, [col(Need.id)], lambda n: [n.id], after, limit)
    return page.replace([view(n) for n in page.items])


def _skill(skill: str) -> str:
    normal = normalize_skill(skill)
    if not 1 <= len(normal) <= 64:
        raise ValidationFailed.on("skill", "must be 1-64 characters")
    return normal


async def _managed(ctx: Ctx, need_id: uuid.UUID) -> tuple[Need, Project]:
    ctx.authz.require_scope(Scope.PROJECTS_WRITE)
    need, project = await load(ctx, need_id)
    await require_manager(ctx, project)
    return need, project


async def create(ctx: Ctx, project_id: uuid.UUID, data: NeedCreate | dict[str, Any]) -> NeedView:
    """Ask for help with a skill on a project (its managers)."""
    data = parse(NeedCreate, data)
    async with use_case(ctx.session):
        project = await load_managed(ctx, project_id)
        if project.status == ProjectStatus.ARCHIVED:
            raise Conflict("an archived project takes no new needs")
        need = Need(
            project_id=project.id,
            skill=_skill(data.skill),
            title=data.title,
            description=data.description,
        )
        ctx.session.add(need)
        _announce(ctx, "need.opened", need, project)
    return view(need)


async def update(ctx: Ctx, need_id: uuid.UUID, data: NeedUpdate | dict[str, Any]) -> NeedView:
    """Change a need's skill or text (the project's managers)."""
    data = parse(NeedUpdate, data)
    async with use_case(ctx.session):
        need, _ = await _managed(ctx, need_id)
        raise_if(list(null_errors(data, ("skill", "title"))))
        if data.skill is not None:
            need.skill = _skill(data.skill)
        if data.title is not None:
            need.title = data.title
        if "description" in data.model_fields_set:
            need.description = data.description
        ctx.session.add(need)
    return view(need)


def _announce(ctx: Ctx, type_: str, need: Need, project: Project) -> None:
    record(ctx, type_, project.home_chapter_id, need.id, need_id=need.id, project_id=project.id)


async def _move(ctx: Ctx, need_id: uuid.UUID, source: NeedStatus, target: NeedStatus) -> NeedView:
    async with use_case(ctx.session):
        need, project = await _managed(ctx, need_id)
        if need.status != source:
            raise Conflict(f"only an {source} need can become {target}")
        need.status = target.value
        ctx.session.add(need)
        kind = "need.filled" if target == NeedStatus.FILLED else "need.opened"
        _announce(ctx, kind, need, project)
    return view(need)


async def fill(ctx: Ctx, need_id: uuid.UUID) -> NeedView:
    """Mark an open need as filled."""
    return await _move(ctx, need_id, NeedStatus.OPEN, NeedStatus.FILLED)


async def reopen(ctx: Ctx, need_id: uuid.UUID) -> NeedView:
    """Open a filled need again."""
    return await _move(ctx, need_id, NeedStatus.FILLED, NeedStatus.OPEN)
