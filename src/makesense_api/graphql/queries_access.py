"""Root query fields for access management, and `node(id:)` for its types.

Every refetch goes through the same service check as the lists: a client for its managers, a
grant for its chapter's admins, a partner for network admins (or itself), a personal token for
its owner. Anything else is null.
"""

import uuid
from typing import Annotated

import strawberry

from makesense_api.graphql import nodes
from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import Connection, connection, window
from makesense_api.graphql.types.access import (
    OAuthClient,
    Partner,
    PartnerGrant,
    PersonalAccessToken,
    oauth_client_loader,
    partner_loader,
)
from makesense_api.kit.errors import DomainError, NotFound
from makesense_api.partners import service as partners
from makesense_api.tokens import service as tokens


@nodes.register("OAuthClient")
async def _client_node(info: Info, raw: uuid.UUID) -> OAuthClient | None:
    view = await oauth_client_loader(info).load(raw)
    return OAuthClient.from_view(view) if view else None


@nodes.register("Partner")
async def _partner_node(info: Info, raw: uuid.UUID) -> Partner | None:
    view = await partner_loader(info).load(raw)
    return Partner.from_view(view) if view else None


@nodes.register("PartnerGrant")
async def _grant_node(info: Info, raw: uuid.UUID) -> PartnerGrant | None:
    try:
        return PartnerGrant.from_view(await partners.get_grant(info.context.ctx, raw))
    except NotFound:
        return None


@nodes.register("PersonalAccessToken")
async def _token_node(info: Info, raw: uuid.UUID) -> PersonalAccessToken | None:
    try:
        return PersonalAccessToken.from_view(await tokens.get_personal(info.context.ctx, raw))
    except DomainError:  # not the caller's token, or the caller has no personal tokens
        return None


@strawberry.type
class AccessQueries:
    @strawberry.field(
        description="Partner organisations by slug (network admins: admins of the root chapter, "
        "with `chapters:write`)."
    )
    async def partners(
        self,
        info: Info,
        active: Annotated[
            bool | None,
            strawberry.argument(description="Only active (true) or inactive (false) partners."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
        last: Annotated[
            int | None, strawberry.argument(description="Page size from the end.")
        ] = None,
        before: Annotated[str | None, strawberry.argument(description="Cursor to precede.")] = None,
    ) -> Connection[Partner]:
        page = await partners.list_partners(
            info.context.ctx, active, after=window(first, after, last, before)
        )
        return connection(page.replace([Partner.from_view(v) for v in page.items]))
