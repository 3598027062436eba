"""Partner organisations and grants: who may integrate, and where, with which scopes.

Network admins (admins of the root chapter) register and edit partner organisations. Chapter
admins grant a partner reach into their chapter's subtree with a set of scopes; the authorizer
then lets the partner's tokens act there, within the tokens' own scopes and reach. A grant never
administers chapters: `chapters:write` (and the person-only `profile`, `offline_access`) cannot
be granted, and admin-level permissions ignore grants altogether.
"""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from makesense_api.authz.policy import CHAPTER_MANAGE
from makesense_api.authz.principal import Scope
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import FieldError, Forbidden, NotFound, ValidationFailed
from makesense_api.kit.ids import new_id
from makesense_api.kit.models import Tombstone
from makesense_api.kit.pagination import Cursor, Page, Window, keyset_page, keyset_pages_by
from makesense_api.kit.schemas import null_errors, parse, raise_if
from makesense_api.kit.validation import slug_error
from makesense_api.partners.models import PartnerGrant, PartnerOrganisation
from makesense_api.partners.schemas import (
    GrantCreate,
    GrantView,
    PartnerCreate,
    PartnerUpdate,
    PartnerView,
)

# Scopes a chapter may hand to a partner: resource scopes only, and never chapter administration.
GRANTABLE_SCOPES: frozenset[str] = frozenset(Scope) - {
    Scope.CHAPTERS_WRITE,
    Scope.PROFILE,
    Scope.OFFLINE_ACCESS,
}
MAX_WEBSITE = 500


# -- network administration ------------------------------------------------------------------


async def _roots(ctx: Ctx) -> list[uuid.UUID]:
    stmt = select(Chapter.id).where(col(Chapter.parent_id).is_(None)).order_by(col(Chapter.id))
    return list((await ctx.session.exec(stmt)).all())


async def is_network_admin(ctx: Ctx) -> bool:
    """The caller may manage the root chapter (every root, should there ever be several)."""
    roots = await _roots(ctx)
    for root in roots:
        if not await ctx.authz.can(CHAPTER_MANAGE, root):
            return False
    return bool(roots)


async def require_network_admin(ctx: Ctx) -> None:
    """Raise the precise denial unless the caller is a network admin."""
    roots = await _roots(ctx)
    ctx.authz.require_scope(CHAPTER_MANAGE.scope)
    if not roots:
        raise Forbidden("the network has no root chapter yet")
    for root in roots:
        await ctx.authz.require(CHAPTER_MANAGE, root)


# -- partner organisations -------------------------------------------------------------------


def _view(partner: PartnerOrganisation) -> PartnerView:
    return PartnerView(
        id=partner.id,
        slug=partner.slug,
        name=partner.name,
        website=partner.website,
        active=partner.active,
        created_at=partner.created_at,
        updated_at=partner.updated_at,
    )


def _website(data: PartnerCreate | PartnerUpdate, errors: list[FieldError]) -> str | None:
    if data.website is None:
        return None
    url = str(data.website)
    if len(url) > MAX_WEBSITE:
        errors.append(FieldError("website", f"must be at most {MAX_WEBSITE} characters"))
    return url


async def _load(ctx: Ctx, partner_id: uuid.UUID) -> PartnerOrganisation:
    partner = await ctx.session.get(PartnerOrganisation, partner_id)
    if partner is None:
        raise NotFound("partner", partner_id)
    return partner


async def create(ctx: Ctx, data: PartnerCreate | dict[str, Any]) -> PartnerView:
    """Register a partner organisation (network admins)."""
    data = parse(PartnerCreate, data)
    async with use_case(ctx.session):
        await require_network_admin(ctx)
        errors = [e for e in [slug_error("slug", data.slug)] if e]
        website = _website(data, errors)
        if not errors:
            taken = select(sa.func.count()).where(PartnerOrganisation.slug == data.slug)
            if (await ctx.session.exec(taken)).one():
                errors.append(FieldError("slug", "already taken"))
        raise_if(list(errors))
        partner = PartnerOrganisation(slug=data.slug, name=data.name, website=website)
        ctx.session.add(partner)
    return _view(partner)


async def update(
    ctx: Ctx, partner_id: uuid.UUID, data: PartnerUpdate | dict[str, Any]
) -> PartnerView:
    """Rename, re-link or (de)activate a partner organisation (network admins)."""
    data = parse(PartnerUpdate, data)
    async with use_case(ctx.session):
        await require_network_admin(ctx)
        partner = await _load(ctx, partner_id)
        errors = null_errors(data, ("name", "active"))
        website = _website(data, errors)
        raise_if(list(errors))
        if data.name is not None:
            partner.name = data.name
        if data.active is not None:
            partner.active = data.active
        if "website" in data.model_fields_set:
            partner.website = website
        ctx.session.add(partner)
    await ctx.session.refresh(partner)
    return _view(partner)


