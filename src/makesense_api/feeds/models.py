"""The `feed_token` table, and the indexes the registration change feeds read through.

A feed token lets a calendar app fetch its person's private calendar (`/v1/me/events.ics`)
with the token in the URL: calendar apps cannot send headers. Only its SHA-256 is stored; a
person may hold several (one per calendar app) and revoke each on its own.
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from makesense_api.events.models import Registration
from makesense_api.kit.models import Entity
from makesense_api.kit.types import AwareDateTime


class FeedToken(Entity, table=True):
    __tablename__ = "feed_token"
    __table_args__ = (sa.Index("ix_feed_token_person_created", "person_id", "created_at"),)

    person_id: uuid.UUID = Field(foreign_key="person.id", ondelete="CASCADE")
    name: str = Field(sa_type=sa.String(100))
    # Hex SHA-256 of the whole token; the token itself is never stored.
    token_hash: str = Field(sa_type=sa.String(64), unique=True, index=True)
    # The first characters of the secret part, so the owner can tell tokens apart.
    prefix: str = Field(sa_type=sa.String(8))
    last_used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


# Change feeds of one event's registrations and of one person's: `updated_at` after an instant,
# within the event or the person (`feeds.registrations`).
REGISTRATION_TABLE: sa.Table = Registration.__table__  # type: ignore[attr-defined]
sa.Index(
    "ix_registration_event_updated",
    REGISTRATION_TABLE.c.event_id,
    REGISTRATION_TABLE.c.updated_at,
)
sa.Index(
    "ix_registration_person_updated",
    REGISTRATION_TABLE.c.person_id,
    REGISTRATION_TABLE.c.updated_at,
)
