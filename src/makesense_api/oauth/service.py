"""OAuth clients: registration and management.

Who manages a client: the admins of its chapter (`CHAPTER_MANAGE`, inherited down the tree) for
chapter-owned clients, network admins for partner-owned ones. Anyone else is told the client
does not exist. A confidential client's secret is returned once, by `create` and
`rotate_secret`; only its SHA-256 is stored. After a rotation the previous secret keeps working
for a grace period (`MAKESENSE_OAUTH_SECRET_ROTATION_GRACE_S`), so a deployment can switch to
the new one without downtime; a second rotation within the grace retires the first secret at
once (only one previous secret is kept).

What a registration must respect is in `oauth.rules`; in addition, a chapter's client never
reaches outside the chapter's subtree (by default it reaches that chapter's subtree).
"""

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.policy import CHAPTER_MANAGE
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import ChapterClosure
from makesense_api.config import get_settings
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import FieldError, NotFound, ValidationFailed
from makesense_api.kit.pagination import Page, Window, keyset_pages_by
from makesense_api.kit.schemas import null_errors, parse, raise_if
from makesense_api.oauth.models import ClientType, OAuthClient
from makesense_api.oauth.rules import (
    grant_errors,
    hash_secret,
    redirect_errors,
    scope_errors,
)
from makesense_api.oauth.schemas import ClientCreate, ClientUpdate, ClientView, CreatedClient
from makesense_api.partners import service as partners
from makesense_api.partners.models import PartnerOrganisation
from makesense_api.tokens.models import AccessToken

CLIENT_ID_PREFIX = "msc_"
SECRET_PREFIX = "msk_cs_"  # noqa: S105 - lets secret scanners spot leaked secrets


