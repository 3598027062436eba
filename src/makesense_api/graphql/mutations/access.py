"""Access management mutations: OAuth clients, partner organisations, grants, personal tokens.

Secrets and tokens appear once, in the payload of the mutation that makes them.
"""

from typing import Any

import strawberry

from makesense_api.graphql.context import Info
from makesense_api.graphql.errors import attempt, result_union
from makesense_api.graphql.inputs import given, ids_in
from makesense_api.graphql.relay import expect_id
from makesense_api.graphql.types.access import (
    OAuthClient,
    Partner,
    PartnerGrant,
    PersonalAccessToken,
)
from makesense_api.oauth import service as oauth_clients
from makesense_api.partners import service as partners
from makesense_api.tokens import service as tokens

UNSET = strawberry.UNSET


@strawberry.input(description="Register an application for a chapter or a partner organisation.")
class OAuthClientCreateInput:
    name: str = strawberry.field(description="Shown on the consent page.")
    chapter_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The owning chapter (its admins manage the client)."
    )
    partner_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The owning partner (network admins manage the client)."
    )
    client_type: str = strawberry.field(
        description="confidential (a server that keeps a secret) or public (mobile, browser)."
    )
    redirect_uris: list[str] | None = strawberry.field(
        default=UNSET, description="Exact redirect URIs (any port on 127.0.0.1 and [::1])."
    )
    grant_types: list[str] = strawberry.field(
        description="authorization_code, refresh_token, client_credentials."
    )
    scopes: list[str] = strawberry.field(description="Scopes the client may ask for.")
    reach: list[strawberry.ID] | None = strawberry.field(
        default=UNSET,
        description="Chapters whose subtrees bound the client's tokens; a chapter's clients "
        "default to that chapter.",
    )


@strawberry.input(description="Changes to a client; omitted fields stay as they are.")
class OAuthClientUpdateInput:
    id: strawberry.ID = strawberry.field(description="The client.")
    name: str | None = strawberry.field(default=UNSET, description="Shown on the consent page.")
    redirect_uris: list[str] | None = strawberry.field(
        default=UNSET, description="Replaces the redirect URIs."
    )
    grant_types: list[str] | None = strawberry.field(
        default=UNSET, description="Replaces the grant types."
    )
    scopes: list[str] | None = strawberry.field(default=UNSET, description="Replaces the scopes.")
    reach: list[strawberry.ID] | None = strawberry.field(
        default=UNSET, description="Replaces the reach; null: no bound (a chapter's: itself)."
    )


@strawberry.input(description="Which client to act on.")
class OAuthClientIdInput:
    id: strawberry.ID = strawberry.field(description="The client.")


@strawberry.input(description="Register a partner organisation (network admins).")
class PartnerCreateInput:
    slug: str = strawberry.field(description="Unique, lowercase, hyphenated.")
    name: str = strawberry.field(description="The organisation's name.")
    website: str | None = strawberry.field(default=UNSET, description="Its public site.")


@strawberry.input(description="Changes to a partner; omitted fields stay as they are.")
class PartnerUpdateInput:
    id: strawberry.ID = strawberry.field(description="The partner.")
    name: str | None = strawberry.field(default=UNSET, description="The organisation's name.")
    website: str | None = strawberry.field(default=UNSET, description="Its site; null clears.")
    active: bool | None = strawberry.field(
        default=UNSET, description="false stops its tokens and grants."
    )


@strawberry.input(description="Give a partner scopes in a chapter's subtree (its admins).")
class PartnerGrantCreateInput:
    partner_id: strawberry.ID = strawberry.field(description="The partner organisation.")
    chapter_id: strawberry.ID = strawberry.field(description="The chapter whose subtree opens.")
    scopes: list[str] = strawberry.field(description="Scopes; merged with those already held.")


@strawberry.input(description="Withdraw a grant, wholly or some of its scopes.")
class PartnerGrantRevokeInput:
    id: strawberry.ID = strawberry.field(description="The grant.")
    scopes: list[str] | None = strawberry.field(
        default=None, description="Only these scopes; omitted: all of them."
    )


@strawberry.input(description="A personal access token for the caller's own scripts.")
class PersonalAccessTokenCreateInput:
    name: str = strawberry.field(description="What the token is for.")
    scopes: list[str] = strawberry.field(description="Within the calling token's scopes.")
    expires_in_days: int = strawberry.field(description="Lifetime in days (at most 365 unless "
                                            "configured otherwise).")
    reach: list[strawberry.ID] | None = strawberry.field(
        default=UNSET, description="Chapters whose subtrees bound it; omitted: the caller's."
    )


