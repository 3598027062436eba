"""The base every table model extends: UUIDv7 key, created/updated instants, naming rules."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from makesense_api.kit.clock import utcnow
from makesense_api.kit.ids import new_id
from makesense_api.kit.types import AwareDateTime

# Named constraints: SQLite batch migrations need them, and names stay stable across databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def created_field() -> Any:
    return Field(default_factory=utcnow, sa_type=AwareDateTime, nullable=False)


def updated_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=AwareDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


class Entity(SQLModel):
    """Columns shared by every entity table."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()


class Tombstone(SQLModel, table=True):
    """A deleted or hidden row, kept so change-feed clients learn to drop their copy."""

    __tablename__ = "tombstone"
    __table_args__ = (sa.Index("ix_tombstone_entity_deleted", "entity", "deleted_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    entity: str = Field(sa_type=sa.String(40))
    entity_id: uuid.UUID
    chapter_id: uuid.UUID | None = None
    deleted_at: datetime = created_field()


class DomainEvent(SQLModel, table=True):
    """Something that happened, written in the transaction that made it happen.

    It is the outbox: notifications (webhooks, subscriptions) are derived from these rows after
    commit, so a rolled-back change never announces anything.
    """

    __tablename__ = "domain_event"
    __table_args__ = (
        sa.Index("ix_domain_event_type_created", "type", "created_at"),
        # The webhook fan-out's queue: only rows not fanned out yet are indexed.
        sa.Index(
            "ix_domain_event_webhooks_pending",
            "id",
            sqlite_where=sa.text("webhooks_at IS NULL"),
            postgresql_where=sa.text("webhooks_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    type: str = Field(sa_type=sa.String(64))
    chapter_id: uuid.UUID | None = Field(default=None, index=True)
    subject_id: uuid.UUID
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = created_field()
    # When webhook deliveries were made from it (webhooks.fanout); None: not yet.
    webhooks_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
