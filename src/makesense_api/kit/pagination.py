"""Keyset pagination: opaque cursors over a unique, ordered key; no OFFSET anywhere."""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import sqlalchemy as sa
import sqlalchemy.orm
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.kit.errors import ValidationFailed
from makesense_api.kit.types import AwareDateTime

T = TypeVar("T")
U = TypeVar("U")
MAX_PAGE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list, with a cursor per item (for Relay edges)."""

    items: list[T]
    has_next: bool
    end_cursor: str | None
    has_previous: bool = False
    start_cursor: str | None = None
    cursors: list[str] = field(default_factory=list)

    def replace(self, items: list[U]) -> "Page[U]":
        """The same page (cursors, flags) carrying other items, e.g. read models of the rows."""
        return Page(
            items,
            self.has_next,
            self.end_cursor,
            self.has_previous,
            self.start_cursor,
            self.cursors,
        )


@dataclass(frozen=True)
class Window:
    """A Relay-style page request: `first` after a cursor, or `last` before one."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


# What list services accept: a plain cursor (then `limit` applies) or a Relay window.
Cursor = str | Window | None


def encode_cursor(values: Sequence[Any]) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, uuid.UUID):
            return {"u": str(v)}
        if isinstance(v, datetime):
            return {"t": v.isoformat()}
        return v

    raw = orjson.dumps([plain(v) for v in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int, field: str = "after") -> list[Any]:
    """Decode a cursor made by `encode_cursor`; anything else is a field error."""

    def typed(v: Any) -> Any:
        if isinstance(v, dict) and "u" in v:
            return uuid.UUID(v["u"])
        if isinstance(v, dict) and "t" in v:
            return datetime.fromisoformat(v["t"])
        return v

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list) or len(values) != size:
            raise ValueError("wrong shape")
        return [typed(v) for v in values]
    except (ValueError, binascii.Error, TypeError, AttributeError, orjson.JSONDecodeError):
        raise ValidationFailed.on(field, "invalid cursor") from None


def _python_type(column: Any) -> type | None:
    column_type = column.type
    if isinstance(column_type, AwareDateTime):
        return datetime
    try:
        python_type: type = column_type.python_type
    except NotImplementedError:
        return None
    return python_type


def _fits(value: Any, column: Any) -> bool:
    """A cursor value must have its column's type (a tampered cursor must not reach SQL)."""
    expected = _python_type(column)
    if expected is None or value is None:
        return False
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return True
    if isinstance(value, bool) and expected is not bool:
        return False
    if isinstance(value, datetime) and value.tzinfo is None:
        return False
    return isinstance(value, expected)


def check_limit(limit: int, field: str = "limit") -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed.on(field, f"must be between 1 and {MAX_PAGE}")
    return limit


def _beyond(order: Sequence[Any], cursor: str, forward: bool, field: str) -> Any:
    values = decode_cursor(cursor, len(order), field)
    if not all(_fits(v, c) for v, c in zip(values, order, strict=True)):
        raise ValidationFailed.on(field, "invalid cursor")
    bound = sa.tuple_(*[sa.literal(v, type_=c.type) for v, c in zip(values, order, strict=True)])
    return sa.tuple_(*order) > bound if forward else sa.tuple_(*order) < bound


async def keyset_page(
    session: AsyncSession,
    stmt: Any,
    order: Sequence[Any],
    key: Callable[[Any], Sequence[Any]],
    after: Cursor,
    limit: int,
) -> Page[Any]:
    """Run `stmt` ordered by `order` (ascending, unique as a tuple) from a cursor.

    `after` is a cursor (then `limit` rows follow it) or a `Window` (Relay `first`/`after`
    or `last`/`before`). One extra row is fetched to learn whether more exist; no OFFSET.
    """
    window = after if isinstance(after, Window) else Window(first=limit, after=after)
    if window.first is not None and window.last is not None:
        raise ValidationFailed.on("last", "give `first` or `last`, not both")
    forward = window.last is None
    requested = window.first if forward else window.last
    size = check_limit(20 if requested is None else requested, "first" if forward else "last")
    if window.after is not None:
        stmt = stmt.where(_beyond(order, window.after, True, "after"))
    if window.before is not None:
        stmt = stmt.where(_beyond(order, window.before, False, "before"))
    ordering = order if forward else [c.desc() for c in order]
    rows = list((await session.exec(stmt.order_by(*ordering).limit(size + 1))).all())
    more = len(rows) > size
    rows = rows[:size]
    if not forward:
        rows.reverse()
    cursors = [encode_cursor(key(r)) for r in rows]
    return Page(
        items=rows,
        has_next=more if forward else window.before is not None,
        end_cursor=cursors[-1] if cursors else None,
        has_previous=window.after is not None if forward else more,
        start_cursor=cursors[0] if cursors else None,
        cursors=cursors,
    )


async def keyset_pages_by(
    session: AsyncSession,
    entity: Any,
    stmt: Any,
    group: Any,
    groups: Sequence[Any],
    order: Sequence[Any],
    key: Callable[[Any], Sequence[Any]],
    window: Window,
) -> dict[Any, Page[Any]]:
    """The first page of a list for each of many parents, in ONE query.

    For nested connections (a chapter's events, an event's registrations): rows are numbered
    per `group` with a window function and cut at `first + 1`, so the number of statements
    stays constant whatever the number of parents and the page size. Only `first`/`after` are
    supported here; the cursor, if any, applies to every parent.
    """
    if window.last is not None or window.before is not None:
        raise ValidationFailed.on("last", "nested lists page forwards only (`first`/`after`)")
    size = check_limit(window.first or 20, "first")
    result: dict[Any, Page[Any]] = {g: Page([], False, None) for g in groups}
    if not groups:
        return result
    stmt = stmt.where(group.in_(list(groups)))
    if window.after is not None:
        stmt = stmt.where(_beyond(order, window.after, True, "after"))
    number = sa.func.row_number().over(partition_by=group, order_by=list(order)).label("_n")
    ranked = stmt.add_columns(number).subquery()
    aliased = sa.orm.aliased(entity, ranked)
    outer = (
        select(aliased).where(ranked.c._n <= size + 1).order_by(ranked.c[group.key], ranked.c._n)
    )
    rows: dict[Any, list[Any]] = {g: [] for g in groups}
    for row in (await session.exec(outer)).all():
        rows[getattr(row, group.key)].append(row)
    for g, items in rows.items():
        page_items = items[:size]
        cursors = [encode_cursor(key(r)) for r in page_items]
        result[g] = Page(
            page_items,
            len(items) > size,
            cursors[-1] if cursors else None,
            window.after is not None,
            cursors[0] if cursors else None,
            cursors,
        )
    return result
