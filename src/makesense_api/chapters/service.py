"""Chapter use-cases: create, read, list, update, move. Every call goes through `ctx.authz`."""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from makesense_api.authz.policy import CHAPTER_MANAGE, CHAPTER_MEMBER_READ
from makesense_api.chapters.models import Chapter, ChapterClosure, ChapterStatus
from makesense_api.chapters.schemas import (
    ChapterCreate,
    ChapterUpdate,
    ChapterView,
    Contact,
    TranslationIn,
)
from makesense_api.context import Ctx
from makesense_api.feeds.changes import Gone, Source
from makesense_api.feeds.changes import changes_since as feed_changes
from makesense_api.impact import rollup
from makesense_api.kit.db import serialize, unique_or, use_case
from makesense_api.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from makesense_api.kit.geo import near_clause
from makesense_api.kit.i18n import localize
from makesense_api.kit.pagination import Cursor, Page, Window, keyset_page, keyset_pages_by
from makesense_api.kit.reads import Reader
from makesense_api.kit.schemas import null_errors, parse, raise_if
from makesense_api.kit.validation import (
    coordinates_error,
    country_error,
    language_error,
    normalize_language,
    slug_error,
    timezone_error,
)

TEXT_FIELDS = ("name", "description")


@dataclass(frozen=True)
class ChapterFilter:
    """List filters; all optional and combined with AND."""

    subtree: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    country_code: str | None = None
    kind: str | None = None
    status: str | None = None
    text: str | None = None
    near: tuple[float, float, float] | None = None  # latitude, longitude, radius in km


# -- reads -------------------------------------------------------------------------------


def subtree_ids(root_id: uuid.UUID) -> SelectOfScalar[uuid.UUID]:
    """Ids of the chapter and all its descendants: one indexed closure lookup."""
    return select(ChapterClosure.descendant_id).where(ChapterClosure.ancestor_id == root_id)


def visible_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """Which chapters the caller may see: open ones inside the token's reach; closed ones only
    where the caller manages them."""
    clause: sa.ColumnElement[bool] = col(Chapter.status) != ChapterStatus.CLOSED
    managed = ctx.authz.chapters_where(CHAPTER_MANAGE)
    if managed is not None:
        clause = sa.or_(clause, col(Chapter.id).in_(managed))
    reach = ctx.authz.reach_chapters()
    if reach is not None:
        clause = sa.and_(clause, col(Chapter.id).in_(reach))
    return clause


async def _views(ctx: Ctx, chapters: list[Chapter]) -> list[ChapterView]:
    member_of = await ctx.authz.chapters_allowing(CHAPTER_MEMBER_READ, {c.id for c in chapters})
    return [_view(ctx, c, c.id in member_of) for c in chapters]


def _view(ctx: Ctx, chapter: Chapter, member: bool) -> ChapterView:
    language, text = localize(
        {"name": chapter.name, "description": chapter.description},
        chapter.default_language,
        chapter.translations,
        ctx.languages,
    )
    contacts = [
        Contact(c["kind"], c["value"], bool(c.get("private")))
        for c in chapter.contacts
        if member or not c.get("private")
    ]
    return ChapterView(
        id=chapter.id,
        slug=chapter.slug,
        name=text["name"] or chapter.name,
        description=text["description"],
        language=language,
        kind=chapter.kind,
        parent_id=chapter.parent_id,
        depth=chapter.depth,
        country_code=chapter.country_code,
        city=chapter.city,
        timezone=chapter.timezone,
        languages=list(chapter.languages),
        latitude=chapter.latitude,
        longitude=chapter.longitude,
        status=chapter.status,
        contacts=contacts,
        created_at=chapter.created_at,
        updated_at=chapter.updated_at,
    )


_reads = Reader(Chapter, "chapter", visible_clause, _views)
load_visible = _reads.load
get = _reads.get
get_by_slug = _reads.get_by_slug

