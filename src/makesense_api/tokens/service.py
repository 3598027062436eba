"""Opaque tokens: made here, looked up by hash, turned into the `Principal` of a request.

A token reads `msk_<kind>_<secret><check>`: `msk_pat_` (personal), `msk_at_` (access) or
`msk_rt_` (refresh), then 43 base62 characters of 32 random bytes and a 6-character CRC32 of
everything before it. The fixed prefixes let secret scanners recognise leaked tokens, and the
checksum lets them (and us) dismiss a mistyped string without a database round trip.

Only the SHA-256 of a token is stored. Its plaintext exists once, in the result of `issue` or
`create_personal`; nothing in this module logs it, and only the first characters of the secret
(`prefix`) are ever shown again.

Recording use: `last_used_at` moves at most once per `USE_RESOLUTION`, through a conditional
UPDATE (`record_use`) that is a no-op when another request already recorded the same minute.
`lookup` never writes, so it is safe inside the deferred, read-only transactions of GET
requests (on SQLite a write there would have to upgrade the lock and can fail with
SQLITE_BUSY). `resolve` records use in the caller's transaction only when that transaction was
opened for writing; the HTTP middleware instead records it after the response (see
`makesense_api.authn`).
"""

import hashlib
import logging
import secrets
import string
import uuid
import zlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import ALL_SCOPES, Principal, Scope
from makesense_api.chapters import service as chapters
from makesense_api.config import get_settings
from makesense_api.context import Ctx
from makesense_api.kit.clock import as_utc, utcnow
from makesense_api.kit.db import use_case, write_intent
from makesense_api.kit.errors import Conflict, FieldError, Forbidden, NotFound
from makesense_api.kit.pagination import Page, Window, keyset_page
from makesense_api.kit.schemas import parse, raise_if
from makesense_api.partners.models import PartnerOrganisation
from makesense_api.people.models import Person
from makesense_api.tokens.models import AccessToken, TokenKind
from makesense_api.tokens.schemas import CreatedToken, IssuedToken, PersonalTokenCreate, TokenView

log = logging.getLogger(__name__)

PREFIXES: dict[TokenKind, str] = {
    TokenKind.PERSONAL: "msk_pat_",
    TokenKind.ACCESS: "msk_at_",
    TokenKind.REFRESH: "msk_rt_",
}
# Tokens that authenticate API requests; refresh tokens are only for the token endpoint.
BEARER_KINDS: frozenset[TokenKind] = frozenset({TokenKind.PERSONAL, TokenKind.ACCESS})
USE_RESOLUTION = timedelta(minutes=1)
MAX_ACTIVE_PERSONAL = 50
# Scopes a personal token cannot carry: it is never refreshed.
NOT_PERSONAL: frozenset[str] = frozenset({Scope.OFFLINE_ACCESS})

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SECRET_LEN = 43  # 62**43 > 2**256
_CHECK_LEN = 6  # 62**6 > 2**32
_DISPLAY_LEN = 8


# -- format -------------------------------------------------------------------------------


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits))


def _checksum(text: str) -> str:
    return _base62(zlib.crc32(text.encode()), _CHECK_LEN)


def new_secret(prefix: str) -> str:
    """A fresh `prefix`ed token with 256 bits from `secrets` and a CRC check, so that leaked
    tokens can be recognised and typos refused before any lookup."""
    body = prefix + _base62(int.from_bytes(secrets.token_bytes(32)), _SECRET_LEN)
    return body + _checksum(body)


def well_formed(token: str, prefix: str) -> bool:
    """Whether `token` has the shape `new_secret(prefix)` gives: length, alphabet, check."""
    rest = token.removeprefix(prefix)
    if rest == token or len(rest) != _SECRET_LEN + _CHECK_LEN:
        return False
    if not all(c in _BASE62 for c in rest):
        return False
    return _checksum(token[:-_CHECK_LEN]) == token[-_CHECK_LEN:]


def new_token(kind: TokenKind) -> str:
    """A fresh token of `kind`."""
    return new_secret(PREFIXES[kind])


