"""Webhook inputs and read models."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field

from makesense_api.kit.schemas import Input

MAX_OVERLAP_S = 7 * 86_400


class EndpointCreate(Input):
    """A new endpoint, owned by one chapter (its admins) or by the calling partner."""

    url: str = Field(min_length=8, max_length=2000, description="Where to POST (http or https).")
    event_types: list[str] = Field(
        min_length=1, max_length=50, description="Event types to send (see the webhooks list)."
    )
    chapter_id: uuid.UUID | None = Field(
        default=None, description="The owning chapter; omit when a partner registers its own."
    )
    subtree_id: uuid.UUID | None = Field(
        default=None, description="Only events of this chapter's subtree (default: all)."
    )
    description: str | None = Field(default=None, max_length=200)


class EndpointUpdate(Input):
    """Changes to an endpoint; omitted fields stay as they are."""

    url: str | None = Field(default=None, min_length=8, max_length=2000)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=50)
    subtree_id: uuid.UUID | None = None
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = Field(
        default=None, description="false pauses deliveries; true resumes a disabled endpoint."
    )


class SecretRotation(Input):
    """How long the previous secret keeps signing beside the new one."""

    overlap_s: int = Field(
        default=86_400, ge=0, le=MAX_OVERLAP_S,
        description="Seconds both secrets sign each message (0–604800; default one day).",
    )


@dataclass(frozen=True)
class EndpointView:
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    chapter_id: uuid.UUID | None
    partner_id: uuid.UUID | None
    subtree_id: uuid.UUID | None
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CreatedEndpoint:
    """An endpoint with its signing secret: shown at creation and rotation only."""

    endpoint: EndpointView
    secret: str


@dataclass(frozen=True)
class AttemptView:
    id: uuid.UUID
    delivery_id: uuid.UUID
    number: int
    started_at: datetime
    status_code: int | None
    succeeded: bool
    latency_ms: int
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True)
class DeliveryView:
    id: uuid.UUID
    endpoint_id: uuid.UUID
    msg_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    completed_at: datetime | None
    created_at: datetime
    body: str | None  # None for callers lacking the scopes the payload was read with
