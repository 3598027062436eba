"""Per-request batch loaders: one query per kind of object and per nesting level.

Loaders live in the request's `GraphQLContext`, so their caches never cross callers. Each one
calls a service batch function, so the authorization of a batch is the authorization of a get.
"""

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

__all__ = ["DataLoader", "Page", "Window", "by_id", "pages_by_id"]

from makesense_api.context import Ctx
from makesense_api.graphql.context import GraphQLContext
from makesense_api.kit.pagination import Page, Window

V = TypeVar("V")
K = TypeVar("K", bound=Hashable)

ByIds = Callable[[Ctx, list[uuid.UUID]], Awaitable[dict[uuid.UUID, V]]]
PagesByIds = Callable[[Ctx, list[uuid.UUID], Window], Awaitable[dict[uuid.UUID, Page[V]]]]


def by_id(gctx: GraphQLContext, name: str, fetch: ByIds[V]) -> DataLoader[uuid.UUID, V | None]:
    """Objects by id; an object the caller may not see loads as None."""
    loader = gctx.loaders.get(name)  # resolvers ask once per object: keep this path short
    if loader is None:
        loader = gctx.loaders[name] = DataLoader(load_fn=_by_id_batch(gctx.ctx, fetch))
    return loader


def _by_id_batch(
    ctx: Ctx, fetch: ByIds[V]
) -> Callable[[Sequence[uuid.UUID]], Awaitable[list[V | None]]]:
    # The batch function holds the service context, not the GraphQL context that holds the
    # loader: no reference cycle, so a request's loaders and their caches are freed with it.
    async def load(ids: Sequence[uuid.UUID]) -> list[V | None]:
        found = await fetch(ctx, list(ids))
        return [found.get(i) for i in ids]

    return load


def pages_by_id(
    gctx: GraphQLContext, name: str, fetch: PagesByIds[V]
) -> DataLoader[tuple[uuid.UUID, Window], Page[V]]:
    """First pages of a nested list for many parents; one query per distinct window."""
    loader = gctx.loaders.get(name)
    if loader is None:
        loader = gctx.loaders[name] = DataLoader(load_fn=_pages_batch(gctx.ctx, fetch))
    return loader


def _pages_batch(
    ctx: Ctx, fetch: PagesByIds[V]
) -> Callable[[Sequence[tuple[uuid.UUID, Window]]], Awaitable[list[Page[V]]]]:
    async def load(keys: Sequence[tuple[uuid.UUID, Window]]) -> list[Page[V]]:
        by_window: dict[Window, list[uuid.UUID]] = defaultdict(list)
        for parent, window in keys:
            by_window[window].append(parent)
        pages: dict[tuple[uuid.UUID, Window], Page[V]] = {}
        for window, parents in by_window.items():
            for parent, page in (await fetch(ctx, parents, window)).items():
                pages[(parent, window)] = page
        return [pages[k] for k in keys]

    return load
