"""Webhook endpoints: registration, changes, secret rotation, test pings and the delivery log.

Who manages an endpoint: for a chapter's endpoint, the chapter's admins (`WEBHOOKS_MANAGE`,
inherited down the tree); for a partner's endpoint, the partner itself through its own token
(`webhooks:write`). Reading needs `webhooks:read` on the same terms. Anyone else is told the
endpoint does not exist. The signing secret is returned by `create` and `rotate_secret` only.

An endpoint's payloads follow its owner's reads (see `webhooks.fanout`), bounded by the read
scopes of the token that registered it, so registering an endpoint never widens what its
owner sees.
"""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.policy import WEBHOOKS_MANAGE, WEBHOOKS_REVIEW, Permission
from makesense_api.authz.principal import Scope
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import ChapterClosure
from makesense_api.config import get_settings
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import Conflict, FieldError, NotFound, ValidationFailed
from makesense_api.kit.ids import new_id
from makesense_api.kit.pagination import Cursor, Page, Window, keyset_page, keyset_pages_by
from makesense_api.kit.schemas import null_errors, parse, raise_if
from makesense_api.webhooks import catalog, secrets, ssrf
from makesense_api.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from makesense_api.webhooks.schemas import (
    AttemptView,
    CreatedEndpoint,
    DeliveryView,
    EndpointCreate,
    EndpointUpdate,
    EndpointView,
    SecretRotation,
)

READ_SCOPES = tuple(s.value for s in Scope if s.value.endswith(":read"))


def view(row: WebhookEndpoint) -> EndpointView:
    return EndpointView(
        id=row.id,
        url=row.url,
        description=row.description,
        event_types=list(row.event_types),
        chapter_id=row.chapter_id,
        partner_id=row.partner_id,
        subtree_id=row.subtree_id,
        enabled=row.disabled_at is None,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        previous_secret_expires_at=row.previous_secret_expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def reads_bodies(ctx: Ctx, endpoint_scopes: list[str]) -> bool:
    """Whether the caller may read the payloads of an endpoint: they were read with the
    registering token's scopes, so the caller must hold every one of them too."""
    return all(ctx.principal.has_scope(s) for s in endpoint_scopes)


def delivery_view(row: WebhookDelivery, with_body: bool = True) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        endpoint_id=row.endpoint_id,
        msg_id=row.msg_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        completed_at=row.completed_at,
        created_at=row.created_at,
        body=row.body if with_body else None,
    )


def attempt_view(row: WebhookAttempt) -> AttemptView:
    return AttemptView(
        id=row.id,
        delivery_id=row.delivery_id,
        number=row.number,
        started_at=row.started_at,
        status_code=row.status_code,
        succeeded=row.succeeded,
        latency_ms=row.latency_ms,
        error=row.error,
        response_excerpt=row.response_excerpt,
    )


# -- authorization ------------------------------------------------------------------------


def visible_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """Endpoints the caller may read: its chapters' (admins) and its own (a partner)."""
    if ctx.principal.is_system:
        return sa.true()
    seen: list[sa.ColumnElement[bool]] = []
    chapters_read = ctx.authz.chapters_where(WEBHOOKS_REVIEW)
    if chapters_read is not None:
        seen.append(col(WebhookEndpoint.chapter_id).in_(chapters_read))
    partner_id = ctx.principal.partner_id
    if ctx.authz.acts_for_partner(partner_id, Scope.WEBHOOKS_READ):
        seen.append(col(WebhookEndpoint.partner_id) == partner_id)
    return sa.or_(*seen) if seen else sa.false()


async def _may(ctx: Ctx, row: WebhookEndpoint, permission: Permission) -> bool:
    if row.chapter_id is not None:
        return await ctx.authz.can(permission, row.chapter_id)
    return ctx.authz.acts_for_partner(row.partner_id, permission.scope)


async def _load(ctx: Ctx, endpoint_id: uuid.UUID, permission: Permission) -> WebhookEndpoint:
    """The endpoint if the caller may read it, and do `permission` on it; else NotFound or
    the precise denial."""
    ctx.authz.require_scope(WEBHOOKS_REVIEW.scope)
    row = await ctx.session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    if row is None or not await _may(ctx, row, WEBHOOKS_REVIEW):
        raise NotFound("webhook endpoint", endpoint_id)
    if permission is not WEBHOOKS_REVIEW:
        ctx.authz.require_scope(permission.scope)
        if not await _may(ctx, row, permission):
            raise NotFound("webhook endpoint", endpoint_id)
    return row


# -- checks -------------------------------------------------------------------------------