CHAPTER_TABLE: sa.Table = Chapter.__table__  # type: ignore[attr-defined]


async def get_many(ctx: Ctx, chapter_ids: list[uuid.UUID]) -> dict[uuid.UUID, ChapterView]:
    """The visible chapters among `chapter_ids` (for batch loaders), in one statement read as
    plain rows: hydrating ORM objects costs more than the statement for a page of them."""
    if not chapter_ids:
        return {}
    stmt = sa.select(*CHAPTER_TABLE.c).where(
        CHAPTER_TABLE.c.id.in_(chapter_ids), visible_clause(ctx)
    )
    rows = (await ctx.session.exec(cast(Any, stmt))).all()
    plain = [cast(Chapter, SimpleNamespace(**row._asdict())) for row in rows]
    return {view.id: view for view in await _views(ctx, plain)}


async def id_for_slug(ctx: Ctx, slug: str) -> uuid.UUID:
    """Resolve a visible chapter's slug to its id."""
    stmt = select(Chapter.id).where(Chapter.slug == slug, visible_clause(ctx))
    found = (await ctx.session.exec(stmt)).first()
    if found is None:
        raise NotFound("chapter", slug)
    return found


def filter_clauses(flt: ChapterFilter) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if flt.subtree is not None:
        clauses.append(col(Chapter.id).in_(subtree_ids(flt.subtree)))
    if flt.parent_id is not None:
        clauses.append(col(Chapter.parent_id) == flt.parent_id)
    if flt.country_code is not None:
        clauses.append(col(Chapter.country_code) == flt.country_code.upper())
    if flt.kind is not None:
        clauses.append(col(Chapter.kind) == flt.kind)
    if flt.status is not None:
        clauses.append(col(Chapter.status) == flt.status)
    if flt.text:
        pattern = f"%{flt.text.lower()}%"
        clauses.append(
            sa.or_(
                sa.func.lower(Chapter.name).like(pattern),
                col(Chapter.slug).like(pattern),
                sa.func.lower(Chapter.city).like(pattern),
            )
        )
    if flt.near is not None:
        lat, lon, km = flt.near
        raise_if([coordinates_error("near", lat, lon)])
        if not 0 < km <= 20_000:
            raise ValidationFailed.on("near.radius_km", "must be between 0 and 20000")
        clauses.append(near_clause(col(Chapter.latitude), col(Chapter.longitude), lat, lon, km))
    return clauses


async def list_chapters(
    ctx: Ctx, flt: ChapterFilter, after: Cursor = None, limit: int = 20
) -> Page[ChapterView]:
    """Visible chapters matching the filter, ordered by slug."""
    stmt = select(Chapter).where(visible_clause(ctx), *filter_clauses(flt))
    page = await keyset_page(
        ctx.session, stmt, [col(Chapter.slug)], lambda c: [c.slug], after, limit
    )
    return page.replace(await _views(ctx, page.items))


async def children_of(
    ctx: Ctx, parent_ids: list[uuid.UUID], window: Window
) -> dict[uuid.UUID, Page[ChapterView]]:
    """The first page of visible children of each parent, ordered by slug, in one query."""
    stmt = select(Chapter).where(visible_clause(ctx))
    pages = await keyset_pages_by(
        ctx.session,
        Chapter,
        stmt,
        col(Chapter.parent_id),
        parent_ids,
        [col(Chapter.slug)],
        lambda c: [c.slug],
        window,
    )
    views = {v.id: v for v in await _views(ctx, [c for p in pages.values() for c in p.items])}
    return {pid: p.replace([views[c.id] for c in p.items]) for pid, p in pages.items()}


async def count_chapters(ctx: Ctx, flt: ChapterFilter) -> int:
    """How many visible chapters match the filter."""
    return await _reads.count(ctx, *filter_clauses(flt))


