"""Webhook endpoint, delivery and attempt types, the `webhookEndpoints` list, and `node(id:)`
for endpoints and deliveries (all through the webhooks service's authorization)."""

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from makesense_api.context import Ctx
from makesense_api.graphql import loaders, nodes
from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import Connection, Node, connection, expect_id, to_global_id
from makesense_api.graphql.relay import window as relay_window
from makesense_api.graphql.types.chapters import Chapter, chapter_loader
from makesense_api.graphql.types.events import value_of
from makesense_api.kit.errors import NotFound
from makesense_api.webhooks import service as webhooks
from makesense_api.webhooks.schemas import AttemptView, DeliveryView, EndpointView


@strawberry.enum(description="Where a delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Waiting for its next attempt.")
    SUCCEEDED = strawberry.enum_value("succeeded", description="The endpoint answered 2xx.")
    FAILED = strawberry.enum_value(
        "failed", description="Attempts ran out, or the endpoint answered 410 Gone."
    )


@strawberry.type(description="One HTTP request of a delivery, as the delivery log shows it.")
class WebhookAttempt:
    number: int = strawberry.field(description="1 for the first attempt.")
    started_at: datetime = strawberry.field(description="When the request started.")
    status_code: int | None = strawberry.field(description="HTTP status; null without answer.")
    succeeded: bool = strawberry.field(description="Whether the answer was a 2xx.")
    latency_ms: int = strawberry.field(description="Milliseconds until the answer or failure.")
    error: str | None = strawberry.field(description="Why no usable answer came, if so.")
    response_excerpt: str | None = strawberry.field(
        description="The first 500 bytes of the answer."
    )

    @classmethod
    def from_view(cls, v: AttemptView) -> "WebhookAttempt":
        return cls(
            number=v.number, started_at=v.started_at, status_code=v.status_code,
            succeeded=v.succeeded, latency_ms=v.latency_ms, error=v.error,
            response_excerpt=v.response_excerpt,
        )


@strawberry.type(
    description="One signed message to one endpoint; `msgId` is its `webhook-id` header on "
    "every attempt."
)
class WebhookDelivery(Node):
    raw_id: strawberry.Private[uuid.UUID]
    endpoint_raw_id: strawberry.Private[uuid.UUID]
    msg_id: str = strawberry.field(description="The `webhook-id`: receivers de-duplicate by it.")
    event_type: str = strawberry.field(description="The event type, e.g. `event.published`.")
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")
    attempt_count: int = strawberry.field(description="Attempts made so far.")
    next_attempt_at: datetime | None = strawberry.field(description="When it is tried next.")
    last_attempt_at: datetime | None = strawberry.field(description="When it was last tried.")
    last_status_code: int | None = strawberry.field(description="The last HTTP status.")
    completed_at: datetime | None = strawberry.field(description="When it succeeded or failed.")
    created_at: datetime = strawberry.field(description="When the message was made.")
    body: str | None = strawberry.field(
        description="The exact JSON body sent; null for callers that lack one of the scopes "
        "the payload was read with."
    )

    @classmethod
    def from_view(cls, v: DeliveryView) -> "WebhookDelivery":
        return cls(
            id=to_global_id("WebhookDelivery", v.id), raw_id=v.id, endpoint_raw_id=v.endpoint_id,
            msg_id=v.msg_id, event_type=v.event_type, status=WebhookDeliveryStatus(v.status),
            attempt_count=v.attempts, next_attempt_at=v.next_attempt_at,
            last_attempt_at=v.last_attempt_at, last_status_code=v.last_status_code,
            completed_at=v.completed_at, created_at=v.created_at, body=v.body,
        )

    @strawberry.field(description="Every attempt, in order (one query per list of deliveries).")
    async def attempts(self, info: Info) -> list[WebhookAttempt]:
        views = await attempts_loader(info).load(self.raw_id)
        return [WebhookAttempt.from_view(v) for v in views or []]

    @strawberry.field(description="The endpoint it was sent to.")
    async def endpoint(self, info: Info) -> "WebhookEndpoint | None":
        view = await endpoint_loader(info).load(self.endpoint_raw_id)
        return WebhookEndpoint.from_view(view) if view else None


