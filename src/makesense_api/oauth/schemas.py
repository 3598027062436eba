"""Inputs and read models for OAuth clients. No read model carries a secret hash; only
`CreatedClient` carries a plaintext secret, once, and keeps it out of its `repr`."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import Field

from makesense_api.kit.schemas import Input


class ClientCreate(Input):
    """Register an application. Exactly one owner: a chapter or a partner organisation."""

    name: str = Field(min_length=1, max_length=100, description="Shown on the consent page.")
    chapter_id: uuid.UUID | None = Field(default=None, description="Owning chapter.")
    partner_id: uuid.UUID | None = Field(default=None, description="Owning partner.")
    client_type: Literal["confidential", "public"] = Field(
        description="confidential: holds a secret (servers); public: mobile and browser apps."
    )
    redirect_uris: list[str] = Field(default_factory=list, max_length=10)
    grant_types: list[str] = Field(min_length=1, max_length=3)
    scopes: list[str] = Field(min_length=1, max_length=20)
    reach: list[uuid.UUID] | None = Field(
        default=None,
        max_length=50,
        description="Chapters whose subtrees bound the client's tokens; a chapter's clients "
        "default to that chapter.",
    )


class ClientUpdate(Input):
    """Change what a client may ask for; omitted fields keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    redirect_uris: list[str] | None = Field(default=None, max_length=10)
    grant_types: list[str] | None = Field(default=None, min_length=1, max_length=3)
    scopes: list[str] | None = Field(default=None, min_length=1, max_length=20)
    reach: list[uuid.UUID] | None = Field(
        default=None,
        max_length=50,
        description="Replaces the reach when given; null: no bound (a chapter's clients: "
        "that chapter).",
    )


@dataclass(frozen=True)
class ClientView:
    """A client as its managers see it; the secret is never part of it."""

    id: uuid.UUID
    client_id: str
    name: str
    client_type: str
    chapter_id: uuid.UUID | None
    partner_id: uuid.UUID | None
    redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    reach: list[uuid.UUID] | None
    secret_rotated_at: datetime | None
    # Until when the secret replaced by the last rotation still works; None: it does not.
    previous_secret_expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CreatedClient:
    """A new client, or a rotated secret: the only time the secret is shown (None: public)."""

    view: ClientView
    client_secret: str | None = field(repr=False)
