"""OAuth tables: registered clients, authorization codes, and remembered consents.

Secrets and codes are stored as SHA-256 hex digests only. Both are 256-bit random strings, so a
fast unsalted hash is enough: there is nothing to brute-force in a stolen table.
"""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from makesense_api.kit.models import Entity
from makesense_api.kit.types import AwareDateTime


class ClientType(StrEnum):
    CONFIDENTIAL = "confidential"  # holds a secret: a server-side site or integration
    PUBLIC = "public"  # cannot keep a secret: a mobile app or a single-page app


class GrantType(StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    CLIENT_CREDENTIALS = "client_credentials"
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a grant type


class OAuthClient(Entity, table=True):
    """An application registered by a chapter (its site or app) or by a partner organisation."""

    __tablename__ = "oauth_client"
    __table_args__ = (
        sa.CheckConstraint("(chapter_id IS NULL) <> (partner_id IS NULL)", name="one_owner"),
        sa.CheckConstraint("client_type IN ('confidential', 'public')", name="known_type"),
        sa.CheckConstraint(
            "(client_type = 'public') = (secret_hash IS NULL)", name="secret_iff_confidential"
        ),
        sa.Index("ix_oauth_client_chapter", "chapter_id"),
        sa.Index("ix_oauth_client_partner", "partner_id"),
    )

    # The public identifier clients send; random, never derived from the name.
    client_id: str = Field(sa_type=sa.String(64), unique=True, index=True)
    secret_hash: str | None = Field(default=None, sa_type=sa.String(64))
    name: str = Field(sa_type=sa.String(100))
    client_type: str = Field(sa_type=sa.String(16))
    chapter_id: uuid.UUID | None = Field(
        default=None, foreign_key="chapter.id", ondelete="CASCADE"
    )
    partner_id: uuid.UUID | None = Field(
        default=None, foreign_key="partner_organisation.id", ondelete="CASCADE"
    )
    # Compared character for character: no prefix or wildcard leniency, and port leniency only
    # for loopback IP literals (`oauth.rules.redirect_uri_matches`).
    redirect_uris: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    grant_types: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Chapter ids (as strings) whose subtrees bound every token of the client; None: no bound.
    reach: list[str] | None = Field(default=None, sa_type=sa.JSON)
    secret_rotated_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # The secret replaced by the last rotation keeps working until this instant (the overlap
    # lets a deployment pick up the new secret without downtime).
    previous_secret_hash: str | None = Field(default=None, sa_type=sa.String(64))
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class AuthorizationCode(Entity, table=True):
    """A one-time code from the authorization endpoint, bound to client, person and PKCE."""

    __tablename__ = "oauth_code"
    # The purge deletes expired codes by expiry.
    __table_args__ = (sa.Index("ix_oauth_code_expires_at", "expires_at"),)

    code_hash: str = Field(sa_type=sa.String(64), unique=True, index=True)
    oauth_client_id: uuid.UUID = Field(
        foreign_key="oauth_client.id", ondelete="CASCADE", index=True
    )
    person_id: uuid.UUID = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    redirect_uri: str = Field(sa_type=sa.String(500))
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    code_challenge: str = Field(sa_type=sa.String(128))
    code_challenge_method: str = Field(sa_type=sa.String(8))
    # Shared by every token this code leads to (refreshes included), so a replay revokes them.
    family_id: uuid.UUID
    expires_at: datetime = Field(sa_type=AwareDateTime)
    used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class Consent(Entity, table=True):
    """Scopes a person has approved for a client; a request within them skips the page."""

    __tablename__ = "oauth_consent"
    __table_args__ = (sa.UniqueConstraint("person_id", "oauth_client_id"),)

    person_id: uuid.UUID = Field(foreign_key="person.id", ondelete="CASCADE")
    oauth_client_id: uuid.UUID = Field(
        foreign_key="oauth_client.id", ondelete="CASCADE", index=True
    )
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