@strawberry.type(
    description="A URL receiving signed messages (Standard Webhooks) for the event types it "
    "lists; owned by a chapter (its admins) or a partner organisation."
)
class WebhookEndpoint(Node):
    raw_id: strawberry.Private[uuid.UUID]
    chapter_raw_id: strawberry.Private[uuid.UUID | None]
    subtree_raw_id: strawberry.Private[uuid.UUID | None]
    url: str = strawberry.field(description="Where messages are POSTed.")
    description: str | None = strawberry.field(description="A note from its owner.")
    event_types: list[str] = strawberry.field(description="The event types it receives.")
    partner_id: strawberry.ID | None = strawberry.field(
        description="The owning partner organisation's UUID, if a partner owns it."
    )
    enabled: bool = strawberry.field(description="Whether messages are being sent.")
    disabled_at: datetime | None = strawberry.field(description="When it was disabled.")
    disabled_reason: str | None = strawberry.field(
        description="Why: paused by its owner, or the endpoint answered 410 Gone."
    )
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until then the previous secret also signs each message."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: EndpointView) -> "WebhookEndpoint":
        return cls(
            id=to_global_id("WebhookEndpoint", v.id), raw_id=v.id, chapter_raw_id=v.chapter_id,
            subtree_raw_id=v.subtree_id, url=v.url, description=v.description,
            event_types=list(v.event_types),
            partner_id=strawberry.ID(str(v.partner_id)) if v.partner_id else None,
            enabled=v.enabled, disabled_at=v.disabled_at, disabled_reason=v.disabled_reason,
            previous_secret_expires_at=v.previous_secret_expires_at,
            created_at=v.created_at, updated_at=v.updated_at,
        )

    @strawberry.field(description="The owning chapter, if a chapter owns it.")
    async def chapter(self, info: Info) -> Chapter | None:
        return await _chapter(info, self.chapter_raw_id)

    @strawberry.field(description="Only events of this chapter's subtree are sent, if set.")
    async def subtree(self, info: Info) -> Chapter | None:
        return await _chapter(info, self.subtree_raw_id)

    @strawberry.field(description="Its deliveries, oldest first (the delivery log).")
    async def deliveries(
        self,
        info: Info,
        status: Annotated[
            WebhookDeliveryStatus | None, strawberry.argument(description="Only this status.")
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection[WebhookDelivery]:
        key = (self.raw_id, relay_window(first, after, None, None))
        page = await deliveries_loader(info, value_of(status)).load(key)
        return connection(page.replace([WebhookDelivery.from_view(v) for v in page.items]))


async def _chapter(info: Info, raw: uuid.UUID | None) -> Chapter | None:
    view = await chapter_loader(info).load(raw) if raw else None
    return Chapter.from_view(view) if view else None


def endpoint_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, EndpointView | None]":
    return loaders.by_id(info.context, "webhook_endpoint", webhooks.get_many)


def attempts_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, list[AttemptView] | None]":
    return loaders.by_id(info.context, "webhook_attempts", webhooks.attempts_for)


def deliveries_loader(
    info: Info, status: str | None
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[DeliveryView]]":
    """One loader per status filter: one query per nesting level and filter."""

    async def fetch(
        ctx: Ctx, ids: list[uuid.UUID], w: loaders.Window
    ) -> dict[uuid.UUID, loaders.Page[DeliveryView]]:
        return await webhooks.pages_for_endpoints(ctx, ids, w, status)

    return loaders.pages_by_id(info.context, f"webhook_deliveries:{status}", fetch)


@nodes.register("WebhookEndpoint")
async def _endpoint_node(info: Info, raw: uuid.UUID) -> WebhookEndpoint | None:
    view = await endpoint_loader(info).load(raw)
    return WebhookEndpoint.from_view(view) if view else None


@nodes.register("WebhookDelivery")
async def _delivery_node(info: Info, raw: uuid.UUID) -> WebhookDelivery | None:
    try:
        return WebhookDelivery.from_view(await webhooks.get_delivery(info.context.ctx, raw))
    except NotFound:
        return None


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="Webhook endpoints the caller manages: those of chapters it administers "
        "(`webhooks:read`), and a partner's own."
    )
    async def webhook_endpoints(
        self,
        info: Info,
        chapter: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this chapter's.")
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection[WebhookEndpoint]:
        chapter_id = expect_id(chapter, "Chapter", "chapter") if chapter is not None else None
        page = await webhooks.list_endpoints(
            info.context.ctx, chapter_id, relay_window(first, after, None, None)
        )
        loader = endpoint_loader(info)
        for v in page.items:
            loader.prime(v.id, v)
        return connection(page.replace([WebhookEndpoint.from_view(v) for v in page.items]))
