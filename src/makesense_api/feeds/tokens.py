"""Feed tokens: the credential of a person's private calendar feed (`/v1/me/events.ics`).

Calendar apps subscribe to a URL and cannot send an `Authorization` header, so the token rides
in the query string. It is therefore made to be harmless when a URL leaks into a history or a
log: it reads only the person's calendar (never the API), it is revocable one app at a time,
the access log redacts `token=` (`kit.logs`), and only its SHA-256 is stored.

A token reads `msk_feed_<secret><check>`, built like the other tokens of `tokens.service`
(43 base62 characters of 32 random bytes and a CRC32 check), so secret scanners recognise it.

    create     `profile` scope, person tokens only; plaintext returned once; 20 live per person
    list       the caller's unrevoked tokens, newest first
    revoke     one of the caller's unrevoked tokens; anything else is not found
    lookup     token → person, for unrevoked tokens of persons not erased; every rejection
               looks alike (the feed answers 404)
"""

import contextlib
import logging
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal, Scope
from makesense_api.context import Ctx
from makesense_api.feeds.models import FeedToken
from makesense_api.feeds.schemas import (
    CreatedFeedToken,
    FeedAccess,
    FeedTokenCreate,
    FeedTokenView,
)
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import use_case, write_intent
from makesense_api.kit.errors import Conflict, Forbidden, NotFound
from makesense_api.kit.schemas import parse
from makesense_api.people.models import Person
from makesense_api.tokens.service import USE_RESOLUTION, hash_token, new_secret, well_formed

log = logging.getLogger(__name__)

PREFIX = "msk_feed_"
DISPLAY_LEN = 8
MAX_LIVE = 20
FEED_PATH = "/v1/me/events.ics"
# What a feed token may read: the person's own registrations, and the events a member sees.
# Never `events:read`, which would give organizers the online link of events they are only
# waitlisted for.
FEED_SCOPES = frozenset({Scope.PROFILE, Scope.CHAPTERS_READ})


def new_feed_token() -> str:
    """A fresh feed token with 256 bits from `secrets`."""
    return new_secret(PREFIX)


def is_feed_token(token: str) -> bool:
    """Whether `token` could be a feed token (prefix, length, check), before any lookup."""
    return well_formed(token, PREFIX)


def feed_url(base_url: str, token: str) -> str:
    """The URL a calendar app subscribes to."""
    return f"{base_url.rstrip('/')}{FEED_PATH}?token={token}"


def feed_principal(person_id: uuid.UUID) -> Principal:
    """Who a feed token speaks for: its person, reading their calendar and nothing more."""
    return Principal.person(person_id, FEED_SCOPES)


def _view(row: FeedToken) -> FeedTokenView:
    return FeedTokenView(
        id=row.id,
        name=row.name,
        prefix=PREFIX + row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _calling_person(ctx: Ctx) -> uuid.UUID:
    ctx.authz.require_scope(Scope.PROFILE)
    if ctx.principal.person_id is None:
        raise Forbidden("only a person has a calendar feed")
    return ctx.principal.person_id


def _live(person_id: uuid.UUID) -> list[sa.ColumnElement[bool]]:
    return [col(FeedToken.person_id) == person_id, col(FeedToken.revoked_at).is_(None)]


async def create(ctx: Ctx, data: FeedTokenCreate | dict[str, Any]) -> CreatedFeedToken:
    """Make a feed token for the calling person; its plaintext is returned only here."""
    person_id = _calling_person(ctx)
    data = parse(FeedTokenCreate, data)
    async with use_case(ctx.session):
        live = select(sa.func.count()).select_from(FeedToken).where(*_live(person_id))
        if (await ctx.session.exec(live)).one() >= MAX_LIVE:
            raise Conflict(f"at most {MAX_LIVE} feed tokens may be live; revoke one first")
        token = new_feed_token()
        row = FeedToken(
            person_id=person_id,
            name=data.name,
            token_hash=hash_token(token),
            prefix=token[len(PREFIX) :][:DISPLAY_LEN],
        )
        ctx.session.add(row)
    log.info("feed token created", extra={"token_id": str(row.id), "prefix": row.prefix})
    return CreatedFeedToken(token=token, view=_view(row))


async def list_tokens(ctx: Ctx) -> list[FeedTokenView]:
    """The calling person's unrevoked feed tokens, newest first (at most 20)."""
    person_id = _calling_person(ctx)
    stmt = (
        select(FeedToken)
        .where(*_live(person_id))
        .order_by(col(FeedToken.created_at).desc(), col(FeedToken.id).desc())
        .execution_options(populate_existing=True)
    )
    return [_view(row) for row in (await ctx.session.exec(stmt)).all()]


async def revoke(ctx: Ctx, token_id: uuid.UUID) -> FeedTokenView:
    """Revoke one of the calling person's feed tokens, at once; any other id is not found."""
    person_id = _calling_person(ctx)
    async with use_case(ctx.session):
        stmt = (
            sa.update(FeedToken)
            .where(col(FeedToken.id) == token_id, *_live(person_id))
            .values(revoked_at=utcnow())
            .returning(col(FeedToken.id))
            .execution_options(synchronize_session=False)
        )
        if (await ctx.session.exec(stmt)).first() is None:
            raise NotFound("feed token", token_id)
        row = await ctx.session.get(FeedToken, token_id, populate_existing=True)
        assert row is not None
    log.info("feed token revoked", extra={"token_id": str(token_id)})
    return _view(row)


# -- resolving ----------------------------------------------------------------------------


async def lookup(session: AsyncSession, token: str) -> FeedAccess | None:
    """The live feed token matching `token`, or None. Reads only, never writes.

    Rejected alike: malformed strings, unknown hashes, revoked tokens, erased persons. Only
    the token's id is ever logged.
    """
    if not is_feed_token(token):
        return None
    stmt = (
        select(FeedToken.id, FeedToken.person_id, FeedToken.last_used_at, FeedToken.revoked_at)
        .join(Person, col(Person.id) == FeedToken.person_id)
        .where(FeedToken.token_hash == hash_token(token), col(Person.erased_at).is_(None))
    )
    found = (await session.exec(stmt)).first()
    if found is None:
        return None
    token_id, person_id, last_used_at, revoked_at = found
    if revoked_at is not None:
        log.info("feed token rejected", extra={"token_id": str(token_id), "reason": "revoked"})
        return None
    return FeedAccess(token_id, person_id, last_used_at)


async def record_use(session: AsyncSession, access: FeedAccess, now: datetime) -> None:
    """Set `last_used_at` (at most once per minute), best effort, once the feed is read.

    Feeds are GET requests, read in a deferred transaction that cannot safely turn into a
    write on SQLite; so this ends that transaction (it wrote nothing) and writes in a short
    one of its own, as `authn` does for bearer tokens. A failure is logged, never raised.
    """
    if access.last_used_at is not None and now - access.last_used_at < USE_RESOLUTION:
        return
    await session.commit()
    intent = write_intent.set(True)
    try:
        await session.exec(
            sa.update(FeedToken)
            .where(
                col(FeedToken.id) == access.token_id,
                sa.or_(
                    col(FeedToken.last_used_at).is_(None),
                    col(FeedToken.last_used_at) <= now - USE_RESOLUTION,
                ),
            )
            # Use is not a change to the token: `updated_at` keeps its meaning.
            .values(last_used_at=now, updated_at=FeedToken.updated_at)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    except Exception:
        log.warning(
            "could not record feed token use",
            extra={"token_id": str(access.token_id)},
            exc_info=True,
        )
        with contextlib.suppress(Exception):
            await session.rollback()
    finally:
        write_intent.reset(intent)
