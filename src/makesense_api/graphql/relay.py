"""Relay plumbing: global IDs, the Node interface, cursor connections.

A global ID is `base64("<TypeName>:<uuid>")`: opaque to clients, and enough for `node(id:)` to
find the service that loads the object — with that service's authorization.
"""

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry

from makesense_api.kit.errors import ValidationFailed
from makesense_api.kit.pagination import Page, Window

T = TypeVar("T")
MAX_FIRST = 100


def to_global_id(type_name: str, raw: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{raw}".encode()).decode())


def from_global_id(value: str, field: str = "id") -> tuple[str, uuid.UUID]:
    """Split a global ID into its type name and UUID; anything malformed is a field error."""
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        type_name, _, raw = text.partition(":")
        if not type_name.isidentifier():
            raise ValueError(type_name)
        return type_name, uuid.UUID(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed.on(field, "not a valid global ID") from None


def expect_id(value: str, type_name: str, field: str = "id") -> uuid.UUID:
    """The UUID inside a global ID that must name `type_name`."""
    kind, raw = from_global_id(value, field)
    if kind != type_name:
        raise ValidationFailed.on(field, f"expected a {type_name} ID")
    return raw


@strawberry.interface(description="An object with a global ID, refetchable through `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="The object's global ID.")


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow `endCursor`.")
    has_previous_page: bool = strawberry.field(description="More items precede `startCursor`.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge.")


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Opaque position of this item.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, Relay style, with keyset cursors.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Pagination state.")
    count: strawberry.Private[Callable[[], Awaitable[int]] | None] = None

    @strawberry.field(description="Items in the whole list; computed only when asked.")
    async def total_count(self) -> int:
        if self.count is None:
            return len(self.edges)
        return await self.count()


def window(first: int | None, after: str | None, last: int | None, before: str | None) -> Window:
    """Validate Relay arguments: one of `first`/`last`, each 1–100; `first: 20` by default."""
    if first is not None and last is not None:
        raise ValidationFailed.on("last", "give `first` or `last`, not both")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 1 <= value <= MAX_FIRST:
            raise ValidationFailed.on(name, f"must be between 1 and {MAX_FIRST}")
    if first is None and last is None:
        first = 20
    return Window(first=first, after=after, last=last, before=before)


def connection(page: Page[T], count: Callable[[], Awaitable[int]] | None = None) -> Connection[T]:
    """Wrap a service page (already converted to GraphQL types) as a connection."""
    cursors = page.cursors or [""] * len(page.items)
    return Connection(
        edges=[Edge(cursor=c, node=n) for c, n in zip(cursors, page.items, strict=True)],
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.start_cursor,
            end_cursor=page.end_cursor,
        ),
        count=count,
    )