@strawberry.input(description="Which personal access token to revoke.")
class PersonalAccessTokenRevokeInput:
    id: strawberry.ID = strawberry.field(description="The token.")


@strawberry.type(description="The client after the change.")
class OAuthClientPayload:
    oauth_client: OAuthClient = strawberry.field(description="The client.")


@strawberry.type(
    description="A client with its secret: store the secret now, it is not shown again."
)
class OAuthClientSecretPayload:
    oauth_client: OAuthClient = strawberry.field(description="The client.")
    client_secret: str | None = strawberry.field(
        description="The secret, shown this once; null for a public client."
    )


@strawberry.type(description="The client was deleted and its tokens revoked.")
class OAuthClientDeletePayload:
    deleted_id: strawberry.ID = strawberry.field(description="The ID the client had.")


@strawberry.type(description="The partner after the change.")
class PartnerPayload:
    partner: Partner = strawberry.field(description="The partner organisation.")


@strawberry.type(description="The grant after the change.")
class PartnerGrantPayload:
    partner_grant: PartnerGrant = strawberry.field(description="The grant.")


@strawberry.type(description="The grant (or the scopes named) was withdrawn.")
class PartnerGrantRevokePayload:
    revoked: bool = strawberry.field(description="Always true.")


@strawberry.type(description="A new token: store it now, it is not shown again.")
class PersonalAccessTokenCreatePayload:
    personal_access_token: PersonalAccessToken = strawberry.field(description="The token.")
    token: str = strawberry.field(description="The token itself, shown this once.")


@strawberry.type(description="The token was revoked.")
class PersonalAccessTokenRevokePayload:
    revoked: bool = strawberry.field(description="Always true.")


OAuthClientResult = result_union(OAuthClientPayload, "OAuthClientResult")
OAuthClientSecretResult = result_union(OAuthClientSecretPayload, "OAuthClientSecretResult")
OAuthClientDeleteResult = result_union(OAuthClientDeletePayload, "OAuthClientDeleteResult")
PartnerResult = result_union(PartnerPayload, "PartnerResult")
PartnerGrantResult = result_union(PartnerGrantPayload, "PartnerGrantResult")
PartnerGrantRevokeResult = result_union(PartnerGrantRevokePayload, "PartnerGrantRevokeResult")
PersonalAccessTokenCreateResult = result_union(
    PersonalAccessTokenCreatePayload, "PersonalAccessTokenCreateResult"
)
PersonalAccessTokenRevokeResult = result_union(
    PersonalAccessTokenRevokePayload, "PersonalAccessTokenRevokeResult"
)


def _reach_ids(data: dict[str, Any]) -> dict[str, Any]:
    if data.get("reach") is not None:
        data["reach"] = [expect_id(c, "Chapter", f"reach.{i}") for i, c in enumerate(data["reach"])]
    return data


def _client_data(input_: OAuthClientCreateInput | OAuthClientUpdateInput) -> dict[str, Any]:
    data = given(input_)
    data.pop("id", None)
    return _reach_ids(ids_in(data, chapter_id="Chapter", partner_id="Partner"))


