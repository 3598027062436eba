"""Remembered consent: the scopes a person approved for a client, asked for only once."""

import uuid
from collections.abc import Collection

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.oauth.models import Consent


async def _load(
    session: AsyncSession, person_id: uuid.UUID, client_pk: uuid.UUID
) -> Consent | None:
    stmt = (
        select(Consent)
        .where(Consent.person_id == person_id, Consent.oauth_client_id == client_pk)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(stmt)).first()


async def covers(
    session: AsyncSession, person_id: uuid.UUID, client_pk: uuid.UUID, scopes: Collection[str]
) -> bool:
    """Whether the person already approved every one of `scopes` for the client."""
    consent = await _load(session, person_id, client_pk)
    return consent is not None and set(scopes) <= set(consent.scopes)


async def remember(
    session: AsyncSession, person_id: uuid.UUID, client_pk: uuid.UUID, scopes: Collection[str]
) -> None:
    """Add `scopes` to what the person approved for the client."""
    consent = await _load(session, person_id, client_pk)
    if consent is None:
        try:
            async with session.begin_nested():
                session.add(
                    Consent(person_id=person_id, oauth_client_id=client_pk, scopes=sorted(scopes))
                )
            return
        except IntegrityError:
            # The same person approved in another tab at the same instant: merge into theirs.
            consent = await _load(session, person_id, client_pk)
            assert consent is not None
    consent.scopes = sorted(set(consent.scopes) | set(scopes))
    session.add(consent)
    await session.flush()
