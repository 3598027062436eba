"""`/v1/webhooks`, `/v1/webhook-deliveries`: endpoints, their delivery log, and what they
receive (the `webhooks` section of the OpenAPI document)."""

import dataclasses
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from makesense_api.authz.principal import Scope
from makesense_api.kit.pagination import Page
from makesense_api.rest.operations import Call, NoQuery, Registry
from makesense_api.rest.params import PageQuery
from makesense_api.rest.schemas import Out
from makesense_api.webhooks import catalog
from makesense_api.webhooks import service as webhooks
from makesense_api.webhooks.models import DeliveryStatus
from makesense_api.webhooks.schemas import (
    AttemptView,
    CreatedEndpoint,
    DeliveryView,
    EndpointCreate,
    EndpointUpdate,
    EndpointView,
    SecretRotation,
)

api = Registry("webhooks")
ENDPOINT = "/webhooks/{endpoint_id:uuid}"
DELIVERY = "/webhook-deliveries/{delivery_id:uuid}"


class WebhookEndpoint(Out):
    """A URL receiving signed messages (Standard Webhooks) for the event types it lists."""

    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    chapter_id: uuid.UUID | None = Field(description="The owning chapter (its admins manage).")
    partner_id: uuid.UUID | None = Field(description="Or the owning partner organisation.")
    subtree_id: uuid.UUID | None = Field(description="Only events of this chapter's subtree.")
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None = Field(description="Why: paused, or the endpoint answered 410.")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the previous secret also signs each message."
    )
    created_at: datetime
    updated_at: datetime


class WebhookEndpointWithSecret(WebhookEndpoint):
    """An endpoint and its signing secret, shown this once: store it now."""

    secret: str = Field(description="`whsec_…`: verify `webhook-signature` with it.")


class WebhookDelivery(Out):
    """One message to one endpoint; `msg_id` is its `webhook-id` on every attempt."""

    id: uuid.UUID
    endpoint_id: uuid.UUID
    msg_id: str
    event_type: str
    status: str = Field(description="pending, succeeded or failed.")
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    completed_at: datetime | None
    created_at: datetime
    body: str | None = Field(
        description="The exact JSON body sent; null for callers that lack one of the scopes "
        "the payload was read with."
    )


class WebhookAttempt(Out):
    """One HTTP request of a delivery."""

    id: uuid.UUID
    delivery_id: uuid.UUID
    number: int
    started_at: datetime
    status_code: int | None = Field(description="Null when no answer came (see `error`).")
    succeeded: bool
    latency_ms: int
    error: str | None
    response_excerpt: str | None = Field(description="The first 500 bytes of the answer.")


class WebhookAttemptList(Out):
    """The attempts of a delivery, in order."""

    items: list[WebhookAttempt]


class EndpointQuery(PageQuery):
    chapter_id: uuid.UUID | None = Field(default=None, description="Endpoints of this chapter.")


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = None


def _with_secret(created: CreatedEndpoint) -> dict[str, Any]:
    return {**dataclasses.asdict(created.endpoint), "secret": created.secret}


@api.get(
    "/webhooks", "List webhook endpoints", response=WebhookEndpoint, collection=True,
    scope=Scope.WEBHOOKS_READ,
)
async def list_webhook_endpoints(c: Call[EndpointQuery, None]) -> Page[EndpointView]:
    """Endpoints the caller may read: those of chapters it administers, and a partner's own."""
    return await webhooks.list_endpoints(c.ctx, c.query.chapter_id, c.query.cursor, c.query.limit)


@api.post(
    "/webhooks", "Register a webhook endpoint", response=WebhookEndpointWithSecret,
    status=201, scope=Scope.WEBHOOKS_WRITE, location=lambda v: f"/v1/webhooks/{v['id']}",
)
async def create_webhook_endpoint(c: Call[NoQuery, EndpointCreate]) -> dict[str, Any]:
    """Register a URL for a chapter (its admins) or, without `chapter_id`, for the calling
    partner. URLs resolving to internal addresses are refused. The signing secret is in this
    response only."""
    return _with_secret(await webhooks.create(c.ctx, c.body))


@api.get(ENDPOINT, "Get a webhook endpoint", response=WebhookEndpoint, scope=Scope.WEBHOOKS_READ)
async def get_webhook_endpoint(c: Call[NoQuery, None]) -> EndpointView:
    """One endpoint, for its managers."""
    return await webhooks.get(c.ctx, c.id("endpoint_id"))


@api.patch(
    ENDPOINT, "Edit a webhook endpoint", response=WebhookEndpoint,
    scope=Scope.WEBHOOKS_WRITE, current=get_webhook_endpoint,
)
async def update_webhook_endpoint(c: Call[NoQuery, EndpointUpdate]) -> EndpointView:
    """Change the URL, event types, subtree or description; `enabled` pauses or resumes it
    (resuming sends what waited meanwhile)."""
    return await webhooks.update(c.ctx, c.id("endpoint_id"), c.body)