async def ancestors(ctx: Ctx, chapter_id: uuid.UUID) -> list[ChapterView]:
    """The chain from the root down to the chapter's parent."""
    await load_visible(ctx, chapter_id)
    stmt = (
        select(Chapter)
        .join(ChapterClosure, col(ChapterClosure.ancestor_id) == Chapter.id)
        .where(
            ChapterClosure.descendant_id == chapter_id,
            col(ChapterClosure.depth) > 0,
            visible_clause(ctx),
        )
        .order_by(col(ChapterClosure.depth).desc())
    )
    return await _views(ctx, list((await ctx.session.exec(stmt)).all()))


# -- writes ------------------------------------------------------------------------------


def _translations(
    translations: dict[str, TranslationIn], errors: list[FieldError]
) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for tag, values in translations.items():
        normal = normalize_language(tag)
        if normal is None:
            errors.append(FieldError(f"translations.{tag}", "not a valid BCP 47 language tag"))
        else:
            clean[normal] = values.model_dump(exclude_none=True)
    return clean


def _check_fields(data: ChapterCreate | ChapterUpdate) -> list[FieldError]:
    errors: list[FieldError | None] = []
    if data.country_code is not None:
        errors.append(country_error("country_code", data.country_code))
    if data.timezone is not None:
        errors.append(timezone_error("timezone", data.timezone))
    if data.default_language is not None:
        errors.append(language_error("default_language", data.default_language))
    for i, tag in enumerate(data.languages or []):
        errors.append(language_error(f"languages.{i}", tag))
    if data.latitude is not None or data.longitude is not None:
        errors.append(coordinates_error("latitude", data.latitude, data.longitude))
    return [e for e in errors if e is not None]


def _languages(tags: list[str]) -> list[str]:
    return [normalize_language(t) or t for t in tags]


async def _slug_taken(ctx: Ctx, slug: str) -> bool:
    stmt = select(sa.func.count()).select_from(Chapter).where(Chapter.slug == slug)
    return (await ctx.session.exec(stmt)).one() > 0


async def _insert(ctx: Ctx, chapter: Chapter, parent: Chapter | None) -> None:
    ctx.session.add(chapter)
    await ctx.session.flush()
    rows: list[dict[str, Any]] = [
        {"ancestor_id": chapter.id, "descendant_id": chapter.id, "depth": 0}
    ]
    if parent is not None:
        parents = select(ChapterClosure.ancestor_id, ChapterClosure.depth).where(
            ChapterClosure.descendant_id == parent.id
        )
        for ancestor_id, depth in (await ctx.session.exec(parents)).all():
            rows.append(
                {"ancestor_id": ancestor_id, "descendant_id": chapter.id, "depth": depth + 1}
            )
    await ctx.session.exec(sa.insert(ChapterClosure), params=rows)


def _new_chapter(data: ChapterCreate, parent: Chapter | None, errors: list[FieldError]) -> Chapter:
    values = data.model_dump(
        exclude={"translations", "contacts", "parent_id", "default_language", "languages"}
    )
    return Chapter(
        **values,
        parent_id=parent.id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        default_language=normalize_language(data.default_language) or data.default_language,
        translations=_translations(data.translations, errors),
        contacts=[c.model_dump() for c in data.contacts],
        languages=_languages(data.languages),
    )


# Tree edits (create, move) are serialized so concurrent moves can neither form a cycle nor
# leave a new chapter linked to its parent's former ancestors.
TREE_LOCK = 0x6D73_7472_6565


async def _add(ctx: Ctx, data: ChapterCreate, parent: Chapter | None) -> Chapter:
    """Validate a new chapter's fields and slug, then insert it with its closure rows."""
    errors = _check_fields(data) + [e for e in [slug_error("slug", data.slug)] if e]
    if not errors and await _slug_taken(ctx, data.slug):
        errors.append(FieldError("slug", "already taken"))
    chapter = _new_chapter(data, parent, errors)
    raise_if(list(errors))
    async with unique_or(ctx.session, ValidationFailed.on("slug", "already taken")):
        await _insert(ctx, chapter, parent)
    return chapter