def type_errors(types: list[str]) -> list[FieldError]:
    return [
        FieldError(f"event_types.{i}", f"unknown event type {t!r}")
        for i, t in enumerate(types)
        if t not in catalog.EVENT_TYPES
    ]


async def url_error(url: str) -> FieldError | None:
    """Why the URL may not be registered (see `webhooks.ssrf`), or None."""
    settings = get_settings()
    try:
        httpx.URL(url)  # what the dispatcher sends to must parse
    except (httpx.InvalidURL, ValueError) as exc:
        return FieldError("url", f"not a URL that can be called: {exc}")
    try:
        scheme, _, _ = ssrf.parse(url)
        if settings.environment == "production" and scheme != "https":
            return FieldError("url", "must be an https URL")
        await ssrf.resolve(url, settings.webhooks_allow_loopback)
    except ssrf.UnsafeUrl as exc:
        return FieldError("url", str(exc))
    return None


async def _subtree_error(
    ctx: Ctx, subtree_id: uuid.UUID, owner_chapter: uuid.UUID | None
) -> FieldError | None:
    try:
        await chapters.load_visible(ctx, subtree_id)
    except NotFound:
        return FieldError("subtree_id", "no such chapter")
    if owner_chapter is None:
        return None
    inside = select(sa.func.count()).where(
        ChapterClosure.ancestor_id == owner_chapter, ChapterClosure.descendant_id == subtree_id
    )
    if (await ctx.session.exec(inside)).one() == 0:
        return FieldError("subtree_id", "outside the owning chapter's subtree")
    return None


async def _owner(ctx: Ctx, data: EndpointCreate) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """(chapter_id, partner_id) of a new endpoint, once the caller may register it."""
    ctx.authz.require_scope(Scope.WEBHOOKS_WRITE)
    if data.chapter_id is not None:
        chapter = await chapters.load_visible(ctx, data.chapter_id)
        await ctx.authz.require(WEBHOOKS_MANAGE, chapter.id)
        return chapter.id, None
    partner_id = ctx.principal.partner_id
    if partner_id is None:
        raise ValidationFailed.on("chapter_id", "name the chapter that owns the endpoint")
    return None, partner_id


# -- use-cases ----------------------------------------------------------------------------


async def create(ctx: Ctx, data: EndpointCreate | dict[str, Any]) -> CreatedEndpoint:
    """Register an endpoint; its signing secret is returned here only."""
    data = parse(EndpointCreate, data)
    async with use_case(ctx.session):
        chapter_id, partner_id = await _owner(ctx, data)
        errors = [*type_errors(data.event_types), await url_error(data.url)]
        if data.subtree_id is not None:
            errors.append(await _subtree_error(ctx, data.subtree_id, chapter_id))
        raise_if(errors)
        secret = secrets.new_secret()
        row = WebhookEndpoint(
            chapter_id=chapter_id,
            partner_id=partner_id,
            created_by_id=ctx.principal.person_id,
            url=data.url,
            description=data.description,
            event_types=sorted(set(data.event_types)),
            scopes=[s for s in READ_SCOPES if ctx.principal.has_scope(s)],
            subtree_id=data.subtree_id,
            secret=secrets.seal(secret, get_settings().webhooks_secret_key),
        )
        ctx.session.add(row)
    return CreatedEndpoint(view(row), secret)


async def get(ctx: Ctx, endpoint_id: uuid.UUID) -> EndpointView:
    """One endpoint, for those who may read it."""
    return view(await _load(ctx, endpoint_id, WEBHOOKS_REVIEW))


async def get_many(ctx: Ctx, endpoint_ids: list[uuid.UUID]) -> dict[uuid.UUID, EndpointView]:
    """The readable ones among `endpoint_ids`, in one query (batch loaders)."""
    if not endpoint_ids or not ctx.principal.has_scope(Scope.WEBHOOKS_READ):
        return {}
    stmt = select(WebhookEndpoint).where(
        col(WebhookEndpoint.id).in_(endpoint_ids), visible_clause(ctx)
    )
    return {row.id: view(row) for row in (await ctx.session.exec(stmt)).all()}


async def list_endpoints(
    ctx: Ctx, chapter_id: uuid.UUID | None = None, after: Cursor = None, limit: int = 20
) -> Page[EndpointView]:
    """Endpoints the caller may read, oldest first; optionally those of one chapter."""
    ctx.authz.require_scope(Scope.WEBHOOKS_READ)
    stmt = select(WebhookEndpoint).where(visible_clause(ctx))
    if chapter_id is not None:
        stmt = stmt.where(WebhookEndpoint.chapter_id == chapter_id)
    page = await keyset_page(
        ctx.session, stmt, [col(WebhookEndpoint.id)], lambda r: [r.id], after, limit
    )
    return page.replace([view(r) for r in page.items])


