"""Programs: mobilisation campaigns run by one chapter with others taking part.

Who sees what:
- published and archived programs are public; a draft is seen by holders of PROGRAMS_MANAGE in
  a chapter taking part (the organizing chapter always takes part); always provided one of the
  chapters taking part is visible to the caller (open, inside the token's reach);
- private channel links are shown to people enrolled (or done) acting as themselves, and to
  holders of PROGRAMS_MANAGE in a chapter taking part;
- linked events are the events whose `program_id` is the program, each as visible as it is on
  its own.

Who changes what: PROGRAMS_MANAGE in the organizing chapter creates, edits, publishes and
archives; adding a chapter also needs PROGRAMS_MANAGE there (an organizer of an ancestor, such as
a network-level organizer, holds it). Chapters join and leave through `programs.participants`;
linked events are listed by `programs.linked_events`; enrolments live in `programs.enrolments`.
"""

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from makesense_api.authz.policy import PROGRAMS_MANAGE
from makesense_api.authz.principal import Scope
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter
from makesense_api.context import Ctx
from makesense_api.feeds.changes import Gone, chapter_changed
from makesense_api.kit.clock import as_utc, utcnow
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from makesense_api.kit.i18n import Translations, localize, validate_translations
from makesense_api.kit.pagination import Cursor, Page, keyset_page
from makesense_api.kit.reads import Reader
from makesense_api.kit.schemas import parse, raise_if
from makesense_api.kit.validation import language_error, normalize_language, slug_error
from makesense_api.programs.models import Enrolment, Program, ProgramChapter, ProgramStatus
from makesense_api.programs.schemas import (
    ProgramCreate,
    ProgramFilter,
    ProgramUpdate,
    ProgramView,
)

PUBLIC = (ProgramStatus.PUBLISHED.value, ProgramStatus.ARCHIVED.value)
TEXT_FIELDS = {"title", "description"}
LINK_HOLDERS = ("enrolled", "completed")

# -- visibility ---------------------------------------------------------------------------


def involving(chapter_ids: SelectOfScalar[uuid.UUID]) -> SelectOfScalar[uuid.UUID]:
    """Ids of the programs in which any of `chapter_ids` takes part (indexed by chapter)."""
    return select(ProgramChapter.program_id).where(col(ProgramChapter.chapter_id).in_(chapter_ids))


def visible_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """Which programs the caller may see: one filter for get, lists and batches."""
    if ctx.principal.is_system:
        return sa.true()
    seen: list[sa.ColumnElement[bool]] = [col(Program.status).in_(PUBLIC)]
    managed = ctx.authz.chapters_where(PROGRAMS_MANAGE)
    if managed is not None:
        seen.append(col(Program.id).in_(involving(managed)))
    open_chapters = select(Chapter.id).where(chapters.visible_clause(ctx))
    return sa.and_(sa.or_(*seen), col(Program.id).in_(involving(open_chapters)))


def _reader_id(ctx: Ctx) -> uuid.UUID | None:
    """The person acting as themself through a token that reads programs, if any."""
    principal = ctx.principal
    if principal.person_id is None:
        return None
    if principal.has_scope(Scope.PROGRAMS_READ) or principal.has_scope(Scope.PROFILE):
        return principal.person_id
    return None


async def views(ctx: Ctx, programs: list[Program]) -> list[ProgramView]:
    """Read models: chapters taking part, the caller's enrolment and link rights, batched."""
    ids = [p.id for p in programs]
    taking_part: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    mine: dict[uuid.UUID, str] = {}
    if ids:
        rows = await ctx.session.exec(
            select(ProgramChapter.program_id, ProgramChapter.chapter_id)
            .where(col(ProgramChapter.program_id).in_(ids))
            .order_by(col(ProgramChapter.chapter_id))
        )
        for program_id, chapter_id in rows.all():
            taking_part[program_id].append(chapter_id)
        reader = _reader_id(ctx)
        if reader is not None:
            enrolled = await ctx.session.exec(
                select(Enrolment.program_id, Enrolment.status).where(
                    col(Enrolment.program_id).in_(ids), Enrolment.person_id == reader
                )
            )
            mine = dict(enrolled.all())
    everywhere = {c for cs in taking_part.values() for c in cs}
    managed = await ctx.authz.chapters_allowing(PROGRAMS_MANAGE, everywhere)
    return [
        _view(
            ctx,
            p,
            taking_part[p.id],
            mine.get(p.id),
            mine.get(p.id) in LINK_HOLDERS or not managed.isdisjoint(taking_part[p.id]),
        )
        for p in programs
    ]


