"""Inputs and read models for tokens. No read model carries a hash; only `CreatedToken` and
`IssuedToken` carry a plaintext token, once, and keep it out of their `repr`."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import Field

from makesense_api.kit.schemas import Input


class PersonalTokenCreate(Input):
    """A personal access token for the calling person's own scripts and tools."""

    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    scopes: list[str] = Field(min_length=1, max_length=20)
    reach: list[uuid.UUID] | None = Field(
        default=None,
        max_length=50,
        description="Chapters whose subtrees bound the token; omitted means the caller's reach.",
    )
    expires_in_days: int = Field(
        ge=1,
        le=3_650,
        description="Lifetime in days, from 1 to MAKESENSE_PERSONAL_TOKEN_MAX_DAYS (365 unless "
        "configured otherwise).",
    )


@dataclass(frozen=True)
class TokenView:
    """A token as its owner sees it: how to recognise it, never how to use it."""

    id: uuid.UUID
    kind: str
    name: str | None
    prefix: str
    scopes: list[str]
    reach: list[uuid.UUID] | None
    client_id: str | None
    expires_at: datetime
    last_used_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class CreatedToken:
    """The answer to creating a personal token: the only time its plaintext is shown."""

    token: str = field(repr=False)
    view: TokenView


@dataclass(frozen=True)
class IssuedToken:
    """A token issued to an internal issuer (the OAuth server), with its plaintext."""

    id: uuid.UUID
    token: str = field(repr=False)
    kind: str
    expires_at: datetime