async def update(
    ctx: Ctx, endpoint_id: uuid.UUID, data: EndpointUpdate | dict[str, Any]
) -> EndpointView:
    """Change an endpoint's URL, event types, subtree or description; pause or resume it."""
    data = parse(EndpointUpdate, data)
    async with use_case(ctx.session):
        row = await _load(ctx, endpoint_id, WEBHOOKS_MANAGE)
        errors: list[FieldError | None] = [*null_errors(data, ("url", "event_types", "enabled"))]
        if data.event_types is not None:
            errors += type_errors(data.event_types)
        if data.url is not None:
            errors.append(await url_error(data.url))
        if data.subtree_id is not None:
            errors.append(await _subtree_error(ctx, data.subtree_id, row.chapter_id))
        raise_if(errors)
        if data.url is not None or data.event_types is not None:
            # Payloads go somewhere new, or say more: never with scopes the caller lacks.
            row.scopes = [s for s in row.scopes if ctx.principal.has_scope(s)]
        if data.url is not None:
            row.url = data.url
        if data.event_types is not None:
            row.event_types = sorted(set(data.event_types))
        for name in ("subtree_id", "description"):
            if name in data.model_fields_set:
                setattr(row, name, getattr(data, name))
        if data.enabled is True:
            row.disabled_at, row.disabled_reason = None, None
        elif data.enabled is False and row.disabled_at is None:
            row.disabled_at, row.disabled_reason = utcnow(), "paused by its owner"
        ctx.session.add(row)
    await ctx.session.refresh(row)
    return view(row)


async def delete(ctx: Ctx, endpoint_id: uuid.UUID) -> None:
    """Remove an endpoint with its deliveries and their log."""
    async with use_case(ctx.session):
        row = await _load(ctx, endpoint_id, WEBHOOKS_MANAGE)
        await ctx.session.delete(row)


async def rotate_secret(
    ctx: Ctx, endpoint_id: uuid.UUID, data: SecretRotation | dict[str, Any] | None = None
) -> CreatedEndpoint:
    """Replace the signing secret; the previous one keeps signing beside it for the overlap."""
    data = parse(SecretRotation, data if data is not None else {})
    key = get_settings().webhooks_secret_key
    async with use_case(ctx.session):
        row = await _load(ctx, endpoint_id, WEBHOOKS_MANAGE)
        secret = secrets.new_secret()
        if data.overlap_s > 0:
            current = secrets.unseal(row.secret, key)
            row.previous_secret = secrets.seal(current, key)
            row.previous_secret_expires_at = utcnow() + timedelta(seconds=data.overlap_s)
        else:
            row.previous_secret, row.previous_secret_expires_at = None, None
        row.secret = secrets.seal(secret, key)
        ctx.session.add(row)
    await ctx.session.refresh(row)
    return CreatedEndpoint(view(row), secret)


def new_delivery(
    endpoint_id: uuid.UUID, type_: str, body: str, domain_event_id: uuid.UUID | None
) -> WebhookDelivery:
    """A delivery due now; its id gives the stable `webhook-id`."""
    delivery_id = new_id()
    return WebhookDelivery(
        id=delivery_id,
        endpoint_id=endpoint_id,
        domain_event_id=domain_event_id,
        msg_id=f"msg_{delivery_id.hex}",
        event_type=type_,
        body=body,
        next_attempt_at=utcnow(),
    )


async def ping(ctx: Ctx, endpoint_id: uuid.UUID) -> DeliveryView:
    """Queue a `webhook.ping` message to the endpoint, delivered like any other."""
    async with use_case(ctx.session):
        row = await _load(ctx, endpoint_id, WEBHOOKS_MANAGE)
        if row.disabled_at is not None:
            raise Conflict("the endpoint is disabled: enable it first")
        data = {"endpoint_id": str(row.id), "message": "ping from makesense"}
        body = orjson.dumps(catalog.envelope(catalog.PING, utcnow(), data)).decode()
        delivery = new_delivery(row.id, catalog.PING, body, None)
        ctx.session.add(delivery)
    return delivery_view(delivery)


async def _load_delivery(
    ctx: Ctx, delivery_id: uuid.UUID, permission: Permission
) -> tuple[WebhookDelivery, WebhookEndpoint]:
    ctx.authz.require_scope(WEBHOOKS_REVIEW.scope)
    delivery = await ctx.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None:
        raise NotFound("webhook delivery", delivery_id)
    try:
        endpoint = await _load(ctx, delivery.endpoint_id, permission)
    except NotFound:
        raise NotFound("webhook delivery", delivery_id) from None
    return delivery, endpoint


