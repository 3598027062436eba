"""The asynchronous half of the authorization server: load rows for Authlib, apply its decisions.

Everything runs in the request's session and transaction. Decisions that race are settled by
the database, not by what was loaded: a code is consumed, and a refresh token rotated, by a
conditional UPDATE; if another request got there first, this one is a replay after all.

A replay (a used code, a rotated refresh token) revokes every token of its family and answers
`invalid_grant`. That answer is a 400, and the request's transaction is rolled back for any
status from 400 up (`DatabaseSession`), so the revocation is committed here, deliberately,
before the answer is sent; nothing else has been written in that transaction.
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import InvalidGrantError  # type: ignore[import-untyped]
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.chapters.models import Chapter
from makesense_api.kit.clock import as_utc, utcnow
from makesense_api.kit.ids import new_id
from makesense_api.oauth.models import AuthorizationCode, OAuthClient
from makesense_api.oauth.records import (
    ClientRecord,
    CodeRecord,
    Exchange,
    TokenPlan,
    TokenRecord,
    digest,
)
from makesense_api.oauth.server import ServerConfig
from makesense_api.oauth.wrappers import Outcome
from makesense_api.partners.models import PartnerOrganisation
from makesense_api.people.models import Person
from makesense_api.tokens import service as tokens
from makesense_api.tokens.models import AccessToken, TokenKind
from makesense_api.tokens.schemas import IssuedToken

log = logging.getLogger(__name__)

OAUTH_KINDS = (TokenKind.ACCESS, TokenKind.REFRESH)


# -- loading ------------------------------------------------------------------------------


def _client_record(row: OAuthClient, owner_name: str, now: datetime) -> ClientRecord:
    overlap = row.previous_secret_expires_at
    previous = row.previous_secret_hash if overlap and as_utc(overlap) > now else None
    return ClientRecord(
        pk=row.id,
        client_id=row.client_id,
        name=row.name,
        owner_name=owner_name,
        client_type=row.client_type,
        secret_hash=row.secret_hash,
        chapter_id=row.chapter_id,
        partner_id=row.partner_id,
        redirect_uris=tuple(row.redirect_uris),
        grant_types=frozenset(row.grant_types),
        scopes=frozenset(row.scopes),
        reach=None if row.reach is None else tuple(uuid.UUID(c) for c in row.reach),
        previous_secret_hash=previous,
    )


async def load_clients(
    session: AsyncSession, client_ids: Iterable[str], now: datetime | None = None
) -> dict[str, ClientRecord]:
    """Live clients by public id: not revoked, and their owning partner (if any) active.

    A client's previous secret is loaded only while its rotation grace lasts at `now`.
    """
    now = as_utc(now) if now is not None else utcnow()
    wanted = {c for c in client_ids if c and len(c) <= 64}
    if not wanted:
        return {}
    stmt = (
        select(OAuthClient, Chapter.name, PartnerOrganisation.name, PartnerOrganisation.active)
        .outerjoin(Chapter, col(Chapter.id) == OAuthClient.chapter_id)
        .outerjoin(PartnerOrganisation, col(PartnerOrganisation.id) == OAuthClient.partner_id)
        .where(col(OAuthClient.client_id).in_(wanted), col(OAuthClient.revoked_at).is_(None))
        .execution_options(populate_existing=True)
    )
    found = {}
    for row, chapter_name, partner_name, partner_active in (await session.exec(stmt)).all():
        if row.partner_id is not None and not partner_active:
            continue
        found[row.client_id] = _client_record(row, chapter_name or partner_name or "", now)
    return found


async def load_code(session: AsyncSession, code: str) -> CodeRecord | None:
    """The stored code matching `code`, used or not."""
    stmt = (
        select(AuthorizationCode, Person.erased_at)
        .join(Person, col(Person.id) == AuthorizationCode.person_id)
        .where(AuthorizationCode.code_hash == digest(code))
        .execution_options(populate_existing=True)
    )
    found = (await session.exec(stmt)).first()
    if found is None:
        return None
    row, erased_at = found
    return CodeRecord(
        pk=row.id,
        code_hash=row.code_hash,
        client_pk=row.oauth_client_id,
        person_id=row.person_id,
        person_active=erased_at is None,
        redirect_uri=row.redirect_uri,
        scopes=tuple(row.scopes),
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        family_id=row.family_id,
        expires_at=as_utc(row.expires_at),
        used_at=row.used_at,
    )


async def load_token(session: AsyncSession, token: str, exchange: Exchange) -> TokenRecord | None:
    """The stored access or refresh token matching `token`, in whatever state."""
    kind = tokens.token_kind(token)
    if kind not in OAUTH_KINDS:
        return None
    stmt = (
        select(AccessToken, Person.erased_at, PartnerOrganisation.active)
        .outerjoin(Person, col(Person.id) == AccessToken.person_id)
        .outerjoin(PartnerOrganisation, col(PartnerOrganisation.id) == AccessToken.partner_id)
        .where(AccessToken.token_hash == tokens.hash_token(token), AccessToken.kind == kind)
        .execution_options(populate_existing=True)
    )
    found = (await session.exec(stmt)).first()
    if found is None:
        return None
    row, erased_at, partner_active = found
    active = erased_at is None if row.person_id is not None else bool(partner_active)
    return TokenRecord(
        pk=row.id,
        kind=row.kind,
        token_hash=row.token_hash,
        client_id=row.client_id,
        person_id=row.person_id,
        partner_id=row.partner_id,
        subject_active=active,
        scopes=tuple(row.scopes),
        family_id=row.family_id,
        created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at),
        revoked_at=row.revoked_at,
        now=exchange.now,
    )


# -- applying -----------------------------------------------------------------------------


async def store_code(session: AsyncSession, exchange: Exchange, config: ServerConfig) -> None:
    """Persist the code Authlib put in the redirect, before the redirect is sent."""
    new = exchange.new_code
    if new is None:
        return
    session.add(
        AuthorizationCode(
            code_hash=digest(new.code),
            oauth_client_id=new.client.pk,
            person_id=new.person_id,
            redirect_uri=new.redirect_uri,
            scopes=list(new.scopes),
            code_challenge=new.code_challenge,
            code_challenge_method=new.code_challenge_method,
            family_id=new_id(),
            expires_at=exchange.now + config.code_ttl,
        )
    )
    await session.flush()


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, exchange: Exchange) -> int:
    """Revoke every live token of a family; how many were live."""
    stmt = (
        sa.update(AccessToken)
        .where(col(AccessToken.family_id) == family_id, col(AccessToken.revoked_at).is_(None))
        .values(revoked_at=exchange.now)
        .returning(col(AccessToken.id))
        .execution_options(synchronize_session=False)
    )
    return len((await session.exec(stmt)).all())


async def _claim(session: AsyncSession, stmt: sa.Update) -> bool:
    """Run a conditional UPDATE … RETURNING; whether this request won the row."""
    result = await session.exec(stmt.execution_options(synchronize_session=False))
    return result.first() is not None


async def _consume(session: AsyncSession, code: CodeRecord, exchange: Exchange) -> bool:
    return await _claim(
        session,
        sa.update(AuthorizationCode)
        .where(col(AuthorizationCode.id) == code.pk, col(AuthorizationCode.used_at).is_(None))
        .values(used_at=exchange.now)
        .returning(col(AuthorizationCode.id)),
    )


async def _retire(session: AsyncSession, token: TokenRecord, exchange: Exchange) -> bool:
    return await _claim(
        session,
        sa.update(AccessToken)
        .where(col(AccessToken.id) == token.pk, col(AccessToken.revoked_at).is_(None))
        .values(revoked_at=exchange.now)
        .returning(col(AccessToken.id)),
    )


async def _replay(
    session: AsyncSession, family_id: uuid.UUID | None, exchange: Exchange, outcome: Outcome
) -> Outcome:
    revoked = 0 if family_id is None else await revoke_family(session, family_id, exchange)
    await session.commit()  # the 400 below would roll it back otherwise
    log.warning(
        "oauth grant replayed; family revoked",
        extra={"family_id": str(family_id), "revoked": revoked},
    )
    return outcome


def _replay_refusal() -> Outcome:
    status, body, headers = InvalidGrantError("The grant was already used.")()
    return Outcome(status, body, list(headers))


async def _issue_one(
    session: AsyncSession, plan: TokenPlan, kind: TokenKind, ttl: timedelta
) -> IssuedToken:
    return await tokens.issue(
        session,
        kind=kind,
        ttl=ttl,
        scopes=plan.scopes,
        person_id=plan.person_id,
        partner_id=plan.partner_id,
        client_id=plan.client.client_id,
        reach=plan.client.reach,
    )


async def _issue(session: AsyncSession, plan: TokenPlan, config: ServerConfig) -> dict[str, str]:
    """Make the planned tokens; their family is set on the rows `tokens.issue` just added."""
    access = await _issue_one(session, plan, TokenKind.ACCESS, config.access_ttl)
    made = {"access_token": access.token}
    ids = [access.id]
    if plan.refresh:
        refresh = await _issue_one(session, plan, TokenKind.REFRESH, config.refresh_ttl)
        made["refresh_token"] = refresh.token
        ids.append(refresh.id)
    if plan.family_id is not None:
        await session.exec(
            sa.update(AccessToken)
            .where(col(AccessToken.id).in_(ids))
            .values(family_id=plan.family_id)
            .execution_options(synchronize_session=False)
        )
    return made


async def _revoke(session: AsyncSession, token: TokenRecord, exchange: Exchange) -> None:
    """RFC 7009: a refresh token takes its whole family along; an access token goes alone."""
    if token.kind == TokenKind.REFRESH and token.family_id is not None:
        await revoke_family(session, token.family_id, exchange)
    await _retire(session, token, exchange)
    log.info("oauth token revoked", extra={"token_id": str(token.pk)})


async def settle(
    session: AsyncSession, exchange: Exchange, outcome: Outcome, config: ServerConfig
) -> Outcome:
    """Apply what Authlib decided at the token, revocation or introspection endpoint."""
    if exchange.replayed:
        return await _replay(session, exchange.replayed_family, exchange, outcome)
    if outcome.status != 200:
        return outcome
    if exchange.consumed is not None and not await _consume(session, exchange.consumed, exchange):
        return await _replay(session, exchange.consumed.family_id, exchange, _replay_refusal())
    if exchange.rotated is not None and not await _retire(session, exchange.rotated, exchange):
        return await _replay(session, exchange.rotated.family_id, exchange, _replay_refusal())
    if exchange.plan is not None:
        assert isinstance(outcome.body, dict)
        outcome.body = {**await _issue(session, exchange.plan, config), **outcome.body}
    if exchange.revoked is not None:
        await _revoke(session, exchange.revoked, exchange)
    return outcome
