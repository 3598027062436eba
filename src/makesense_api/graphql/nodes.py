"""`node(id:)`: which loader refetches each type, so refetching keeps its authorization."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import Node, from_global_id

# type name → (info, raw id) → the object, or None when invisible
Resolver = Callable[[Info, uuid.UUID], Awaitable[Node | None]]
_RESOLVERS: dict[str, Resolver] = {}


def register(type_name: str) -> Callable[[Resolver], Resolver]:
    def wrap(fn: Resolver) -> Resolver:
        _RESOLVERS[type_name] = fn
        return fn

    return wrap


async def resolve(info: Info, global_id: str) -> Node | None:
    """The object behind a global ID, or None when unknown, malformed or not visible."""
    try:
        type_name, raw = from_global_id(global_id)
    except Exception:  # a malformed ID names nothing
        return None
    resolver = _RESOLVERS.get(type_name)
    return await resolver(info, raw) if resolver else None


def registered() -> dict[str, Any]:
    return dict(_RESOLVERS)