def _view(row: OAuthClient) -> ClientView:
    return ClientView(
        id=row.id,
        client_id=row.client_id,
        name=row.name,
        client_type=row.client_type,
        chapter_id=row.chapter_id,
        partner_id=row.partner_id,
        redirect_uris=list(row.redirect_uris),
        grant_types=list(row.grant_types),
        scopes=list(row.scopes),
        reach=None if row.reach is None else [uuid.UUID(c) for c in row.reach],
        secret_rotated_at=row.secret_rotated_at,
        previous_secret_expires_at=row.previous_secret_expires_at,
        revoked_at=row.revoked_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _reach(
    ctx: Ctx,
    owner_chapter_id: uuid.UUID | None,
    wanted: list[uuid.UUID] | None,
    errors: list[FieldError],
) -> list[uuid.UUID] | None:
    """The client's reach: visible chapters, inside the owning chapter's subtree if any."""
    if wanted is None:
        return None if owner_chapter_id is None else [owner_chapter_id]
    for i, chapter_id in enumerate(wanted):
        try:
            await chapters.load_visible(ctx, chapter_id)
        except NotFound:
            errors.append(FieldError(f"reach.{i}", "no such chapter"))
    if owner_chapter_id is not None and wanted:
        inside = select(ChapterClosure.descendant_id).where(
            ChapterClosure.ancestor_id == owner_chapter_id,
            col(ChapterClosure.descendant_id).in_(wanted),
        )
        found = set((await ctx.session.exec(inside)).all())
        errors.extend(
            FieldError(f"reach.{i}", "outside the owning chapter's subtree")
            for i, c in enumerate(wanted)
            if c not in found
        )
    return sorted(set(wanted))


# -- authorization ------------------------------------------------------------------------


async def _require_owner_admin(ctx: Ctx, data: ClientCreate) -> None:
    if (data.chapter_id is None) == (data.partner_id is None):
        raise ValidationFailed.on("chapter_id", "give exactly one of chapter_id and partner_id")
    if data.chapter_id is not None:
        chapter = await chapters.load_visible(ctx, data.chapter_id)
        await ctx.authz.require(CHAPTER_MANAGE, chapter.id)
        return
    await partners.require_network_admin(ctx)
    partner = await ctx.session.get(PartnerOrganisation, data.partner_id)
    if partner is None or not partner.active:
        raise ValidationFailed.on("partner_id", "no such active partner")


async def _can_manage(ctx: Ctx, row: OAuthClient) -> bool:
    if row.chapter_id is not None:
        return await ctx.authz.can(CHAPTER_MANAGE, row.chapter_id)
    return await partners.is_network_admin(ctx)


async def _load_managed(ctx: Ctx, client_pk: uuid.UUID) -> OAuthClient:
    """The client if the caller manages it; NotFound otherwise (it is invisible to them)."""
    ctx.authz.require_scope(CHAPTER_MANAGE.scope)
    row = await ctx.session.get(OAuthClient, client_pk, populate_existing=True)
    if row is None or not await _can_manage(ctx, row):
        raise NotFound("oauth client", client_pk)
    return row


# -- use-cases ----------------------------------------------------------------------------


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


async def create(ctx: Ctx, data: ClientCreate | dict[str, Any]) -> CreatedClient:
    """Register a client; a confidential client's secret is returned here only."""
    data = parse(ClientCreate, data)
    async with use_case(ctx.session):
        await _require_owner_admin(ctx, data)
        grants = set(data.grant_types)
        uris = list(dict.fromkeys(data.redirect_uris))
        errors = [
            *grant_errors(data.client_type, data.partner_id is not None, data.grant_types),
            *redirect_errors(uris, data.client_type, grants),
            *scope_errors(data.scopes, grants),
        ]
        reach = await _reach(ctx, data.chapter_id, data.reach, errors)
        raise_if(list(errors))
        confidential = data.client_type == ClientType.CONFIDENTIAL.value
        secret = _new_secret() if confidential else None
        row = OAuthClient(
            client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(18),
            secret_hash=None if secret is None else hash_secret(secret),
            name=data.name,
            client_type=data.client_type,
            chapter_id=data.chapter_id,
            partner_id=data.partner_id,
            redirect_uris=uris,
            grant_types=sorted(grants),
            scopes=sorted(set(data.scopes)),
            reach=None if reach is None else [str(c) for c in reach],
        )
        ctx.session.add(row)
    return CreatedClient(view=_view(row), client_secret=secret)


async def get(ctx: Ctx, client_pk: uuid.UUID) -> ClientView:
    """One client, for its managers."""
    return _view(await _load_managed(ctx, client_pk))


async def list_clients(
    ctx: Ctx,
    *,
    chapter_id: uuid.UUID | None = None,
    partner_id: uuid.UUID | None = None,
    include_revoked: bool = False,
) -> list[ClientView]:
    """The clients of one chapter (its admins) or one partner (network admins), oldest first."""
    if (chapter_id is None) == (partner_id is None):
        raise ValidationFailed.on("chapter_id", "give exactly one of chapter_id and partner_id")
    stmt = select(OAuthClient)
    if chapter_id is not None:
        chapter = await chapters.load_visible(ctx, chapter_id)
        await ctx.authz.require(CHAPTER_MANAGE, chapter.id)
        stmt = stmt.where(OAuthClient.chapter_id == chapter.id)
    else:
        await partners.require_network_admin(ctx)
        stmt = stmt.where(OAuthClient.partner_id == partner_id)
    if not include_revoked:
        stmt = stmt.where(col(OAuthClient.revoked_at).is_(None))
    stmt = stmt.order_by(col(OAuthClient.created_at), col(OAuthClient.id))
    rows = (await ctx.session.exec(stmt.execution_options(populate_existing=True))).all()
    return [_view(row) for row in rows]


async def update(
    ctx: Ctx, client_pk: uuid.UUID, data: ClientUpdate | dict[str, Any]
) -> ClientView:
    """Rename a client or replace its redirect URIs, grant types, scopes or reach (managers).

    The rules are checked on the client as it would be after the change, so a change that
    leaves the registration inconsistent (say, dropping `refresh_token` but keeping
    `offline_access`) is refused as a whole.
    """
    data = parse(ClientUpdate, data)
    async with use_case(ctx.session):
        row = await _load_managed(ctx, client_pk)
        if row.revoked_at is not None:
            raise ValidationFailed.on("client", "the client is revoked")
        errors = null_errors(data, ("name", "redirect_uris", "grant_types", "scopes"))
        raise_if(list(errors))
        grant_types = row.grant_types if data.grant_types is None else data.grant_types
        uris = list(dict.fromkeys(row.redirect_uris if data.redirect_uris is None
                                  else data.redirect_uris))
        scopes = row.scopes if data.scopes is None else data.scopes
        grants = set(grant_types)
        if data.grant_types is not None:
            errors += grant_errors(row.client_type, row.partner_id is not None, grant_types)
        if data.grant_types is not None or data.redirect_uris is not None:
            errors += redirect_errors(uris, row.client_type, grants)
        if data.grant_types is not None or data.scopes is not None:
            errors += scope_errors(scopes, grants)
        reach = None
        if "reach" in data.model_fields_set:
            reach = await _reach(ctx, row.chapter_id, data.reach, errors)
        raise_if(list(errors))
        row.redirect_uris = uris
        row.grant_types = sorted(grants)
        row.scopes = sorted(set(scopes))
        if data.name is not None:
            row.name = data.name
        if "reach" in data.model_fields_set:
            row.reach = None if reach is None else [str(c) for c in reach]
        ctx.session.add(row)
    await ctx.session.refresh(row)
    return _view(row)


async def rotate_secret(
    ctx: Ctx, client_pk: uuid.UUID, grace: timedelta | None = None
) -> CreatedClient:
    """Replace a confidential client's secret; the old one keeps working for `grace`
    (default: the configured rotation grace), then stops."""
    if grace is None:
        grace = timedelta(seconds=get_settings().oauth_secret_rotation_grace_s)
    async with use_case(ctx.session):
        row = await _load_managed(ctx, client_pk)
        if row.client_type != ClientType.CONFIDENTIAL or row.revoked_at is not None:
            raise ValidationFailed.on("client", "only a live confidential client has a secret")
        secret = _new_secret()
        now = utcnow()
        keep = grace > timedelta(0)
        row.previous_secret_hash = row.secret_hash if keep else None
        row.previous_secret_expires_at = now + grace if keep else None
        row.secret_hash = hash_secret(secret)
        row.secret_rotated_at = now
        ctx.session.add(row)
    await ctx.session.refresh(row)
    return CreatedClient(view=_view(row), client_secret=secret)


async def _revoke_tokens(ctx: Ctx, row: OAuthClient, now: datetime) -> None:
    await ctx.session.exec(
        sa.update(AccessToken)
        .where(
            col(AccessToken.client_id) == row.client_id,
            col(AccessToken.revoked_at).is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def revoke(ctx: Ctx, client_pk: uuid.UUID) -> ClientView:
    """Retire a client and every live token issued to it; revoking twice changes nothing."""
    async with use_case(ctx.session):
        row = await _load_managed(ctx, client_pk)
        if row.revoked_at is None:
            now = utcnow()
            row.revoked_at = now
            ctx.session.add(row)
            await _revoke_tokens(ctx, row, now)
    await ctx.session.refresh(row)
    return _view(row)


async def delete(ctx: Ctx, client_pk: uuid.UUID) -> None:
    """Remove a client for good (its managers): its live tokens are revoked, and its codes and
    remembered consents go with it."""
    async with use_case(ctx.session):
        row = await _load_managed(ctx, client_pk)
        await _revoke_tokens(ctx, row, utcnow())
        await ctx.session.delete(row)


# -- batches for GraphQL --------------------------------------------------------------------


async def get_many(ctx: Ctx, client_pks: list[uuid.UUID]) -> dict[uuid.UUID, ClientView]:
    """The clients among `client_pks` that the caller manages, in a constant number of queries."""
    if not client_pks or not ctx.principal.has_scope(CHAPTER_MANAGE.scope):
        return {}
    stmt = select(OAuthClient).where(col(OAuthClient.id).in_(client_pks))
    rows = (await ctx.session.exec(stmt.execution_options(populate_existing=True))).all()
    owners = {r.chapter_id for r in rows if r.chapter_id is not None}
    managed = await ctx.authz.chapters_allowing(CHAPTER_MANAGE, owners)
    network = any(r.partner_id for r in rows) and await partners.is_network_admin(ctx)

    def manages(row: OAuthClient) -> bool:
        return row.chapter_id in managed if row.chapter_id is not None else network

    return {r.id: _view(r) for r in rows if manages(r)}


async def _pages(
    ctx: Ctx, owner: Any, owner_ids: list[uuid.UUID], window: Window
) -> dict[uuid.UUID, Page[ClientView]]:
    stmt = select(OAuthClient).where(col(OAuthClient.revoked_at).is_(None))
    order = [col(OAuthClient.created_at), col(OAuthClient.id)]
    pages = await keyset_pages_by(
        ctx.session, OAuthClient, stmt, owner, owner_ids, order,
        lambda r: [r.created_at, r.id], window,
    )
    return {k: p.replace([_view(r) for r in p.items]) for k, p in pages.items()}


async def pages_of_chapters(
    ctx: Ctx, chapter_ids: list[uuid.UUID], window: Window
) -> dict[uuid.UUID, Page[ClientView]]:
    """Each chapter's live clients, oldest first; empty where the caller is not an admin."""
    allowed = await ctx.authz.chapters_allowing(CHAPTER_MANAGE, set(chapter_ids))
    pages = await _pages(ctx, col(OAuthClient.chapter_id), sorted(allowed), window)
    return {c: pages.get(c, Page([], False, None)) for c in chapter_ids}


async def pages_of_partners(
    ctx: Ctx, partner_ids: list[uuid.UUID], window: Window
) -> dict[uuid.UUID, Page[ClientView]]:
    """Each partner's live clients, oldest first; empty unless the caller is a network admin."""
    allowed = partner_ids if await partners.is_network_admin(ctx) else []
    pages = await _pages(ctx, col(OAuthClient.partner_id), allowed, window)
    return {p: pages.get(p, Page([], False, None)) for p in partner_ids}