def token_kind(token: str) -> TokenKind | None:
    """The kind of a well-formed token (prefix, length, alphabet, checksum); else None."""
    for kind, prefix in PREFIXES.items():
        if token.startswith(prefix):
            return kind if well_formed(token, prefix) else None
    return None


def hash_token(token: str) -> str:
    """What the table stores: the hex SHA-256 of the whole token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _display(token: str, kind: TokenKind) -> str:
    return token[len(PREFIXES[kind]) :][:_DISPLAY_LEN]


# -- issuing ------------------------------------------------------------------------------


def _row(
    kind: TokenKind,
    token: str,
    scopes: Iterable[str],
    reach: Iterable[uuid.UUID] | None,
    expires_at: datetime,
    **subject: Any,
) -> AccessToken:
    return AccessToken(
        kind=kind,
        token_hash=hash_token(token),
        prefix=_display(token, kind),
        scopes=sorted(set(scopes)),
        reach=None if reach is None else sorted({str(c) for c in reach}),
        expires_at=expires_at,
        **subject,
    )


async def issue(
    session: AsyncSession,
    *,
    kind: TokenKind,
    scopes: Iterable[str],
    ttl: timedelta,
    person_id: uuid.UUID | None = None,
    partner_id: uuid.UUID | None = None,
    client_id: str | None = None,
    reach: Iterable[uuid.UUID] | None = None,
    name: str | None = None,
) -> IssuedToken:
    """Store a new token for internal issuers (the OAuth server); the caller owns the policy.

    Exactly one of `person_id` / `partner_id` must be given, `scopes` must be known and `ttl`
    positive: breaking these is a programming error (ValueError), not a client error.
    """
    scopes = set(scopes)
    if (person_id is None) == (partner_id is None):
        raise ValueError("a token has exactly one subject: a person or a partner")
    if not scopes <= ALL_SCOPES:
        raise ValueError(f"unknown scopes {sorted(scopes - ALL_SCOPES)}")
    if ttl <= timedelta(0):
        raise ValueError("a token's lifetime must be positive")
    token = new_token(kind)
    row = _row(
        kind,
        token,
        scopes,
        reach,
        utcnow() + ttl,
        person_id=person_id,
        partner_id=partner_id,
        client_id=client_id,
        name=name,
    )
    session.add(row)
    await session.flush()
    log.info(
        "token issued", extra={"token_id": str(row.id), "kind": kind.value, "client_id": client_id}
    )
    return IssuedToken(id=row.id, token=token, kind=kind.value, expires_at=row.expires_at)


# -- personal tokens ----------------------------------------------------------------------


def _view(row: AccessToken) -> TokenView:
    return TokenView(
        id=row.id,
        kind=row.kind,
        name=row.name,
        prefix=PREFIXES[TokenKind(row.kind)] + row.prefix,
        scopes=list(row.scopes),
        reach=None if row.reach is None else [uuid.UUID(c) for c in row.reach],
        client_id=row.client_id,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        created_at=row.created_at,
    )


def _calling_person(ctx: Ctx) -> uuid.UUID:
    ctx.authz.require_scope(Scope.PROFILE)
    if ctx.principal.person_id is None:
        raise Forbidden("only a person has personal tokens")
    return ctx.principal.person_id


def _scope_errors(ctx: Ctx, scopes: list[str]) -> list[FieldError]:
    errors = []
    for i, scope in enumerate(scopes):
        if scope not in ALL_SCOPES:
            errors.append(FieldError(f"scopes.{i}", f"{scope!r} is not a scope"))
        elif scope in NOT_PERSONAL:
            errors.append(FieldError(f"scopes.{i}", "personal tokens cannot carry this scope"))
        elif not ctx.principal.has_scope(scope):
            errors.append(FieldError(f"scopes.{i}", "exceeds the scopes of the calling token"))
    return errors


async def _reach(
    ctx: Ctx, wanted: list[uuid.UUID] | None, errors: list[FieldError]
) -> frozenset[uuid.UUID] | None:
    """The new token's reach: chapters the caller can see, which lie inside the caller's own
    reach (omitted: all of it), so a token never reaches further than the one that made it."""
    if wanted is None:
        return ctx.principal.reach
    for i, chapter_id in enumerate(wanted):
        try:
            await chapters.load_visible(ctx, chapter_id)
        except NotFound:
            errors.append(FieldError(f"reach.{i}", "no such chapter"))
    return frozenset(wanted)


def _live(person_id: uuid.UUID, now: datetime) -> list[sa.ColumnElement[bool]]:
    return [
        col(AccessToken.person_id) == person_id,
        col(AccessToken.kind) == TokenKind.PERSONAL,
        col(AccessToken.revoked_at).is_(None),
        col(AccessToken.expires_at) > now,
    ]


async def create_personal(ctx: Ctx, data: PersonalTokenCreate | dict[str, Any]) -> CreatedToken:
    """Make a personal token for the calling person; its plaintext is returned only here."""
    person_id = _calling_person(ctx)
    data = parse(PersonalTokenCreate, data)
    now = utcnow()
    async with use_case(ctx.session):
        errors = _scope_errors(ctx, data.scopes)
        longest = get_settings().personal_token_max_days
        if data.expires_in_days > longest:
            errors.append(FieldError("expires_in_days", f"must be at most {longest} days"))
        reach = await _reach(ctx, data.reach, errors)
        raise_if(list(errors))
        active = select(sa.func.count()).select_from(AccessToken).where(*_live(person_id, now))
        if (await ctx.session.exec(active)).one() >= MAX_ACTIVE_PERSONAL:
            raise Conflict(f"at most {MAX_ACTIVE_PERSONAL} personal tokens may be active")
        token = new_token(TokenKind.PERSONAL)
        row = _row(
            TokenKind.PERSONAL,
            token,
            data.scopes,
            reach,
            now + timedelta(days=data.expires_in_days),
            person_id=person_id,
            name=data.name,
        )
        ctx.session.add(row)
    log.info("personal token created", extra={"token_id": str(row.id), "prefix": row.prefix})
    return CreatedToken(token=token, view=_view(row))


async def list_personal(ctx: Ctx) -> list[TokenView]:
    """The calling person's unrevoked, unexpired personal tokens, newest first."""
    person_id = _calling_person(ctx)
    stmt = (
        select(AccessToken)
        .where(*_live(person_id, utcnow()))
        .order_by(col(AccessToken.created_at).desc(), col(AccessToken.id).desc())
        .execution_options(populate_existing=True)
    )
    return [_view(row) for row in (await ctx.session.exec(stmt)).all()]


