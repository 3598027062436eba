"""Change feeds: what changed in a collection since an instant, deletions included.

A client mirrors a collection with one paginated call: rows whose `updated_at` is after `since`
come back as read models when the caller may see them, and as `Gone` marks when they changed
into something the caller may no longer see (a chapter closed, an event moved to members-only)
or were deleted (`kit.models.Tombstone` rows). Everything is in one keyset order,
`(changed_at, id)`, over a UNION of the two sources, so pages never skip nor repeat an item.

What may be marked gone is decided by each service (`hideable`): only rows the caller could
have seen before, so a feed never reveals that a draft exists.

Writers commit in their own order: a change committed late can carry an `updated_at` earlier
than one already read. Clients should start the next sync a little before the newest
`updated_at` they saw (a minute is plenty); items are full representations, so re-reading one
is harmless.
"""

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.context import Ctx
from makesense_api.kit.clock import as_utc
from makesense_api.kit.models import Tombstone
from makesense_api.kit.pagination import Cursor, Page, keyset_page


@dataclass(frozen=True)
class Gone:
    """An item the caller should drop: deleted, or no longer visible to them."""

    id: uuid.UUID
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class Source:
    """One collection's table and rules, as its service states them."""

    table: Any  # the SQLModel table class (with `id` and `updated_at`)
    entity: str  # the tombstone entity name
    visible: sa.ColumnElement[bool]  # the service's visibility filter for the caller
    hideable: sa.ColumnElement[bool]  # rows the caller could have seen before
    reach: Any  # chapter ids in the caller's reach (subquery), None: unrestricted
    views: Callable[[list[uuid.UUID]], Awaitable[Mapping[uuid.UUID, Any]]]  # batch of views


async def changes_since(
    ctx: Ctx, source: Source, since: datetime, after: Cursor, limit: int
) -> Page[Any]:
    """Items of `source` changed after `since`, oldest change first: views, or `Gone`."""
    since = as_utc(since)
    table = source.table
    rows: Any = select(
        col(table.id).label("id"),
        col(table.updated_at).label("at"),
        sa.case((source.visible, sa.true()), else_=sa.false()).label("live"),
    ).where(col(table.updated_at) > since, sa.or_(source.visible, source.hideable))
    tombstones: Any = select(
        col(Tombstone.entity_id).label("id"),
        col(Tombstone.deleted_at).label("at"),
        sa.false().label("live"),
    ).where(Tombstone.entity == source.entity, col(Tombstone.deleted_at) > since)
    if source.reach is not None:
        tombstones = tombstones.where(col(Tombstone.chapter_id).in_(source.reach))
    merged = sa.union_all(rows, tombstones).subquery("changes")
    stmt = select(merged.c.id, merged.c.at, merged.c.live)
    page = await keyset_page(
        ctx.session, stmt, [merged.c.at, merged.c.id], lambda r: [r.at, r.id], after, limit
    )
    live = await source.views([r.id for r in page.items if r.live])
    items: list[Any] = [
        live[r.id] if r.live and r.id in live else Gone(r.id, r.at)
        for r in page.items
    ]
    return page.replace(items)


def any_of(clauses: Sequence[sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    return sa.or_(*clauses) if clauses else sa.false()