@api.delete(ENDPOINT, "Delete a webhook endpoint", response=None, scope=Scope.WEBHOOKS_WRITE)
async def delete_webhook_endpoint(c: Call[NoQuery, None]) -> None:
    """Remove an endpoint with its delivery log."""
    await webhooks.delete(c.ctx, c.id("endpoint_id"))


@api.post(
    ENDPOINT + "/rotate-secret", "Rotate the signing secret",
    response=WebhookEndpointWithSecret, body_required=False, scope=Scope.WEBHOOKS_WRITE,
)
async def rotate_webhook_secret(c: Call[NoQuery, SecretRotation]) -> dict[str, Any]:
    """Issue a new secret (in this response only); the previous one keeps signing beside it
    for `overlap_s` seconds, so receivers can switch without losing a message."""
    return _with_secret(await webhooks.rotate_secret(c.ctx, c.id("endpoint_id"), c.body))


@api.post(
    ENDPOINT + "/ping", "Send a test ping", response=WebhookDelivery, status=202,
    scope=Scope.WEBHOOKS_WRITE, conflicts=True,
)
async def ping_webhook_endpoint(c: Call[NoQuery, None]) -> DeliveryView:
    """Queue a signed `webhook.ping` message; follow it in the delivery log."""
    return await webhooks.ping(c.ctx, c.id("endpoint_id"))


@api.get(
    ENDPOINT + "/deliveries", "List an endpoint's deliveries", response=WebhookDelivery,
    collection=True, scope=Scope.WEBHOOKS_READ,
)
async def list_webhook_deliveries(c: Call[DeliveryQuery, None]) -> Page[DeliveryView]:
    """The endpoint's deliveries, oldest first, optionally of one status."""
    q = c.query
    status = q.status.value if q.status else None
    return await webhooks.list_deliveries(c.ctx, c.id("endpoint_id"), status, q.cursor, q.limit)


@api.get(DELIVERY, "Get a delivery", response=WebhookDelivery, scope=Scope.WEBHOOKS_READ)
async def get_webhook_delivery(c: Call[NoQuery, None]) -> DeliveryView:
    """One delivery of an endpoint the caller manages."""
    return await webhooks.get_delivery(c.ctx, c.id("delivery_id"))


@api.get(
    DELIVERY + "/attempts", "List a delivery's attempts", response=WebhookAttemptList,
    scope=Scope.WEBHOOKS_READ,
)
async def list_webhook_attempts(c: Call[NoQuery, None]) -> dict[str, list[AttemptView]]:
    """Every attempt: status, latency, error and the start of the answer."""
    return {"items": await webhooks.list_attempts(c.ctx, c.id("delivery_id"))}


@api.post(
    DELIVERY + "/redeliver", "Redeliver", response=WebhookDelivery, status=202,
    scope=Scope.WEBHOOKS_WRITE,
)
async def redeliver_webhook(c: Call[NoQuery, None]) -> DeliveryView:
    """Send the delivery again now, with the same `webhook-id`."""
    return await webhooks.redeliver(c.ctx, c.id("delivery_id"))


# -- the `webhooks` section of the OpenAPI document -------------------------------------------

SIGNATURE_HEADERS = [
    ("webhook-id", "The message id, the same on every attempt: de-duplicate by it."),
    ("webhook-timestamp", "Seconds since the epoch when this attempt was signed."),
    ("webhook-signature", "Space-separated `v1,<base64 HMAC-SHA256>` signatures of "
     "`id.timestamp.body`, one per live secret (two during a rotation's overlap)."),
]


def outgoing_models() -> list[type[BaseModel]]:
    """The models of every payload's `data`, for the document's components."""
    models = [kind.model for kind in catalog.EVENT_TYPES.values()] + [catalog.WebhookPing]
    return list(dict.fromkeys(models))


def _message(type_: str, description: str, ref: dict[str, Any]) -> dict[str, Any]:
    body = {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"const": type_},
            "timestamp": {"type": "string", "format": "date-time",
                          "description": "When it happened."},
            "data": ref,
        },
    }
    return {
        "post": {
            "operationId": "webhook_" + type_.replace(".", "_"),
            "summary": description,
            "description": f"{description} `data` is the subject as the endpoint's owner may "
            "read it through the REST API; nothing is sent for subjects it may not see.",
            "tags": ["webhooks"],
            "parameters": [
                {"name": n, "in": "header", "required": True, "description": d,
                 "schema": {"type": "string"}}
                for n, d in SIGNATURE_HEADERS
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "2XX": {"description": "Received; any other answer is retried with backoff "
                        "for more than a day."},
                "410": {"description": "Gone: the endpoint is disabled."},
            },
        }
    }


def outgoing(keys: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    """The OpenAPI 3.1 `webhooks` object: one message per event type (and the ping)."""
    section = {
        type_: _message(type_, kind.description, keys[(kind.model, "serialization")])
        for type_, kind in catalog.EVENT_TYPES.items()
    }
    section[catalog.PING] = _message(
        catalog.PING, "A test ping.", keys[(catalog.WebhookPing, "serialization")]
    )
    return section
