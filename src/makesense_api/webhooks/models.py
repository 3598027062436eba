"""Webhook tables: endpoints, deliveries (one per endpoint and domain event) and attempts.

A delivery's `msg_id` is its Standard Webhooks `webhook-id`: the same on every attempt, so a
receiver de-duplicates by it. `body` is the exact JSON sent, fixed when the delivery is made.
Signing secrets must be usable for HMAC, so they cannot be hashed: they are stored encrypted
with `MAKESENSE_WEBHOOKS_SECRET_KEY` when it is set (see `webhooks.secrets`).
"""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field

from makesense_api.kit.models import Entity, created_field
from makesense_api.kit.types import AwareDateTime


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (or being attempted)
    SUCCEEDED = "succeeded"  # a 2xx answer
    FAILED = "failed"  # attempts exhausted, the endpoint answered 410, or it was disabled


class WebhookEndpoint(Entity, table=True):
    """A URL owned by a chapter (its admins) or a partner, with the events it wants."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (
        sa.CheckConstraint("(chapter_id IS NULL) <> (partner_id IS NULL)", name="one_owner"),
        sa.Index("ix_webhook_endpoint_chapter", "chapter_id"),
        sa.Index("ix_webhook_endpoint_partner", "partner_id"),
    )

    chapter_id: uuid.UUID | None = Field(
        default=None, foreign_key="chapter.id", ondelete="CASCADE"
    )
    partner_id: uuid.UUID | None = Field(
        default=None, foreign_key="partner_organisation.id", ondelete="CASCADE"
    )
    # Whose reads a chapter endpoint's payloads follow: the admin who registered it.
    created_by_id: uuid.UUID | None = Field(
        default=None, foreign_key="person.id", ondelete="SET NULL"
    )
    url: str = Field(sa_type=sa.String(2000))
    description: str | None = Field(default=None, sa_type=sa.String(200))
    event_types: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Read scopes of the token that registered it: payloads never show more than they allow.
    scopes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # Only events of this chapter's subtree; None: wherever the owner may read.
    subtree_id: uuid.UUID | None = Field(
        default=None, foreign_key="chapter.id", ondelete="CASCADE"
    )
    secret: str = Field(sa_type=sa.String(500))
    previous_secret: str | None = Field(default=None, sa_type=sa.String(500))
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    disabled_reason: str | None = Field(default=None, sa_type=sa.String(200))


class WebhookDelivery(Entity, table=True):
    """One message to one endpoint, retried until a 2xx or until attempts run out."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "domain_event_id"),
        sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_endpoint_created", "endpoint_id", "created_at", "id"),
    )

    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoint.id", ondelete="CASCADE")
    # The domain event announced; None for a test ping.
    domain_event_id: uuid.UUID | None = None
    msg_id: str = Field(sa_type=sa.String(64), unique=True)
    event_type: str = Field(sa_type=sa.String(64))
    body: str = Field(sa_type=sa.Text)
    status: str = Field(default=DeliveryStatus.PENDING.value, sa_type=sa.String(16))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    last_status_code: int | None = None
    completed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class WebhookAttempt(Entity, table=True):
    """One HTTP request of a delivery, as the delivery log shows it."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (
        sa.Index("ix_webhook_attempt_delivery", "delivery_id", "number"),
        sa.Index("ix_webhook_attempt_endpoint_created", "endpoint_id", "created_at", "id"),
    )

    delivery_id: uuid.UUID = Field(foreign_key="webhook_delivery.id", ondelete="CASCADE")
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoint.id", ondelete="CASCADE")
    number: int
    started_at: datetime = created_field()
    status_code: int | None = None
    succeeded: bool = False
    latency_ms: int = 0
    error: str | None = Field(default=None, sa_type=sa.String(300))
    response_excerpt: str | None = Field(default=None, sa_type=sa.String(500))