async def get_delivery(ctx: Ctx, delivery_id: uuid.UUID) -> DeliveryView:
    """One delivery, for those who may read its endpoint (its body only for callers holding
    the scopes it was read with)."""
    delivery, endpoint = await _load_delivery(ctx, delivery_id, WEBHOOKS_REVIEW)
    return delivery_view(delivery, reads_bodies(ctx, endpoint.scopes))


async def redeliver(ctx: Ctx, delivery_id: uuid.UUID) -> DeliveryView:
    """Send a delivery again now, with the same `webhook-id`, whatever its state."""
    async with use_case(ctx.session):
        delivery, endpoint = await _load_delivery(ctx, delivery_id, WEBHOOKS_MANAGE)
        delivery.status = DeliveryStatus.PENDING.value
        delivery.next_attempt_at = utcnow()
        delivery.completed_at = None
        ctx.session.add(delivery)
    return delivery_view(delivery, reads_bodies(ctx, endpoint.scopes))


def _status(status: str | None) -> list[sa.ColumnElement[bool]]:
    if status is None:
        return []
    if status not in {s.value for s in DeliveryStatus}:
        raise ValidationFailed.on("status", "must be pending, succeeded or failed")
    return [col(WebhookDelivery.status) == status]


async def list_deliveries(
    ctx: Ctx,
    endpoint_id: uuid.UUID,
    status: str | None = None,
    after: Cursor = None,
    limit: int = 20,
) -> Page[DeliveryView]:
    """An endpoint's deliveries, oldest first."""
    endpoint = await _load(ctx, endpoint_id, WEBHOOKS_REVIEW)
    with_body = reads_bodies(ctx, endpoint.scopes)
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id, *_status(status)
    )
    order = [col(WebhookDelivery.created_at), col(WebhookDelivery.id)]
    page = await keyset_page(
        ctx.session, stmt, order, lambda r: [r.created_at, r.id], after, limit
    )
    return page.replace([delivery_view(r, with_body) for r in page.items])


async def pages_for_endpoints(
    ctx: Ctx, endpoint_ids: list[uuid.UUID], window: Window, status: str | None = None
) -> dict[uuid.UUID, Page[DeliveryView]]:
    """The first page of deliveries of each readable endpoint, in one query (nested lists)."""
    readable = list(await get_many(ctx, endpoint_ids))
    scopes_of: dict[uuid.UUID, list[str]] = {}
    if readable:
        rows = select(WebhookEndpoint.id, WebhookEndpoint.scopes).where(
            col(WebhookEndpoint.id).in_(readable)
        )
        scopes_of = {i: list(s) for i, s in (await ctx.session.exec(rows)).all()}
    stmt = select(WebhookDelivery).where(*_status(status))
    pages = await keyset_pages_by(
        ctx.session, WebhookDelivery, stmt, col(WebhookDelivery.endpoint_id), readable,
        [col(WebhookDelivery.created_at), col(WebhookDelivery.id)],
        lambda r: [r.created_at, r.id], window,
    )
    empty: Page[DeliveryView] = Page([], False, None)
    return {
        e: pages[e].replace(
            [delivery_view(r, reads_bodies(ctx, scopes_of[e])) for r in pages[e].items]
        )
        if e in pages
        else empty
        for e in endpoint_ids
    }


async def attempts_for(
    ctx: Ctx, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[AttemptView]]:
    """The attempts of each readable delivery, in order, in one query."""
    if not delivery_ids:
        return {}
    stmt = (
        select(WebhookAttempt)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == WebhookAttempt.endpoint_id)
        .where(col(WebhookAttempt.delivery_id).in_(delivery_ids), visible_clause(ctx))
        .order_by(col(WebhookAttempt.delivery_id), col(WebhookAttempt.number))
    )
    found: dict[uuid.UUID, list[AttemptView]] = {d: [] for d in delivery_ids}
    if not ctx.principal.has_scope(Scope.WEBHOOKS_READ):
        return found
    for row in (await ctx.session.exec(stmt)).all():
        found[row.delivery_id].append(attempt_view(row))
    return found


async def list_attempts(ctx: Ctx, delivery_id: uuid.UUID) -> list[AttemptView]:
    """The attempts of one delivery, in order (the delivery log)."""
    await _load_delivery(ctx, delivery_id, WEBHOOKS_REVIEW)
    return (await attempts_for(ctx, [delivery_id]))[delivery_id]
