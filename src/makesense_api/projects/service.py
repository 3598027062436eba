"""Projects: who sees them, reading them, and their managers' changes and owners.

Who sees what: published and archived projects are public; a draft is seen by its owners
(through a token carrying `projects:read`) and by reviewers of its home chapter
(PROJECTS_REVIEW); always within the token's reach and visible chapters.

Managers of a project are its owners acting as themselves through `projects:write`, and holders
of PROJECTS_MANAGE on its home chapter (organizers of that chapter or an ancestor).
"""

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, delete, select
from sqlmodel.sql.expression import SelectOfScalar

from makesense_api.authz.policy import PROJECTS_MANAGE, PROJECTS_REVIEW
from makesense_api.authz.principal import Scope
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter
from makesense_api.context import Ctx
from makesense_api.feeds.changes import Gone, chapter_changed
from makesense_api.impact import rollup
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import Conflict, FieldError, NotFound, ValidationFailed
from makesense_api.kit.i18n import Translations, localize, validate_translations
from makesense_api.kit.outbox import record
from makesense_api.kit.pagination import Cursor, Page, keyset_page
from makesense_api.kit.reads import Reader
from makesense_api.kit.schemas import null_errors, parse, raise_if
from makesense_api.kit.validation import language_error, normalize_language, slug_error
from makesense_api.people import service as people
from makesense_api.people.models import Person
from makesense_api.projects.models import Project, ProjectCause, ProjectOwner, ProjectStatus
from makesense_api.projects.schemas import (
    OwnerView,
    ProjectCreate,
    ProjectFilter,
    ProjectUpdate,
    ProjectView,
)

PUBLIC = (ProjectStatus.PUBLISHED.value, ProjectStatus.ARCHIVED.value)
TEXT_FIELDS = {"title", "description"}
NOT_NULL_ON_UPDATE = ("slug", "title", "default_language", "translations", "causes", "stage")


# -- visibility ---------------------------------------------------------------------------


def owned_by(person_id: uuid.UUID) -> SelectOfScalar[uuid.UUID]:
    """Ids of the projects a person owns (indexed by person)."""
    return select(ProjectOwner.project_id).where(ProjectOwner.person_id == person_id)


def visible_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """Which projects the caller may see: one filter for get, lists, batches and matching."""
    if ctx.principal.is_system:
        return sa.true()
    seen: list[sa.ColumnElement[bool]] = [col(Project.status).in_(PUBLIC)]
    person_id = ctx.principal.person_id
    if person_id is not None and ctx.principal.has_scope(Scope.PROJECTS_READ):
        seen.append(col(Project.id).in_(owned_by(person_id)))
    reviewed = ctx.authz.chapters_where(PROJECTS_REVIEW)
    if reviewed is not None:
        seen.append(col(Project.home_chapter_id).in_(reviewed))
    open_chapters = select(Chapter.id).where(chapters.visible_clause(ctx))
    return sa.and_(sa.or_(*seen), col(Project.home_chapter_id).in_(open_chapters))


async def _is_owner(ctx: Ctx, project_id: uuid.UUID, person_id: uuid.UUID) -> bool:
    stmt = select(sa.func.count()).where(
        ProjectOwner.project_id == project_id, ProjectOwner.person_id == person_id
    )
    return (await ctx.session.exec(stmt)).one() > 0


async def require_manager(ctx: Ctx, project: Project) -> None:
    """An owner acting as themself, or PROJECTS_MANAGE on the home chapter."""
    person_id = ctx.principal.person_id
    if (
        person_id is not None
        and ctx.principal.has_scope(Scope.PROJECTS_WRITE)
        and await _is_owner(ctx, project.id, person_id)
    ):
        return
    await ctx.authz.require(PROJECTS_MANAGE, project.home_chapter_id)


# -- projects: reads ----------------------------------------------------------------------


