"""Change feeds: what changed in a collection since an instant, deletions included.

A client mirrors a collection with one paginated call: items that changed after `since` come
back as read models when the caller may see them, and as `Gone` marks when they were deleted
(`kit.models.Tombstone` rows) or changed into something the caller may no longer see (a chapter
closed, an event moved to members-only, a member removed from the chapter). Every change feed
is served by `changes_since`, whatever the collection:

    rows        the collection's rows whose `updated_at` is after `since`, when the caller sees
                them now or could have seen them before (`hideable`)
    signals     (id, at) pairs: items whose visibility may have changed at `at` without their
                own row changing (a membership added or removed, the caller's own role changed)
    tombstones  deletions and hidings of the collection's entity, within the caller's reach

The three sources are merged per item (its latest change wins) in one keyset order,
`(changed_at, id)`, so pages never skip nor repeat an item. Each item of a page is then read
through the collection's own batch read (`views`, which applies the visibility rule): what it
returns is live, anything else is `Gone`.

What may be marked gone is decided by each service (`hideable`, and which signals it sends):
only items the caller could have seen before, so a feed never reveals that a draft exists.

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

from makesense_api.chapters.models import Chapter, ChapterClosure
from makesense_api.context import Ctx
from makesense_api.kit.clock import as_utc
from makesense_api.kit.models import Tombstone
from makesense_api.kit.pagination import Cursor, Page, keyset_page
from makesense_api.people.models import Membership

# The tombstone entity marking a person hidden from a chapter's organizers (they left it).
PERSON_LEFT = "person"


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
    # Selects of `id` and `at` (already after `since`): items whose visibility may have changed.
    signals: Sequence[Any] = ()
    # Which tombstones of `entity` concern this collection (with the reach rule); None: all.
    tombstones: sa.ColumnElement[bool] | None = None


async def changes_since(
    ctx: Ctx, source: Source, since: datetime, after: Cursor, limit: int
) -> Page[Any]:
    """Items of `source` changed after `since`, oldest change first: views, or `Gone`."""
    since = as_utc(since)
    table = source.table
    rows: Any = select(
        col(table.id).label("id"), col(table.updated_at).label("at")
    ).where(col(table.updated_at) > since, sa.or_(source.visible, source.hideable))
    tombstones: Any = select(
        col(Tombstone.entity_id).label("id"), col(Tombstone.deleted_at).label("at")
    ).where(Tombstone.entity == source.entity, col(Tombstone.deleted_at) > since)
    if source.reach is not None:
        tombstones = tombstones.where(col(Tombstone.chapter_id).in_(source.reach))
    if source.tombstones is not None:
        tombstones = tombstones.where(source.tombstones)
    merged = sa.union_all(rows, tombstones, *source.signals).subquery("changes")
    latest = (
        select(merged.c.id.label("id"), sa.func.max(merged.c.at).label("at"))
        .group_by(merged.c.id)
        .subquery("latest")
    )
    stmt = select(latest.c.id, latest.c.at)
    page = await keyset_page(
        ctx.session, stmt, [latest.c.at, latest.c.id], lambda r: [r.at, r.id], after, limit
    )
    live = await source.views([r.id for r in page.items])
    return page.replace([live.get(r.id) or Gone(r.id, as_utc(r.at)) for r in page.items])


def roles_changed(ctx: Ctx, since: datetime) -> Any | None:
    """Chapters where the calling person's own role changed after `since`, with the instant
    and the role held since (0 when the membership ended): what they may see there may have
    changed. None for callers that are not a person."""
    me = ctx.principal.person_id
    if me is None:
        return None
    since = as_utc(since)
    changed: Any = select(
        col(Membership.chapter_id).label("chapter_id"),
        col(Membership.updated_at).label("at"),
        col(Membership.role).label("role"),
    ).where(Membership.person_id == me, col(Membership.updated_at) > since)
    left: Any = select(
        col(Tombstone.chapter_id).label("chapter_id"),
        col(Tombstone.deleted_at).label("at"),
        sa.literal(0).label("role"),
    ).where(
        Tombstone.entity == PERSON_LEFT,
        Tombstone.entity_id == me,
        col(Tombstone.deleted_at) > since,
    )
    return sa.union_all(changed, left).subquery("roles_changed")


def role_signals(
    ctx: Ctx,
    since: datetime,
    items: Any,
    item_id: Any,
    chapter_id: Any,
    seen: sa.ColumnElement[bool],
    below: int,
) -> list[Any]:
    """Signals for the items (`item_id` over the FROM clause `items`) whose chapter
    (`chapter_id`) lies under a chapter where the caller's role changed: those the caller
    sees now (`seen`), and all of them where the role fell `below` the one needed."""
    roles = roles_changed(ctx, since)
    if roles is None:
        return []
    joined = items.join(ChapterClosure, col(ChapterClosure.descendant_id) == chapter_id).join(
        roles, col(ChapterClosure.ancestor_id) == roles.c.chapter_id
    )
    stmt = (
        select(item_id.label("id"), roles.c.at.label("at"))
        .select_from(joined)
        .where(sa.or_(seen, roles.c.role < below))
    )
    return [stmt]


def chapter_changed(
    since: datetime, items: Any, item_id: Any, chapter_id: Any, seen: sa.ColumnElement[bool]
) -> Any:
    """Signals for the items (`item_id` over the FROM clause `items`, among those `seen`)
    whose chapter (`chapter_id`) changed after `since`: closed, reopened or moved, it may
    have taken them out of the caller's sight or brought them back."""
    chapter = sa.alias(Chapter.__table__)  # type: ignore[attr-defined]
    return (
        select(item_id.label("id"), chapter.c.updated_at.label("at"))
        .select_from(items.join(chapter, chapter.c.id == chapter_id))
        .where(chapter.c.updated_at > as_utc(since), seen)
    )


def any_of(clauses: Sequence[sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    return sa.or_(*clauses) if clauses else sa.false()