def _view(
    ctx: Ctx, p: Program, taking_part: list[uuid.UUID], enrolment: str | None, links: bool
) -> ProgramView:
    language, text = localize(
        {"title": p.title, "description": p.description},
        p.default_language,
        p.translations,
        ctx.languages,
    )
    return ProgramView(
        id=p.id,
        slug=p.slug,
        title=text["title"] or p.title,
        description=text["description"],
        language=language,
        chapter_id=p.chapter_id,
        chapter_ids=taking_part,
        channels=list(p.channels),
        private_links=dict(p.private_links) if links else None,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        target_people=p.target_people,
        status=p.status,
        viewer_enrolment=enrolment,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


# -- reads ----------------------------------------------------------------------------------


_reads = Reader(Program, "program", visible_clause, views)
load_visible = _reads.load
get = _reads.get
get_by_slug = _reads.get_by_slug
get_many = _reads.get_many


def _filter_clauses(flt: ProgramFilter) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if flt.chapter_id is not None:
        with_chapter = select(ProgramChapter.program_id).where(
            ProgramChapter.chapter_id == flt.chapter_id
        )
        clauses.append(col(Program.id).in_(with_chapter))
    if flt.status is not None:
        clauses.append(col(Program.status) == flt.status.value)
    if flt.active_at is not None:
        clauses.append(col(Program.starts_at) <= flt.active_at)
        clauses.append(col(Program.ends_at) > flt.active_at)
    return clauses


async def list_programs(
    ctx: Ctx,
    flt: ProgramFilter | dict[str, Any] | None = None,
    after: Cursor = None,
    limit: int = 20,
) -> Page[ProgramView]:
    """Visible programs matching the filter, ordered by start, then id."""
    flt = parse(ProgramFilter, flt if flt is not None else {})
    stmt = select(Program).where(visible_clause(ctx), *_filter_clauses(flt))
    order = [col(Program.starts_at), col(Program.id)]
    page = await keyset_page(ctx.session, stmt, order, lambda p: [p.starts_at, p.id], after, limit)
    return page.replace(await views(ctx, page.items))


async def count_programs(ctx: Ctx, flt: ProgramFilter | dict[str, Any] | None = None) -> int:
    """How many visible programs match the filter."""
    flt = parse(ProgramFilter, flt if flt is not None else {})
    return await _reads.count(ctx, *_filter_clauses(flt))


async def changes_since(
    ctx: Ctx, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[ProgramView | Gone]:
    """Programs changed after `since`, oldest change first, for mirroring clients; public
    programs the caller can no longer see come back as `Gone`."""
    reach = ctx.authz.reach_chapters()
    hideable: sa.ColumnElement[bool] = col(Program.status).in_(PUBLIC)
    if reach is not None:
        hideable = sa.and_(hideable, col(Program.id).in_(involving(reach)))
    link = sa.alias(ProgramChapter.__table__)  # type: ignore[attr-defined]
    seen = link.c.program_id.in_(select(Program.id).where(sa.or_(visible_clause(ctx), hideable)))
    taking_part = chapter_changed(since, link, link.c.program_id, link.c.chapter_id, seen)
    return await _reads.changes_since(ctx, hideable, since, after, limit, [taking_part])


# -- writes ---------------------------------------------------------------------------------


def _check(
    data: ProgramCreate | ProgramUpdate,
    channels: list[str],
    links: dict[str, str],
    starts_at: datetime,
    ends_at: datetime,
) -> tuple[Translations | None, list[FieldError]]:
    """Field rules beyond the schema, on the values the program would end up with."""
    errors: list[FieldError | None] = []
    if data.default_language is not None:
        errors.append(language_error("default_language", data.default_language))
    translations = None
    if data.translations is not None:
        raw = {tag: t.model_dump(exclude_none=True) for tag, t in data.translations.items()}
        translations, bad = validate_translations("translations", raw, TEXT_FIELDS)
        errors.extend(bad)
    if len(set(channels)) != len(channels):
        errors.append(FieldError("channels", "each channel at most once"))
    for channel, link in links.items():
        if channel not in channels:
            errors.append(FieldError(f"private_links.{channel}", "not a channel of the program"))
        elif not 1 <= len(link) <= 500:
            errors.append(FieldError(f"private_links.{channel}", "must be 1–500 characters"))
    if ends_at <= starts_at:
        errors.append(FieldError("ends_at", "must be after starts_at"))
    return translations, [e for e in errors if e is not None]


async def _slug_taken(ctx: Ctx, slug: str) -> bool:
    stmt = select(sa.func.count()).select_from(Program).where(Program.slug == slug)
    return (await ctx.session.exec(stmt)).one() > 0


async def _organizing_chapter(ctx: Ctx, chapter_id: uuid.UUID) -> Chapter:
    try:
        return await chapters.load_visible(ctx, chapter_id)
    except NotFound:
        raise ValidationFailed.on("chapter_id", "no such chapter") from None


async def check_joining(ctx: Ctx, joining: list[tuple[str, uuid.UUID]]) -> None:
    """Chapters about to take part, each named by its input field, must be visible and managed
    by the caller (PROGRAMS_MANAGE there or on an ancestor)."""
    if not joining:
        return
    ids = [chapter_id for _, chapter_id in joining]
    stmt = select(Chapter.id).where(col(Chapter.id).in_(ids), chapters.visible_clause(ctx))
    found = set((await ctx.session.exec(stmt)).all())
    raise_if([FieldError(f, "no such chapter") for f, c in joining if c not in found])
    allowed = await ctx.authz.chapters_allowing(PROGRAMS_MANAGE, found)
    if found - allowed:
        raise Forbidden("not allowed to manage programs in a chapter being added")


async def create(ctx: Ctx, data: ProgramCreate | dict[str, Any]) -> ProgramView:
    """Create a draft program organized by a chapter where the caller manages programs."""
    data = parse(ProgramCreate, data)
    ctx.authz.require_scope(Scope.PROGRAMS_WRITE)
    async with use_case(ctx.session):
        organizing = await _organizing_chapter(ctx, data.chapter_id)
        await ctx.authz.require(PROGRAMS_MANAGE, organizing.id)
        channels = [c.value for c in data.channels]
        links = {c.value: v for c, v in data.private_links.items()}
        translations, errors = _check(data, channels, links, data.starts_at, data.ends_at)
        errors.extend(e for e in [slug_error("slug", data.slug)] if e)
        if not errors and await _slug_taken(ctx, data.slug):
            errors.append(FieldError("slug", "already taken"))
        raise_if(list(errors))
        joining = [
            (f"chapter_ids.{i}", c) for i, c in enumerate(data.chapter_ids) if c != organizing.id
        ]
        await check_joining(ctx, joining)
        others = list(dict.fromkeys(c for _, c in joining))
        program = Program(
            slug=data.slug,
            title=data.title,
            description=data.description,
            default_language=normalize_language(data.default_language) or data.default_language,
            translations=translations or {},
            chapter_id=organizing.id,
            channels=channels,
            private_links=links,
            starts_at=as_utc(data.starts_at),
            ends_at=as_utc(data.ends_at),
            target_people=data.target_people,
        )
        ctx.session.add(program)
        await ctx.session.flush()
        for chapter_id in [organizing.id, *others]:
            ctx.session.add(ProgramChapter(program_id=program.id, chapter_id=chapter_id))
    return (await views(ctx, [program]))[0]


async def load_managed(ctx: Ctx, program_id: uuid.UUID) -> Program:
    """The program, once the caller is shown to see it and manage its organizing chapter."""
    ctx.authz.require_scope(Scope.PROGRAMS_WRITE)
    program = await load_visible(ctx, program_id)
    await ctx.authz.require(PROGRAMS_MANAGE, program.chapter_id)
    return program


def touch(ctx: Ctx, program: Program) -> None:
    """Mark the program changed, also when only its related rows changed."""
    program.updated_at = utcnow()
    ctx.session.add(program)


async def update(
    ctx: Ctx, program_id: uuid.UUID, data: ProgramUpdate | dict[str, Any]
) -> ProgramView:
    """Change a program's text, channels, links, period or target (its organizers)."""
    data = parse(ProgramUpdate, data)
    async with use_case(ctx.session):
        program = await load_managed(ctx, program_id)
        if program.status == ProgramStatus.ARCHIVED:
            raise Conflict("an archived program cannot change")
        channels = (
            [c.value for c in data.channels] if data.channels is not None else program.channels
        )
        links = (
            {c.value: v for c, v in data.private_links.items()}
            if data.private_links is not None
            else dict(program.private_links)
        )
        if data.channels is not None and data.private_links is None:
            links = {c: v for c, v in links.items() if c in channels}
        starts_at = as_utc(data.starts_at or program.starts_at)
        ends_at = as_utc(data.ends_at or program.ends_at)
        translations, errors = _check(data, channels, links, starts_at, ends_at)
        raise_if(list(errors))
        if data.title is not None:
            program.title = data.title
        if "description" in data.model_fields_set:
            program.description = data.description
        if data.default_language is not None:
            program.default_language = normalize_language(data.default_language) or ""
        if translations is not None:
            program.translations = translations
        if data.target_people is not None:
            program.target_people = data.target_people
        program.channels, program.private_links = channels, links
        program.starts_at, program.ends_at = starts_at, ends_at
        touch(ctx, program)
    return (await views(ctx, [program]))[0]


async def _move(
    ctx: Ctx, program_id: uuid.UUID, source: ProgramStatus, target: ProgramStatus
) -> ProgramView:
    async with use_case(ctx.session):
        program = await load_managed(ctx, program_id)
        if program.status != source:
            raise Conflict(f"only a {source} program can become {target}")
        program.status = target.value
        touch(ctx, program)
    return (await views(ctx, [program]))[0]


async def publish(ctx: Ctx, program_id: uuid.UUID) -> ProgramView:
    """Make a draft program public and open for enrolment."""
    return await _move(ctx, program_id, ProgramStatus.DRAFT, ProgramStatus.PUBLISHED)


async def archive(ctx: Ctx, program_id: uuid.UUID) -> ProgramView:
    """Close a published program to new enrolments; it stays public as a record."""
    return await _move(ctx, program_id, ProgramStatus.PUBLISHED, ProgramStatus.ARCHIVED)