async def page_personal(ctx: Ctx, window: Window) -> Page[TokenView]:
    """The calling person's live personal tokens, oldest first, a page at a time."""
    person_id = _calling_person(ctx)
    stmt = select(AccessToken).where(*_live(person_id, utcnow()))
    page = await keyset_page(
        ctx.session,
        stmt.execution_options(populate_existing=True),
        [col(AccessToken.created_at), col(AccessToken.id)],
        lambda t: [t.created_at, t.id],
        window,
        20,
    )
    return page.replace([_view(row) for row in page.items])


async def get_personal(ctx: Ctx, token_id: uuid.UUID) -> TokenView:
    """One of the calling person's live personal tokens; any other id is not found."""
    person_id = _calling_person(ctx)
    stmt = select(AccessToken).where(col(AccessToken.id) == token_id, *_live(person_id, utcnow()))
    row = (await ctx.session.exec(stmt.execution_options(populate_existing=True))).first()
    if row is None:
        raise NotFound("token", token_id)
    return _view(row)


async def revoke(ctx: Ctx, token_id: uuid.UUID) -> None:
    """Revoke one of the calling person's personal tokens; any other id is not found."""
    person_id = _calling_person(ctx)
    async with use_case(ctx.session):
        stmt = (
            sa.update(AccessToken)
            .where(
                col(AccessToken.id) == token_id,
                col(AccessToken.person_id) == person_id,
                col(AccessToken.kind) == TokenKind.PERSONAL,
                col(AccessToken.revoked_at).is_(None),
            )
            .values(revoked_at=utcnow())
            .returning(col(AccessToken.id))
        )
        if (
            await ctx.session.exec(stmt.execution_options(synchronize_session=False))
        ).first() is None:
            raise NotFound("token", token_id)
    log.info("personal token revoked", extra={"token_id": str(token_id)})