async def get(ctx: Ctx, partner_id: uuid.UUID) -> PartnerView:
    """One partner organisation: for network admins, and for the partner's own tokens."""
    if ctx.principal.partner_id != partner_id and not await is_network_admin(ctx):
        raise NotFound("partner", partner_id)
    return _view(await _load(ctx, partner_id))


async def get_many(ctx: Ctx, partner_ids: list[uuid.UUID]) -> dict[uuid.UUID, PartnerView]:
    """The partners among `partner_ids` the caller may see (as `get`), in one query or two."""
    wanted = set(partner_ids)
    own = ctx.principal.partner_id
    if not await is_network_admin(ctx):
        if own is None or own not in wanted:
            return {}
        wanted = {own}
    stmt = select(PartnerOrganisation).where(col(PartnerOrganisation.id).in_(wanted))
    return {p.id: _view(p) for p in (await ctx.session.exec(stmt)).all()}


async def list_partners(
    ctx: Ctx, active: bool | None = None, after: Cursor = None, limit: int = 20
) -> Page[PartnerView]:
    """Partner organisations ordered by slug (network admins)."""
    await require_network_admin(ctx)
    stmt = select(PartnerOrganisation)
    if active is not None:
        stmt = stmt.where(PartnerOrganisation.active == active)
    page = await keyset_page(
        ctx.session, stmt, [col(PartnerOrganisation.slug)], lambda p: [p.slug], after, limit
    )
    return page.replace([_view(p) for p in page.items])


# -- grants ---------------------------------------------------------------------------------


def _check_scopes(scopes: list[str]) -> set[str]:
    errors: list[FieldError | None] = []
    for i, scope in enumerate(scopes):
        if scope == Scope.CHAPTERS_WRITE:
            errors.append(FieldError(f"scopes.{i}", "partners cannot administer chapters"))
        elif scope not in GRANTABLE_SCOPES:
            errors.append(FieldError(f"scopes.{i}", f"{scope!r} is not a grantable scope"))
    raise_if(errors)
    return set(scopes)


async def _insert_missing(
    ctx: Ctx, partner_id: uuid.UUID, chapter_id: uuid.UUID, scopes: set[str]
) -> None:
    """Insert the grant rows that do not exist yet; concurrent identical grants both succeed."""
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "created_at": now,
            "updated_at": now,
            "partner_id": partner_id,
            "chapter_id": chapter_id,
            "scope": scope,
            "granted_by_id": ctx.principal.person_id,
        }
        for scope in sorted(scopes)
    ]
    dialect = ctx.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(PartnerGrant)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["partner_id", "chapter_id", "scope"])
    )
    await ctx.session.exec(stmt)


async def grant(ctx: Ctx, data: GrantCreate | dict[str, Any]) -> GrantView:
    """Give a partner scopes in a chapter subtree (its admins); merges with earlier grants."""
    data = parse(GrantCreate, data)
    async with use_case(ctx.session):
        chapter = await chapters.load_visible(ctx, data.chapter_id)
        await ctx.authz.require(CHAPTER_MANAGE, chapter.id)
        scopes = _check_scopes(data.scopes)
        partner = await ctx.session.get(PartnerOrganisation, data.partner_id)
        if partner is None or not partner.active:
            raise ValidationFailed.on("partner_id", "no such active partner")
        await _insert_missing(ctx, partner.id, chapter.id, scopes)
        ctx.authz.forget()
    views = await _grouped(
        ctx, PartnerGrant.partner_id == partner.id, PartnerGrant.chapter_id == chapter.id
    )
    return views[0]


async def revoke(
    ctx: Ctx, partner_id: uuid.UUID, chapter_id: uuid.UUID, scopes: list[str] | None = None
) -> None:
    """Withdraw a partner's grant on a chapter (its admins): all scopes, or only `scopes`."""
    async with use_case(ctx.session):
        chapter = await chapters.load_visible(ctx, chapter_id)
        await ctx.authz.require(CHAPTER_MANAGE, chapter.id)
        stmt = select(PartnerGrant).where(
            PartnerGrant.partner_id == partner_id, PartnerGrant.chapter_id == chapter.id
        )
        if scopes is not None:
            stmt = stmt.where(col(PartnerGrant.scope).in_(scopes))
        rows = list((await ctx.session.exec(stmt)).all())
        if not rows:
            raise NotFound("partner grant", f"{partner_id}/{chapter_id}")
        for row in rows:
            await ctx.session.delete(row)
            ctx.session.add(
                Tombstone(entity="partner_grant", entity_id=row.id, chapter_id=chapter.id)
            )
        ctx.authz.forget()


