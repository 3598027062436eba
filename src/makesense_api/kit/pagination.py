"""Keyset pagination: opaque cursors over a unique, ordered key; no OFFSET anywhere."""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.kit.errors import ValidationFailed

T = TypeVar("T")
MAX_PAGE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    end_cursor: str | None


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
    except (ValueError, binascii.Error, TypeError, orjson.JSONDecodeError):
        raise ValidationFailed.on(field, "invalid cursor") from None


def check_limit(limit: int, field: str = "limit") -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed.on(field, f"must be between 1 and {MAX_PAGE}")
    return limit


async def keyset_page(
    session: AsyncSession,
    stmt: Any,
    order: Sequence[Any],
    key: Callable[[Any], Sequence[Any]],
    after: str | None,
    limit: int,
) -> Page[Any]:
    """Run `stmt` ordered by `order` (ascending, unique as a tuple) from the cursor `after`."""
    check_limit(limit)
    if after is not None:
        values = decode_cursor(after, len(order))
        stmt = stmt.where(
            sa.tuple_(*order)
            > sa.tuple_(*[sa.literal(v, type_=c.type) for v, c in zip(values, order, strict=True)])
        )
    rows = list((await session.exec(stmt.order_by(*order).limit(limit + 1))).all())
    has_next = len(rows) > limit
    rows = rows[:limit]
    end = encode_cursor(key(rows[-1])) if rows else None
    return Page(rows, has_next, end)
