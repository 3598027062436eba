"""Feed token mutations: make and revoke the credentials of the caller's calendar feed."""

import strawberry

from makesense_api.feeds import tokens as feed_tokens
from makesense_api.graphql.context import Info
from makesense_api.graphql.errors import attempt, result_union
from makesense_api.graphql.relay import expect_id
from makesense_api.graphql.types.feeds import FeedToken


@strawberry.input(description="A feed token for one calendar app.")
class FeedTokenCreateInput:
    name: str = strawberry.field(description="Which calendar app or device it is for.")


@strawberry.input(description="A feed token to revoke.")
class FeedTokenRevokeInput:
    id: strawberry.ID = strawberry.field(description="The feed token's ID.")


@strawberry.type(
    description="A new feed token: `token` and `feedUrl` are shown this once and never again."
)
class FeedTokenCreatePayload:
    feed_token: FeedToken = strawberry.field(description="The token, as it will be listed.")
    token: str = strawberry.field(description="The secret; only its hash is stored.")
    feed_url: str = strawberry.field(description="The URL to subscribe to from a calendar app.")


@strawberry.type(description="The feed token after revocation.")
class FeedTokenRevokePayload:
    feed_token: FeedToken = strawberry.field(description="The revoked token.")


FeedTokenCreateResult = result_union(FeedTokenCreatePayload, "FeedTokenCreateResult")
FeedTokenRevokeResult = result_union(FeedTokenRevokePayload, "FeedTokenRevokeResult")


@strawberry.type
class FeedMutations:
    @strawberry.mutation(
        description="Make a token for one calendar app to subscribe to the caller's private "
        "calendar (person tokens with `profile`; at most 20 live)."
    )
    async def feed_token_create(
        self, info: Info, input: FeedTokenCreateInput
    ) -> FeedTokenCreateResult:  # type: ignore[valid-type]
        async def run() -> FeedTokenCreatePayload:
            created = await feed_tokens.create(info.context.ctx, {"name": input.name})
            url = feed_tokens.feed_url(str(info.context.request.base_url), created.token)
            return FeedTokenCreatePayload(
                feed_token=FeedToken.from_view(created.view), token=created.token, feed_url=url
            )

        return await attempt(run)

    @strawberry.mutation(
        description="Revoke one of the caller's feed tokens: its calendar URL stops working "
        "at once."
    )
    async def feed_token_revoke(
        self, info: Info, input: FeedTokenRevokeInput
    ) -> FeedTokenRevokeResult:  # type: ignore[valid-type]
        async def run() -> FeedTokenRevokePayload:
            token_id = expect_id(input.id, "FeedToken")
            view = await feed_tokens.revoke(info.context.ctx, token_id)
            return FeedTokenRevokePayload(feed_token=FeedToken.from_view(view))

        return await attempt(run)
