"""Partner organisations, and grants: one row per (partner, chapter subtree, scope)."""

import uuid

import sqlalchemy as sa
from sqlmodel import Field

from makesense_api.kit.models import Entity


class PartnerOrganisation(Entity, table=True):
    __tablename__ = "partner_organisation"

    slug: str = Field(sa_type=sa.String(80), unique=True, index=True)
    name: str = Field(sa_type=sa.String(200))
    website: str | None = Field(default=None, sa_type=sa.String(500))
    active: bool = True


class PartnerGrant(Entity, table=True):
    __tablename__ = "partner_grant"
    __table_args__ = (
        sa.UniqueConstraint("partner_id", "chapter_id", "scope"),
        sa.Index("ix_partner_grant_chapter", "chapter_id", "partner_id"),
    )

    partner_id: uuid.UUID = Field(foreign_key="partner_organisation.id", ondelete="CASCADE")
    chapter_id: uuid.UUID = Field(foreign_key="chapter.id", ondelete="CASCADE")
    scope: str = Field(sa_type=sa.String(40))
    granted_by_id: uuid.UUID | None = Field(default=None, foreign_key="person.id")
