"""Webhook endpoint mutations: register, edit, delete, rotate the secret, ping, redeliver."""

import strawberry

from makesense_api.graphql.context import Info
from makesense_api.graphql.errors import attempt, result_union
from makesense_api.graphql.inputs import given, ids_in
from makesense_api.graphql.relay import expect_id, to_global_id
from makesense_api.graphql.types.webhooks import WebhookDelivery, WebhookEndpoint
from makesense_api.webhooks import service as webhooks
from makesense_api.webhooks.schemas import CreatedEndpoint

UNSET = strawberry.UNSET


@strawberry.input(
    description="A new endpoint, for a chapter (its admins) or, without `chapterId`, for the "
    "calling partner."
)
class WebhookEndpointCreateInput:
    url: str = strawberry.field(description="Where to POST (http or https, not internal).")
    event_types: list[str] = strawberry.field(
        description="Event types to receive, e.g. `event.published` (see the OpenAPI webhooks)."
    )
    chapter_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The owning chapter."
    )
    subtree_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="Only events of this chapter's subtree."
    )
    description: str | None = strawberry.field(default=UNSET, description="A note.")


@strawberry.input(description="Changes to an endpoint; omitted fields stay as they are.")
class WebhookEndpointUpdateInput:
    id: strawberry.ID = strawberry.field(description="The endpoint.")
    url: str | None = strawberry.field(default=UNSET, description="Where to POST.")
    event_types: list[str] | None = strawberry.field(
        default=UNSET, description="Event types to receive."
    )
    subtree_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="Only events of this chapter's subtree; null: no filter."
    )
    description: str | None = strawberry.field(default=UNSET, description="A note.")
    enabled: bool | None = strawberry.field(
        default=UNSET, description="false pauses it; true resumes it, sending what waited."
    )


@strawberry.input(description="An endpoint to act on.")
class WebhookEndpointInput:
    id: strawberry.ID = strawberry.field(description="The endpoint.")


@strawberry.input(description="A new signing secret, with an overlap for the previous one.")
class WebhookEndpointRotateSecretInput:
    id: strawberry.ID = strawberry.field(description="The endpoint.")
    overlap_seconds: int | None = strawberry.field(
        default=UNSET,
        description="Seconds the previous secret keeps signing beside the new one (0–604800, "
        "default 86400).",
    )


@strawberry.input(description="A delivery to send again.")
class WebhookDeliveryRedeliverInput:
    id: strawberry.ID = strawberry.field(description="The delivery.")


@strawberry.type(description="The endpoint and its signing secret, shown this once.")
class WebhookEndpointSecretPayload:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")
    secret: str = strawberry.field(description="`whsec_…`: store it now; it is not shown again.")


@strawberry.type(description="The endpoint after the change.")
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")


@strawberry.type(description="The endpoint was deleted with its delivery log.")
class WebhookEndpointDeletePayload:
    deleted_id: strawberry.ID = strawberry.field(description="The ID the endpoint had.")


@strawberry.type(description="The delivery, queued to be sent.")
class WebhookDeliveryPayload:
    delivery: WebhookDelivery = strawberry.field(description="The delivery.")


WebhookEndpointSecretResult = result_union(
    WebhookEndpointSecretPayload, "WebhookEndpointSecretResult"
)
WebhookEndpointResult = result_union(WebhookEndpointPayload, "WebhookEndpointResult")
WebhookEndpointDeleteResult = result_union(
    WebhookEndpointDeletePayload, "WebhookEndpointDeleteResult"
)
WebhookDeliveryResult = result_union(WebhookDeliveryPayload, "WebhookDeliveryResult")


def _secret_payload(created: CreatedEndpoint) -> WebhookEndpointSecretPayload:
    return WebhookEndpointSecretPayload(
        endpoint=WebhookEndpoint.from_view(created.endpoint), secret=created.secret
    )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Register a webhook endpoint (`webhooks:write`); its signing secret is "
        "returned here only."
    )
    async def webhook_endpoint_create(
        self, info: Info, input: WebhookEndpointCreateInput
    ) -> WebhookEndpointSecretResult:  # type: ignore[valid-type]
        async def run() -> WebhookEndpointSecretPayload:
            data = ids_in(given(input), chapter_id="Chapter", subtree_id="Chapter")
            return _secret_payload(await webhooks.create(info.context.ctx, data))

        return await attempt(run)

    @strawberry.mutation(description="Change an endpoint, or pause or resume it.")
    async def webhook_endpoint_update(
        self, info: Info, input: WebhookEndpointUpdateInput
    ) -> WebhookEndpointResult:  # type: ignore[valid-type]
        async def run() -> WebhookEndpointPayload:
            data = ids_in(given(input), subtree_id="Chapter")
            endpoint_id = expect_id(data.pop("id"), "WebhookEndpoint")
            view = await webhooks.update(info.context.ctx, endpoint_id, data)
            return WebhookEndpointPayload(endpoint=WebhookEndpoint.from_view(view))

        return await attempt(run)

    @strawberry.mutation(description="Delete an endpoint and its delivery log.")
    async def webhook_endpoint_delete(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointDeleteResult:  # type: ignore[valid-type]
        async def run() -> WebhookEndpointDeletePayload:
            endpoint_id = expect_id(input.id, "WebhookEndpoint")
            await webhooks.delete(info.context.ctx, endpoint_id)
            return WebhookEndpointDeletePayload(
                deleted_id=to_global_id("WebhookEndpoint", endpoint_id)
            )

        return await attempt(run)

    @strawberry.mutation(
        description="Issue a new signing secret (returned here only); the previous one keeps "
        "signing beside it during the overlap."
    )
    async def webhook_endpoint_rotate_secret(
        self, info: Info, input: WebhookEndpointRotateSecretInput
    ) -> WebhookEndpointSecretResult:  # type: ignore[valid-type]
        async def run() -> WebhookEndpointSecretPayload:
            data = given(input, rename={"overlap_seconds": "overlap_s"})
            endpoint_id = expect_id(data.pop("id"), "WebhookEndpoint")
            return _secret_payload(
                await webhooks.rotate_secret(info.context.ctx, endpoint_id, data)
            )

        return await attempt(run)

    @strawberry.mutation(description="Queue a signed `webhook.ping` message to an endpoint.")
    async def webhook_endpoint_ping(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookDeliveryResult:  # type: ignore[valid-type]
        async def run() -> WebhookDeliveryPayload:
            endpoint_id = expect_id(input.id, "WebhookEndpoint")
            view = await webhooks.ping(info.context.ctx, endpoint_id)
            return WebhookDeliveryPayload(delivery=WebhookDelivery.from_view(view))

        return await attempt(run)

    @strawberry.mutation(description="Send a delivery again now, with the same `webhook-id`.")
    async def webhook_delivery_redeliver(
        self, info: Info, input: WebhookDeliveryRedeliverInput
    ) -> WebhookDeliveryResult:  # type: ignore[valid-type]
        async def run() -> WebhookDeliveryPayload:
            delivery_id = expect_id(input.id, "WebhookDelivery")
            view = await webhooks.redeliver(info.context.ctx, delivery_id)
            return WebhookDeliveryPayload(delivery=WebhookDelivery.from_view(view))

        return await attempt(run)
