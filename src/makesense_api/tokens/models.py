"""The `access_token` table: one row per token, keyed by a hash of it, never by the token.

A token belongs to exactly one subject, a person or a partner organisation. Tokens are 256-bit
random strings, so a fast unsalted SHA-256 is enough to make a stolen table useless: there is
nothing to brute-force.
"""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from makesense_api.kit.models import Entity
from makesense_api.kit.types import AwareDateTime


class TokenKind(StrEnum):
    PERSONAL = "personal"  # made by a person for their own scripts
    ACCESS = "access"  # issued by the OAuth server to a client
    REFRESH = "refresh"  # exchanged at the OAuth token endpoint only, never a bearer


class AccessToken(Entity, table=True):
    __tablename__ = "access_token"
    __table_args__ = (
        sa.CheckConstraint("(person_id IS NULL) <> (partner_id IS NULL)", name="one_subject"),
        sa.CheckConstraint("kind IN ('personal', 'access', 'refresh')", name="known_kind"),
        sa.Index("ix_access_token_person_kind", "person_id", "kind"),
        sa.Index("ix_access_token_partner", "partner_id"),
        # The purge finds tokens past their expiry, or revoked, older than the retention.
        sa.Index("ix_access_token_expires_at", "expires_at"),
        sa.Index("ix_access_token_revoked_at", "revoked_at"),
    )

    kind: str = Field(sa_type=sa.String(16))
    name: str | None = Field(default=None, sa_type=sa.String(100))
    # Hex SHA-256 of the whole token; the token itself is never stored.
    token_hash: str = Field(sa_type=sa.String(64), unique=True, index=True)
    # The first characters of the secret part, so owners can tell their tokens apart.
    prefix: str = Field(sa_type=sa.String(8))
    person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", ondelete="CASCADE")
    partner_id: uuid.UUID | None = Field(
        default=None, foreign_key="partner_organisation.id", ondelete="CASCADE"
    )
    client_id: str | None = Field(default=None, sa_type=sa.String(64))
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Chapter ids (as strings) whose subtrees bound the token; None means unrestricted.
    reach: list[str] | None = Field(default=None, sa_type=sa.JSON)
    expires_at: datetime = Field(sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Tokens descended from one authorization (its code and every refresh): revoked together.
    family_id: uuid.UUID | None = Field(default=None, index=True)