async def _views(ctx: Ctx, projects: list[Project]) -> list[ProjectView]:
    """Read models with causes and owners: one query per relation, whatever the page size."""
    ids = [p.id for p in projects]
    causes: dict[uuid.UUID, list[int]] = defaultdict(list)
    owners: dict[uuid.UUID, list[OwnerView]] = defaultdict(list)
    if ids:
        cause_rows = await ctx.session.exec(
            select(ProjectCause.project_id, ProjectCause.cause)
            .where(col(ProjectCause.project_id).in_(ids))
            .order_by(col(ProjectCause.cause))
        )
        for project_id, cause in cause_rows.all():
            causes[project_id].append(cause)
        owner_rows = await ctx.session.exec(
            select(ProjectOwner.project_id, Person.id, Person.display_name)
            .join(Person, col(Person.id) == ProjectOwner.person_id)
            .where(col(ProjectOwner.project_id).in_(ids), col(Person.erased_at).is_(None))
            .order_by(col(Person.display_name), col(Person.id))
        )
        for project_id, person_id, name in owner_rows.all():
            owners[project_id].append(OwnerView(person_id, name))
    return [_view(ctx, p, causes[p.id], owners[p.id]) for p in projects]


def _view(ctx: Ctx, p: Project, causes: list[int], owners: list[OwnerView]) -> ProjectView:
    language, text = localize(
        {"title": p.title, "description": p.description},
        p.default_language,
        p.translations,
        ctx.languages,
    )
    return ProjectView(
        id=p.id,
        slug=p.slug,
        title=text["title"] or p.title,
        description=text["description"],
        language=language,
        default_language=p.default_language,
        home_chapter_id=p.home_chapter_id,
        stage=p.stage,
        status=p.status,
        causes=causes,
        owners=owners,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


_reads = Reader(Project, "project", visible_clause, _views)
load_visible = _reads.load
get = _reads.get
get_by_slug = _reads.get_by_slug
get_many = _reads.get_many


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filter_clauses(flt: ProjectFilter) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if flt.subtree is not None:
        clauses.append(col(Project.home_chapter_id).in_(chapters.subtree_ids(flt.subtree)))
    if flt.cause is not None:
        with_cause = select(ProjectCause.project_id).where(ProjectCause.cause == flt.cause)
        clauses.append(col(Project.id).in_(with_cause))
    if flt.stage is not None:
        clauses.append(col(Project.stage) == flt.stage.value)
    if flt.status is not None:
        clauses.append(col(Project.status) == flt.status.value)
    if flt.owner_id is not None:
        clauses.append(col(Project.id).in_(owned_by(flt.owner_id)))
    if flt.text:
        pattern = _like(flt.text)
        clauses.append(
            sa.or_(
                sa.func.lower(Project.title).like(pattern, escape="\\"),
                col(Project.slug).like(pattern, escape="\\"),
                sa.func.lower(Project.description).like(pattern, escape="\\"),
            )
        )
    return clauses


async def list_projects(
    ctx: Ctx,
    flt: ProjectFilter | dict[str, Any] | None = None,
    after: Cursor = None,
    limit: int = 20,
) -> Page[ProjectView]:
    """Visible projects matching the filter, ordered by id (creation order)."""
    flt = parse(ProjectFilter, flt if flt is not None else {})
    stmt = select(Project).where(visible_clause(ctx), *_filter_clauses(flt))
    page = await keyset_page(ctx.session, stmt, [col(Project.id)], lambda p: [p.id], after, limit)
    return page.replace(await _views(ctx, page.items))


async def count_projects(ctx: Ctx, flt: ProjectFilter | dict[str, Any] | None = None) -> int:
    """How many visible projects match the filter."""
    flt = parse(ProjectFilter, flt if flt is not None else {})
    return await _reads.count(ctx, *_filter_clauses(flt))


async def changes_since(
    ctx: Ctx, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[ProjectView | Gone]:
    """Projects changed after `since`, oldest change first, for mirroring clients; public
    projects the caller can no longer see (their chapter closed) come back as `Gone`."""
    reach = ctx.authz.reach_chapters()
    hideable: sa.ColumnElement[bool] = col(Project.status).in_(PUBLIC)
    if reach is not None:
        hideable = sa.and_(hideable, col(Project.home_chapter_id).in_(reach))
    item = sa.alias(Project.__table__)  # type: ignore[attr-defined]
    seen = item.c.id.in_(select(Project.id).where(sa.or_(visible_clause(ctx), hideable)))
    homes = chapter_changed(since, item, item.c.id, item.c.home_chapter_id, seen)
    return await _reads.changes_since(ctx, hideable, since, after, limit, [homes])


# -- projects: writes ---------------------------------------------------------------------


def _check(data: ProjectCreate | ProjectUpdate) -> tuple[Translations | None, list[FieldError]]:
    """Field rules beyond the schema; returns the normalised translations and the errors."""
    errors: list[FieldError | None] = []
    if data.slug is not None:
        errors.append(slug_error("slug", data.slug))
    if data.default_language is not None:
        errors.append(language_error("default_language", data.default_language))
    translations = None
    if data.translations is not None:
        raw = {tag: t.model_dump(exclude_none=True) for tag, t in data.translations.items()}
        translations, bad = validate_translations("translations", raw, TEXT_FIELDS)
        errors.extend(bad)
    return translations, [e for e in errors if e is not None]


async def _slug_taken(ctx: Ctx, slug: str) -> bool:
    stmt = select(sa.func.count()).select_from(Project).where(Project.slug == slug)
    return (await ctx.session.exec(stmt)).one() > 0


async def _home_chapter(ctx: Ctx, chapter_id: uuid.UUID) -> Chapter:
    try:
        return await chapters.load_visible(ctx, chapter_id)
    except NotFound:
        raise ValidationFailed.on("home_chapter_id", "no such chapter") from None


async def _first_owner(ctx: Ctx, owner_id: uuid.UUID | None, home: Chapter) -> uuid.UUID:
    """The caller owns what they create; naming someone else needs PROJECTS_MANAGE."""
    me = ctx.principal.person_id
    if owner_id is None or owner_id == me:
        if me is None:
            raise ValidationFailed.on("owner_id", "name the person who owns the project")
        return me
    await ctx.authz.require(PROJECTS_MANAGE, home.id)
    await people.require_visible(ctx, owner_id, "owner_id")
    return owner_id


async def _set_causes(ctx: Ctx, project_id: uuid.UUID, causes: list[int]) -> None:
    await ctx.session.exec(delete(ProjectCause).where(col(ProjectCause.project_id) == project_id))
    for cause in sorted(set(causes)):
        ctx.session.add(ProjectCause(project_id=project_id, cause=cause))


async def create(ctx: Ctx, data: ProjectCreate | dict[str, Any]) -> ProjectView:
    """Create a draft project in a visible chapter, owned by its creator or the person named."""
    data = parse(ProjectCreate, data)
    ctx.authz.require_scope(Scope.PROJECTS_WRITE)
    async with use_case(ctx.session):
        home = await _home_chapter(ctx, data.home_chapter_id)
        owner_id = await _first_owner(ctx, data.owner_id, home)
        translations, errors = _check(data)
        if not errors and await _slug_taken(ctx, data.slug):
            errors.append(FieldError("slug", "already taken"))
        raise_if(list(errors))
        project = Project(
            slug=data.slug,
            title=data.title,
            description=data.description,
            default_language=normalize_language(data.default_language) or data.default_language,
            translations=translations or {},
            home_chapter_id=home.id,
            stage=data.stage.value,
        )
        ctx.session.add(project)
        await ctx.session.flush()
        ctx.session.add(ProjectOwner(project_id=project.id, person_id=owner_id))
        await _set_causes(ctx, project.id, data.causes)
    return (await _views(ctx, [project]))[0]


async def load_managed(ctx: Ctx, project_id: uuid.UUID) -> Project:
    """The project, once the caller is shown to hold the scope, see it and manage it."""
    ctx.authz.require_scope(Scope.PROJECTS_WRITE)
    project = await load_visible(ctx, project_id)
    await require_manager(ctx, project)
    return project


def _touch(ctx: Ctx, project: Project) -> None:
    """Mark the project changed when only its related rows (causes, owners) changed."""
    project.updated_at = utcnow()
    ctx.session.add(project)


async def update(
    ctx: Ctx, project_id: uuid.UUID, data: ProjectUpdate | dict[str, Any]
) -> ProjectView:
    """Change a project's text, causes or stage (its managers)."""
    data = parse(ProjectUpdate, data)
    async with use_case(ctx.session):
        project = await load_managed(ctx, project_id)
        translations, errors = _check(data)
        errors += null_errors(data, NOT_NULL_ON_UPDATE)
        if (
            not errors
            and data.slug is not None
            and data.slug != project.slug
            and await _slug_taken(ctx, data.slug)
        ):
            errors.append(FieldError("slug", "already taken"))
        raise_if(list(errors))
        if data.slug is not None:
            project.slug = data.slug
        if data.title is not None:
            project.title = data.title
        if "description" in data.model_fields_set:
            project.description = data.description
        if data.default_language is not None:
            project.default_language = (
                normalize_language(data.default_language) or data.default_language
            )
        if translations is not None:
            project.translations = translations
        if data.stage is not None:
            project.stage = data.stage.value
        if data.causes is not None:
            await _set_causes(ctx, project.id, data.causes)
            await rollup.refresh_project(ctx.session, project.id)
        _touch(ctx, project)
    return (await _views(ctx, [project]))[0]


async def _move(
    ctx: Ctx, project_id: uuid.UUID, source: ProjectStatus, target: ProjectStatus
) -> ProjectView:
    async with use_case(ctx.session):
        project = await load_managed(ctx, project_id)
        if project.status != source:
            raise Conflict(f"only a {source} project can become {target}")
        project.status = target.value
        ctx.session.add(project)
        if target == ProjectStatus.PUBLISHED:
            record(ctx, "project.published", project.home_chapter_id, project.id,
                   project_id=project.id)
    return (await _views(ctx, [project]))[0]


async def publish(ctx: Ctx, project_id: uuid.UUID) -> ProjectView:
    """Make a draft project public."""
    return await _move(ctx, project_id, ProjectStatus.DRAFT, ProjectStatus.PUBLISHED)


async def archive(ctx: Ctx, project_id: uuid.UUID) -> ProjectView:
    """Retire a published project; it stays public as a record."""
    return await _move(ctx, project_id, ProjectStatus.PUBLISHED, ProjectStatus.ARCHIVED)


async def add_owner(ctx: Ctx, project_id: uuid.UUID, person_id: uuid.UUID) -> ProjectView:
    """Make a person a co-owner of the project (idempotent)."""
    async with use_case(ctx.session):
        project = await load_managed(ctx, project_id)
        await people.require_visible(ctx, person_id, "person_id")
        if not await _is_owner(ctx, project.id, person_id):
            ctx.session.add(ProjectOwner(project_id=project.id, person_id=person_id))
            _touch(ctx, project)
    return (await _views(ctx, [project]))[0]


async def remove_owner(ctx: Ctx, project_id: uuid.UUID, person_id: uuid.UUID) -> ProjectView:
    """Remove a co-owner; a project keeps at least one owner."""
    async with use_case(ctx.session):
        project = await load_managed(ctx, project_id)
        stmt = select(ProjectOwner).where(ProjectOwner.project_id == project.id)
        owners = list((await ctx.session.exec(stmt)).all())
        leaving = next((o for o in owners if o.person_id == person_id), None)
        if leaving is None:
            raise NotFound("project owner", person_id)
        if len(owners) == 1:
            raise Conflict("a project keeps at least one owner")
        await ctx.session.delete(leaving)
        _touch(ctx, project)
    return (await _views(ctx, [project]))[0]
