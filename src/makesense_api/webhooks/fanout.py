"""From committed domain events to deliveries: one per matching endpoint whose owner may see
the subject.

Runs in the dispatcher, after commit, in its own transaction: it takes a batch of domain events
not fanned out yet (`webhooks_at IS NULL`; `FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
dispatchers share the queue; SQLite write transactions already run one at a time), makes the
deliveries and marks the events, all in one commit. A crash before that commit leaves the
events unmarked, and the next pass makes their deliveries; `(endpoint_id, domain_event_id)` is
unique, so a delivery is never made twice.

Visibility is the owner's, read through the subject's own service: a partner's endpoint reads
as the partner (its grants), a chapter's endpoint as the admin who registered it, both bounded
by the registering token's read scopes and by the endpoint's subtree (or the owning chapter's).
"""

import uuid
from collections import defaultdict

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.models import ChapterClosure
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.kit.models import DomainEvent
from makesense_api.webhooks import catalog
from makesense_api.webhooks.models import WebhookEndpoint
from makesense_api.webhooks.service import new_delivery


def owner_principal(endpoint: WebhookEndpoint) -> Principal:
    """Whose reads the endpoint's payloads follow."""
    scopes = frozenset(endpoint.scopes)
    root = endpoint.subtree_id or endpoint.chapter_id
    reach = None if root is None else frozenset({root})
    if endpoint.partner_id is not None:
        return Principal.partner(endpoint.partner_id, scopes, reach)
    if endpoint.created_by_id is not None:
        return Principal.person(endpoint.created_by_id, scopes, reach)
    return Principal(reach=reach)  # its admin is gone: public data only


async def _ancestors(
    session: AsyncSession, chapter_ids: set[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    stmt = select(ChapterClosure.descendant_id, ChapterClosure.ancestor_id).where(
        col(ChapterClosure.descendant_id).in_(chapter_ids)
    )
    found: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for descendant, ancestor in (await session.exec(stmt)).all():
        found[descendant].add(ancestor)
    return found


def _wants(
    endpoint: WebhookEndpoint, event: DomainEvent, ancestors: dict[uuid.UUID, set[uuid.UUID]]
) -> bool:
    if event.type not in endpoint.event_types or event.created_at < endpoint.created_at:
        return False
    root = endpoint.subtree_id or endpoint.chapter_id
    return root is None or (
        event.chapter_id is not None and root in ancestors.get(event.chapter_id, set())
    )


async def fan_out(session: AsyncSession, batch: int) -> int:
    """Make the deliveries of up to `batch` domain events; returns how many were processed.

    The caller owns the transaction (one per batch)."""
    stmt = (
        select(DomainEvent)
        .where(col(DomainEvent.webhooks_at).is_(None))
        .order_by(col(DomainEvent.id))
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    events = list((await session.exec(stmt)).all())
    if not events:
        return 0
    # Disabled endpoints get their deliveries too: they wait, and go out once it is enabled.
    endpoints = list((await session.exec(select(WebhookEndpoint))).all())
    wanted = {t for e in endpoints for t in e.event_types}
    chapter_ids = {e.chapter_id for e in events if e.chapter_id and e.type in wanted}
    ancestors = await _ancestors(session, chapter_ids) if chapter_ids else {}
    for endpoint in endpoints:
        matching = [e for e in events if _wants(endpoint, e, ancestors)]
        if not matching:
            continue
        ctx = Ctx.of(session, owner_principal(endpoint))
        for event in matching:
            data = await catalog.data_for(ctx, event.type, event.subject_id)
            if data is None:
                continue
            body = orjson.dumps(catalog.envelope(event.type, event.created_at, data)).decode()
            session.add(new_delivery(endpoint.id, event.type, body, event.id))
    now = utcnow()
    for event in events:
        event.webhooks_at = now
        session.add(event)
    await session.flush()
    return len(events)