# -- resolving ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """A token that authenticates: who it speaks for, and when it was last recorded in use."""

    token_id: uuid.UUID
    principal: Principal
    last_used_at: datetime | None

    def use_due(self, now: datetime) -> bool:
        """Whether `record_use` would change anything (at most once per USE_RESOLUTION)."""
        return self.last_used_at is None or now - self.last_used_at >= USE_RESOLUTION


def _rejection(
    row: AccessToken, erased_at: datetime | None, partner_active: bool | None, now: datetime
) -> str | None:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at <= now:
        return "expired"
    if row.person_id is not None and erased_at is not None:
        return "person erased"
    if row.partner_id is not None and not partner_active:
        return "partner inactive"
    return None


def _principal(row: AccessToken) -> Principal:
    scopes = frozenset(row.scopes)
    reach = None if row.reach is None else frozenset(uuid.UUID(c) for c in row.reach)
    if row.person_id is not None:
        return Principal.person(row.person_id, scopes, reach, row.client_id)
    assert row.partner_id is not None
    return Principal.partner(row.partner_id, scopes, reach, row.client_id)


async def lookup(
    session: AsyncSession,
    token: str,
    now: datetime,
    kinds: Collection[TokenKind] = BEARER_KINDS,
) -> Resolved | None:
    """The live token matching `token` among `kinds`, or None. Reads only, never writes.

    Rejected: malformed strings, unknown hashes, revoked or expired tokens, tokens of an erased
    person or of an inactive partner. The reason is logged with the token's id, never the
    token; callers should answer every rejection alike.
    """
    kind = token_kind(token)
    if kind is None or kind not in kinds:
        return None
    stmt = (
        select(AccessToken, Person.erased_at, PartnerOrganisation.active)
        .outerjoin(Person, col(Person.id) == AccessToken.person_id)
        .outerjoin(PartnerOrganisation, col(PartnerOrganisation.id) == AccessToken.partner_id)
        .where(AccessToken.token_hash == hash_token(token), AccessToken.kind == kind)
        .execution_options(populate_existing=True)
    )
    found = (await session.exec(stmt)).first()
    if found is None:
        return None
    row, erased_at, partner_active = found
    reason = _rejection(row, erased_at, partner_active, as_utc(now))
    if reason is not None:
        log.info("token rejected", extra={"token_id": str(row.id), "reason": reason})
        return None
    return Resolved(row.id, _principal(row), row.last_used_at)


async def record_use(session: AsyncSession, token_id: uuid.UUID, now: datetime) -> bool:
    """Set `last_used_at` unless it is already within USE_RESOLUTION of `now`; whether it moved.

    Needs a transaction that may write. Concurrent callers race harmlessly: the condition
    makes every one but the first a no-op.
    """
    stmt = (
        sa.update(AccessToken)
        .where(
            col(AccessToken.id) == token_id,
            sa.or_(
                col(AccessToken.last_used_at).is_(None),
                col(AccessToken.last_used_at) <= now - USE_RESOLUTION,
            ),
        )
        # Use is not a change to the token: `updated_at` keeps its meaning.
        .values(last_used_at=now, updated_at=AccessToken.updated_at)
        .returning(col(AccessToken.id))
        .execution_options(synchronize_session=False)
    )
    return (await session.exec(stmt)).first() is not None


async def resolve(session: AsyncSession, token: str, now: datetime) -> Principal | None:
    """The principal a bearer token speaks for, or None when it does not authenticate.

    Use is recorded in `session` when due and only if its transaction was opened for writing;
    in a read-only transaction it is left to the caller (the HTTP middleware records it after
    the response, in a transaction of its own).
    """
    found = await lookup(session, token, now)
    if found is None:
        return None
    if write_intent.get() and found.use_due(now):
        await record_use(session, found.token_id, now)
    return found.principal
