"""Deleting credentials that can no longer authenticate, once they are past a retention.

What goes, each kind only when its instant is older than `now - retention`:

- authorization codes past their expiry (used or not);
- access tokens and personal tokens past their expiry or revoked;
- refresh tokens past their expiry only: a rotated refresh token is revoked at rotation but
  must stay until it expires, so that replaying it still revokes its family (RFC 9700 §4.14).

The retention keeps recent rows for audits and replay detection. Deletes run in batches of at
most `batch_size` rows, each in its own transaction, so the purge never holds long locks nor
builds a huge transaction. `purge_expired` is the entry point for the CLI and for periodic
tasks; `purge_batch` does one round within the caller's transaction.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.kit.clock import utcnow
from makesense_api.oauth.models import AuthorizationCode
from makesense_api.tokens.models import AccessToken, TokenKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purged:
    """How many rows of each kind were deleted."""

    codes: int = 0
    oauth_tokens: int = 0
    personal_tokens: int = 0

    @property
    def total(self) -> int:
        return self.codes + self.oauth_tokens + self.personal_tokens

    def __add__(self, other: "Purged") -> "Purged":
        return Purged(
            self.codes + other.codes,
            self.oauth_tokens + other.oauth_tokens,
            self.personal_tokens + other.personal_tokens,
        )


def _token_condition(kinds: tuple[TokenKind, ...], cutoff: datetime) -> sa.ColumnElement[bool]:
    stale = [col(AccessToken.expires_at) < cutoff]
    if TokenKind.REFRESH not in kinds:
        stale.append(col(AccessToken.revoked_at) < cutoff)
    return sa.and_(col(AccessToken.kind).in_(kinds), sa.or_(*stale))


async def _delete(
    session: AsyncSession, table: Any, condition: sa.ColumnElement[bool], limit: int
) -> int:
    """Delete at most `limit` rows matching `condition`; how many went."""
    batch = select(table.id).where(condition).limit(limit).scalar_subquery()
    stmt = sa.delete(table).where(col(table.id).in_(batch)).returning(col(table.id))
    return len((await session.exec(stmt.execution_options(synchronize_session=False))).all())


async def purge_batch(
    session: AsyncSession, *, now: datetime, retention: timedelta, batch_size: int
) -> Purged:
    """One round: at most `batch_size` rows of each kind, in the caller's transaction."""
    cutoff = now - retention
    codes = await _delete(
        session, AuthorizationCode, col(AuthorizationCode.expires_at) < cutoff, batch_size
    )
    oauth = await _delete(
        session, AccessToken, _token_condition((TokenKind.ACCESS,), cutoff), batch_size
    )
    oauth += await _delete(
        session, AccessToken, _token_condition((TokenKind.REFRESH,), cutoff), batch_size
    )
    personal = await _delete(
        session, AccessToken, _token_condition((TokenKind.PERSONAL,), cutoff), batch_size
    )
    return Purged(codes, oauth, personal)


async def purge_expired(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    retention: timedelta,
    batch_size: int,
    now: datetime | None = None,
    max_batches: int | None = None,
) -> Purged:
    """Purge in committed batches until nothing is left (or `max_batches` rounds ran)."""
    now = now or utcnow()
    total, rounds = Purged(), 0
    while max_batches is None or rounds < max_batches:
        async with sessionmaker() as session:
            done = await purge_batch(
                session, now=now, retention=retention, batch_size=batch_size
            )
            await session.commit()
        total, rounds = total + done, rounds + 1
        if max(done.codes, done.oauth_tokens, done.personal_tokens) < batch_size:
            break
    log.info(
        "expired credentials purged",
        extra={
            "codes": total.codes,
            "oauth_tokens": total.oauth_tokens,
            "personal_tokens": total.personal_tokens,
        },
    )
    return total