async def grants_of_chapter(
    ctx: Ctx, chapter_id: uuid.UUID, subtree: bool = False
) -> list[GrantView]:
    """Grants on a chapter, or on its whole subtree (the chapter's admins)."""
    chapter = await chapters.load_visible(ctx, chapter_id)
    await ctx.authz.require(CHAPTER_MANAGE, chapter.id)
    if subtree:
        return await _grouped(
            ctx, col(PartnerGrant.chapter_id).in_(chapters.subtree_ids(chapter.id))
        )
    return await _grouped(ctx, PartnerGrant.chapter_id == chapter.id)


async def grants_of_partner(ctx: Ctx, partner_id: uuid.UUID) -> list[GrantView]:
    """Every grant a partner holds across the network (network admins)."""
    await require_network_admin(ctx)
    await _load(ctx, partner_id)
    return await _grouped(ctx, PartnerGrant.partner_id == partner_id)


async def _grouped(ctx: Ctx, *where: Any) -> list[GrantView]:
    """Grant rows folded into one view per (partner, chapter), ordered by partner then chapter."""
    stmt = (
        select(PartnerGrant, PartnerOrganisation, Chapter.slug)
        .join(PartnerOrganisation, col(PartnerOrganisation.id) == PartnerGrant.partner_id)
        .join(Chapter, col(Chapter.id) == PartnerGrant.chapter_id)
        .where(*where)
        .order_by(col(PartnerOrganisation.slug), col(Chapter.slug), col(PartnerGrant.scope))
    )
    groups: dict[
        tuple[uuid.UUID, uuid.UUID], list[tuple[PartnerGrant, PartnerOrganisation, str]]
    ] = {}
    for row in (await ctx.session.exec(stmt)).all():
        groups.setdefault((row[0].partner_id, row[0].chapter_id), []).append(row)
    return [
        GrantView(
            id=min(g.id for g, _, _ in rows),
            partner=_view(rows[0][1]),
            chapter_id=rows[0][0].chapter_id,
            chapter_slug=rows[0][2],
            scopes=[g.scope for g, _, _ in rows],
            granted_at=min(g.created_at for g, _, _ in rows),
            updated_at=max(g.updated_at for g, _, _ in rows),
        )
        for rows in groups.values()
    ]


async def get_grant(ctx: Ctx, grant_id: uuid.UUID) -> GrantView:
    """One grant by its id, for the admins of its chapter; anyone else: not found."""
    row = await ctx.session.get(PartnerGrant, grant_id)
    if row is None or not await ctx.authz.can(CHAPTER_MANAGE, row.chapter_id):
        raise NotFound("partner grant", grant_id)
    views = await _grouped(
        ctx, PartnerGrant.partner_id == row.partner_id, PartnerGrant.chapter_id == row.chapter_id
    )
    if views[0].id != grant_id:
        raise NotFound("partner grant", grant_id)
    return views[0]


async def revoke_grant(ctx: Ctx, grant_id: uuid.UUID, scopes: list[str] | None = None) -> None:
    """Withdraw a grant (all scopes, or only `scopes`) by its id (the admins of its chapter)."""
    ctx.authz.require_scope(CHAPTER_MANAGE.scope)
    grant = await get_grant(ctx, grant_id)
    await revoke(ctx, grant.partner.id, grant.chapter_id, scopes)


def _heads() -> sa.ColumnElement[bool]:
    """The oldest row of each (partner, chapter): the one that names the grant."""
    older = aliased(PartnerGrant)
    return ~sa.exists().where(
        col(older.partner_id) == PartnerGrant.partner_id,
        col(older.chapter_id) == PartnerGrant.chapter_id,
        col(older.id) < PartnerGrant.id,
    )


async def grant_pages_of_chapters(
    ctx: Ctx, chapter_ids: list[uuid.UUID], window: Window
) -> dict[uuid.UUID, Page[GrantView]]:
    """Grants on each chapter, oldest first, in two queries; empty where the caller is not an
    admin of the chapter."""
    allowed = sorted(await ctx.authz.chapters_allowing(CHAPTER_MANAGE, set(chapter_ids)))
    pages = await keyset_pages_by(
        ctx.session,
        PartnerGrant,
        select(PartnerGrant).where(_heads()),
        col(PartnerGrant.chapter_id),
        allowed,
        [col(PartnerGrant.id)],
        lambda g: [g.id],
        window,
    )
    heads = [g for page in pages.values() for g in page.items]
    views: dict[uuid.UUID, GrantView] = {}
    if heads:
        found = await _grouped(
            ctx,
            col(PartnerGrant.chapter_id).in_({g.chapter_id for g in heads}),
            col(PartnerGrant.partner_id).in_({g.partner_id for g in heads}),
        )
        views = {v.id: v for v in found}
    empty: Page[GrantView] = Page([], False, None)
    return {
        c: pages[c].replace([views[g.id] for g in pages[c].items]) if c in pages else empty
        for c in chapter_ids
    }