@strawberry.type
class AccessMutations:
    @strawberry.mutation(
        description="Register an OAuth client for a chapter you administer, or (network "
        "admins) for a partner; a confidential client's secret is in the payload, once."
    )
    async def oauth_client_create(
        self, info: Info, input: OAuthClientCreateInput
    ) -> OAuthClientSecretResult:  # type: ignore[valid-type]
        async def run() -> OAuthClientSecretPayload:
            created = await oauth_clients.create(info.context.ctx, _client_data(input))
            return OAuthClientSecretPayload(
                oauth_client=OAuthClient.from_view(created.view),
                client_secret=created.client_secret,
            )

        return await attempt(run)

    @strawberry.mutation(description="Change a client you manage.")
    async def oauth_client_update(
        self, info: Info, input: OAuthClientUpdateInput
    ) -> OAuthClientResult:  # type: ignore[valid-type]
        async def run() -> OAuthClientPayload:
            client_pk = expect_id(input.id, "OAuthClient")
            view = await oauth_clients.update(info.context.ctx, client_pk, _client_data(input))
            return OAuthClientPayload(oauth_client=OAuthClient.from_view(view))

        return await attempt(run)

    @strawberry.mutation(
        description="Give a confidential client a new secret (in the payload, once); the "
        "previous one keeps working for the configured grace period, then stops."
    )
    async def oauth_client_rotate_secret(
        self, info: Info, input: OAuthClientIdInput
    ) -> OAuthClientSecretResult:  # type: ignore[valid-type]
        async def run() -> OAuthClientSecretPayload:
            client_pk = expect_id(input.id, "OAuthClient")
            rotated = await oauth_clients.rotate_secret(info.context.ctx, client_pk)
            return OAuthClientSecretPayload(
                oauth_client=OAuthClient.from_view(rotated.view),
                client_secret=rotated.client_secret,
            )

        return await attempt(run)

    @strawberry.mutation(description="Delete a client you manage and revoke its tokens.")
    async def oauth_client_delete(
        self, info: Info, input: OAuthClientIdInput
    ) -> OAuthClientDeleteResult:  # type: ignore[valid-type]
        async def run() -> OAuthClientDeletePayload:
            await oauth_clients.delete(info.context.ctx, expect_id(input.id, "OAuthClient"))
            return OAuthClientDeletePayload(deleted_id=input.id)

        return await attempt(run)

    @strawberry.mutation(description="Register a partner organisation (network admins).")
    async def partner_create(self, info: Info, input: PartnerCreateInput) -> PartnerResult:  # type: ignore[valid-type]
        async def run() -> PartnerPayload:
            view = await partners.create(info.context.ctx, given(input))
            return PartnerPayload(partner=Partner.from_view(view))

        return await attempt(run)

    @strawberry.mutation(description="Change a partner organisation (network admins).")
    async def partner_update(self, info: Info, input: PartnerUpdateInput) -> PartnerResult:  # type: ignore[valid-type]
        async def run() -> PartnerPayload:
            data = given(input)
            partner_id = expect_id(data.pop("id"), "Partner")
            view = await partners.update(info.context.ctx, partner_id, data)
            return PartnerPayload(partner=Partner.from_view(view))

        return await attempt(run)

    @strawberry.mutation(
        description="Grant a partner scopes in the subtree of a chapter you administer."
    )
    async def partner_grant_create(
        self, info: Info, input: PartnerGrantCreateInput
    ) -> PartnerGrantResult:  # type: ignore[valid-type]
        async def run() -> PartnerGrantPayload:
            data = ids_in(given(input), partner_id="Partner", chapter_id="Chapter")
            view = await partners.grant(info.context.ctx, data)
            return PartnerGrantPayload(partner_grant=PartnerGrant.from_view(view))

        return await attempt(run)

    @strawberry.mutation(description="Withdraw a grant on a chapter you administer.")
    async def partner_grant_revoke(
        self, info: Info, input: PartnerGrantRevokeInput
    ) -> PartnerGrantRevokeResult:  # type: ignore[valid-type]
        async def run() -> PartnerGrantRevokePayload:
            grant_id = expect_id(input.id, "PartnerGrant")
            await partners.revoke_grant(info.context.ctx, grant_id, input.scopes)
            return PartnerGrantRevokePayload(revoked=True)

        return await attempt(run)

    @strawberry.mutation(
        description="Make a personal access token for yourself; the token is in the payload, "
        "once."
    )
    async def personal_access_token_create(
        self, info: Info, input: PersonalAccessTokenCreateInput
    ) -> PersonalAccessTokenCreateResult:  # type: ignore[valid-type]
        async def run() -> PersonalAccessTokenCreatePayload:
            created = await tokens.create_personal(info.context.ctx, _reach_ids(given(input)))
            return PersonalAccessTokenCreatePayload(
                personal_access_token=PersonalAccessToken.from_view(created.view),
                token=created.token,
            )

        return await attempt(run)

    @strawberry.mutation(description="Revoke one of your personal access tokens.")
    async def personal_access_token_revoke(
        self, info: Info, input: PersonalAccessTokenRevokeInput
    ) -> PersonalAccessTokenRevokeResult:  # type: ignore[valid-type]
        async def run() -> PersonalAccessTokenRevokePayload:
            await tokens.revoke(info.context.ctx, expect_id(input.id, "PersonalAccessToken"))
            return PersonalAccessTokenRevokePayload(revoked=True)

        return await attempt(run)