async def create(ctx: Ctx, data: ChapterCreate | dict[str, Any]) -> ChapterView:
    """Create a chapter under a parent the caller administers."""
    data = parse(ChapterCreate, data)
    async with use_case(ctx.session):
        await serialize(ctx.session, TREE_LOCK)
        parent = (
            await ctx.session.exec(
                select(Chapter).where(Chapter.id == data.parent_id, visible_clause(ctx))
            )
        ).first()
        if parent is None:
            raise ValidationFailed.on("parent_id", "no such chapter")
        await ctx.authz.require(CHAPTER_MANAGE, parent.id)
        chapter = await _add(ctx, data, parent)
    return (await _views(ctx, [chapter]))[0]


async def create_root(ctx: Ctx, data: dict[str, Any]) -> ChapterView:
    """Create the network's root chapter (service principals only: CLI and seeding)."""
    if not ctx.principal.is_system:
        raise Forbidden("only the service itself creates the root chapter")
    full = parse(ChapterCreate, {**data, "parent_id": uuid.UUID(int=0)})
    async with use_case(ctx.session):
        await serialize(ctx.session, TREE_LOCK)
        roots = select(sa.func.count()).select_from(Chapter).where(col(Chapter.parent_id).is_(None))
        if (await ctx.session.exec(roots)).one():
            raise Conflict("the network already has a root chapter")
        chapter = await _add(ctx, full, None)
    return (await _views(ctx, [chapter]))[0]


# Columns an update may change but never clear.
REQUIRED_ON_UPDATE = (
    "name",
    "default_language",
    "translations",
    "kind",
    "timezone",
    "languages",
    "status",
    "contacts",
)


async def update(
    ctx: Ctx, chapter_id: uuid.UUID, data: ChapterUpdate | dict[str, Any]
) -> ChapterView:
    """Change a chapter's fields; only its admins (or their ancestors' admins) may."""
    data = parse(ChapterUpdate, data)
    async with use_case(ctx.session):
        chapter = await load_visible(ctx, chapter_id)
        await ctx.authz.require(CHAPTER_MANAGE, chapter.id)
        errors = _check_fields(data) + null_errors(data, REQUIRED_ON_UPDATE)
        given = data.model_dump(exclude_unset=True)
        if "translations" in given and data.translations is not None:
            chapter.translations = _translations(data.translations, errors)
        raise_if(list(errors))
        for name in (
            "name",
            "description",
            "kind",
            "country_code",
            "city",
            "timezone",
            "latitude",
            "longitude",
            "status",
        ):
            if name in given:
                setattr(chapter, name, given[name])
        if data.default_language is not None:
            chapter.default_language = normalize_language(data.default_language) or ""
        if data.languages is not None:
            chapter.languages = _languages(data.languages)
        if data.contacts is not None:
            chapter.contacts = [c.model_dump() for c in data.contacts]
        ctx.session.add(chapter)
    return (await _views(ctx, [chapter]))[0]


