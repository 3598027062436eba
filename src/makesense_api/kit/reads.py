"""Reads of one entity through its single visibility rule: by id, by slug, in batches.

Each domain declares one `Reader` with its table, its visibility clause and its view builder;
`get`, `get_by_slug`, `get_many` (for batch loaders), `load` (the row, for writes), `count` and
`changes_since` (the change feed) then share that one rule, so no read path can forget it.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.context import Ctx
from makesense_api.feeds.changes import Gone, Source, changes_since
from makesense_api.kit.errors import NotFound
from makesense_api.kit.pagination import Cursor, Page

M = TypeVar("M")
V = TypeVar("V")


class Reader(Generic[M, V]):
    def __init__(
        self,
        model: type[M],
        kind: str,
        visible: Callable[[Ctx], sa.ColumnElement[bool]],
        views: Callable[[Ctx, list[M]], Awaitable[list[V]]],
    ) -> None:
        self.model = model
        self.kind = kind
        self.visible = visible
        self.views = views

    def _column(self, name: str) -> Any:
        return col(getattr(self.model, name))

    async def load(self, ctx: Ctx, object_id: uuid.UUID) -> M:
        """The row if the caller may see it, else NotFound."""
        stmt = select(self.model).where(self._column("id") == object_id, self.visible(ctx))
        row = (await ctx.session.exec(stmt)).first()
        if row is None:
            raise NotFound(self.kind, object_id)
        return row

    async def get(self, ctx: Ctx, object_id: uuid.UUID) -> V:
        """One read model by id."""
        return (await self.views(ctx, [await self.load(ctx, object_id)]))[0]

    async def get_by_slug(self, ctx: Ctx, slug: str) -> V:
        """One read model by slug."""
        stmt = select(self.model).where(self._column("slug") == slug, self.visible(ctx))
        row = (await ctx.session.exec(stmt)).first()
        if row is None:
            raise NotFound(self.kind, slug)
        return (await self.views(ctx, [row]))[0]

    async def count(self, ctx: Ctx, *clauses: sa.ColumnElement[bool]) -> int:
        """How many visible rows match `clauses` (for `totalCount`)."""
        stmt = select(sa.func.count()).select_from(self.model).where(self.visible(ctx), *clauses)
        return (await ctx.session.exec(stmt)).one()

    async def get_many(self, ctx: Ctx, object_ids: list[uuid.UUID]) -> dict[uuid.UUID, V]:
        """The visible ones among `object_ids`, in one query (for batch loaders)."""
        if not object_ids:
            return {}
        stmt = select(self.model).where(self._column("id").in_(object_ids), self.visible(ctx))
        views = await self.views(ctx, list((await ctx.session.exec(stmt)).all()))
        return {getattr(v, "id"): v for v in views}  # noqa: B009 - views are dataclasses

    async def changes_since(
        self,
        ctx: Ctx,
        hideable: sa.ColumnElement[bool],
        since: datetime,
        after: Cursor = None,
        limit: int = 20,
        signals: Sequence[Any] = (),
    ) -> Page[V | Gone]:
        """The change feed: visible rows changed after `since` as read models, oldest change
        first; rows that were `hideable` (seen by the caller before) but are no longer visible,
        and deleted ones (tombstones in the caller's reach), as `Gone`."""
        source = Source(
            self.model,
            self.kind,
            self.visible(ctx),
            hideable,
            ctx.authz.reach_chapters(),
            lambda ids: self.get_many(ctx, ids),
            signals,
        )
        return await changes_since(ctx, source, since, after, limit)