async def move(ctx: Ctx, chapter_id: uuid.UUID, new_parent_id: uuid.UUID) -> ChapterView:
    """Re-parent a chapter and its whole subtree; the caller must administer both places."""
    async with use_case(ctx.session):
        chapter = await load_visible(ctx, chapter_id)
        await ctx.authz.require(CHAPTER_MANAGE, chapter.id)
        if chapter.parent_id is None:
            raise ValidationFailed.on("chapter_id", "the root chapter cannot be moved")
        # Taking a chapter away needs the consent of its current parent's admins too.
        await ctx.authz.require(CHAPTER_MANAGE, chapter.parent_id)
        await serialize(ctx.session, TREE_LOCK)
        parent = (
            await ctx.session.exec(
                select(Chapter).where(Chapter.id == new_parent_id, visible_clause(ctx))
            )
        ).first()
        if parent is None:
            raise ValidationFailed.on("parent_id", "no such chapter")
        await ctx.authz.require(CHAPTER_MANAGE, parent.id)
        inside = select(sa.func.count()).where(
            ChapterClosure.ancestor_id == chapter.id, ChapterClosure.descendant_id == parent.id
        )
        if (await ctx.session.exec(inside)).one():
            raise ValidationFailed.on(
                "parent_id", "a chapter cannot move under itself or its descendants"
            )
        await _relink(ctx, chapter, parent)
        await rollup.refresh_subtree(ctx.session, chapter.id)
        ctx.authz.forget()
    return (await _views(ctx, [chapter]))[0]


async def _relink(ctx: Ctx, chapter: Chapter, parent: Chapter) -> None:
    """Rewrite the closure rows linking the subtree to its old ancestors, then its depths."""
    subtree = select(ChapterClosure.descendant_id).where(ChapterClosure.ancestor_id == chapter.id)
    old_ancestors = select(ChapterClosure.ancestor_id).where(
        ChapterClosure.descendant_id == chapter.id, col(ChapterClosure.depth) > 0
    )
    await ctx.session.exec(
        sa.delete(ChapterClosure).where(
            col(ChapterClosure.descendant_id).in_(subtree),
            col(ChapterClosure.ancestor_id).in_(old_ancestors),
        )
    )
    sub = (
        await ctx.session.exec(
            select(ChapterClosure.descendant_id, ChapterClosure.depth).where(
                ChapterClosure.ancestor_id == chapter.id
            )
        )
    ).all()
    ups = (
        await ctx.session.exec(
            select(ChapterClosure.ancestor_id, ChapterClosure.depth).where(
                ChapterClosure.descendant_id == parent.id
            )
        )
    ).all()
    rows = [
        {"ancestor_id": a, "descendant_id": d, "depth": ad + dd + 1}
        for a, ad in ups
        for d, dd in sub
    ]
    await ctx.session.exec(sa.insert(ChapterClosure), params=rows)
    shift = parent.depth + 1 - chapter.depth
    await ctx.session.exec(
        sa.update(Chapter)
        .where(col(Chapter.id).in_([d for d, _ in sub]))
        .values(depth=Chapter.depth + shift)
    )
    chapter.parent_id = parent.id
    chapter.depth = parent.depth + 1
    ctx.session.add(chapter)


async def list_under(
    ctx: Ctx,
    subtree_slug: str | None,
    flt: ChapterFilter,
    after: Cursor = None,
    limit: int = 20,
) -> Page[ChapterView]:
    """`list_chapters`, within the subtree of the visible chapter named by `subtree_slug`
    (transports that name chapters by slug); an unknown slug is a field error."""
    if subtree_slug is not None:
        try:
            root = await id_for_slug(ctx, subtree_slug)
        except NotFound:
            raise ValidationFailed.on("subtree", "no such chapter") from None
        flt = replace(flt, subtree=root)
    return await list_chapters(ctx, flt, after, limit)


async def changes_since(
    ctx: Ctx, since: datetime, after: Cursor = None, limit: int = 20
) -> Page[ChapterView | Gone]:
    """Chapters changed after `since`, oldest change first, for clients that mirror the tree;
    chapters closed since (within the caller's reach) come back as `Gone`."""
    reach = ctx.authz.reach_chapters()
    hideable: sa.ColumnElement[bool] = col(Chapter.status) == ChapterStatus.CLOSED
    if reach is not None:
        hideable = sa.and_(hideable, col(Chapter.id).in_(reach))
    source = Source(
        Chapter, "chapter", visible_clause(ctx), hideable, reach, lambda ids: get_many(ctx, ids)
    )
    return await feed_changes(ctx, source, since, after, limit)
