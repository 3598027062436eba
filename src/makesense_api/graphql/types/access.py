"""Access management types: OAuth clients, partner organisations, grants, personal tokens.

None of them carries a secret or a hash; secrets appear once, in the payloads of
`oauthClientCreate`, `oauthClientRotateSecret` and `personalAccessTokenCreate`.
"""

import uuid
from datetime import datetime

import strawberry

from makesense_api.graphql import loaders
from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import Connection, Node, connection, to_global_id, window
from makesense_api.graphql.types.chapters import Chapter, chapter_loader
from makesense_api.oauth import service as oauth_clients
from makesense_api.oauth.schemas import ClientView
from makesense_api.partners import service as partners
from makesense_api.partners.schemas import GrantView, PartnerView
from makesense_api.tokens.schemas import TokenView


def _ids(type_name: str, raw: list[uuid.UUID] | None) -> list[strawberry.ID] | None:
    return None if raw is None else [to_global_id(type_name, c) for c in raw]


@strawberry.type(
    description="A partner organisation: owns OAuth clients and receives grants from chapters. "
    "Visible to network admins and to the partner's own tokens."
)
class Partner(Node):
    raw_id: strawberry.Private[uuid.UUID]
    slug: str = strawberry.field(description="Stable, URL-friendly identifier.")
    name: str = strawberry.field(description="The organisation's name.")
    website: str | None = strawberry.field(description="The organisation's public site.")
    active: bool = strawberry.field(description="Inactive partners' tokens and grants stop.")
    created_at: datetime = strawberry.field(description="When the partner was registered.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: PartnerView) -> "Partner":
        return cls(
            id=to_global_id("Partner", v.id),
            raw_id=v.id,
            slug=v.slug,
            name=v.name,
            website=v.website,
            active=v.active,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(
        description="The partner's live OAuth clients, oldest first (network admins)."
    )
    async def oauth_clients(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection["OAuthClient"]:
        key = (self.raw_id, window(first, after, None, None))
        page = await partner_clients_loader(info).load(key)
        return connection(page.replace([OAuthClient.from_view(v) for v in page.items]))


@strawberry.type(
    description="An application registered by a chapter or a partner organisation. Visible to "
    "its managers only: the admins of its chapter, or network admins for a partner's clients."
)
class OAuthClient(Node):
    chapter_raw_id: strawberry.Private[uuid.UUID | None]
    partner_raw_id: strawberry.Private[uuid.UUID | None]
    client_id: str = strawberry.field(description="The public identifier the client sends.")
    name: str = strawberry.field(description="Shown on the consent page.")
    client_type: str = strawberry.field(description="confidential (holds a secret) or public.")
    redirect_uris: list[str] = strawberry.field(
        description="Registered redirect URIs, compared exactly (any port on loopback IPs)."
    )
    grant_types: list[str] = strawberry.field(description="Allowed OAuth grant types.")
    scopes: list[str] = strawberry.field(description="Scopes the client may ask for.")
    reach: list[strawberry.ID] | None = strawberry.field(
        description="Chapters whose subtrees bound every token of the client; null = no bound."
    )
    secret_rotated_at: datetime | None = strawberry.field(
        description="When the secret was last replaced."
    )
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until when the secret replaced by the last rotation still works."
    )
    revoked_at: datetime | None = strawberry.field(description="When the client was retired.")
    created_at: datetime = strawberry.field(description="When the client was registered.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: ClientView) -> "OAuthClient":
        return cls(
            id=to_global_id("OAuthClient", v.id),
            chapter_raw_id=v.chapter_id,
            partner_raw_id=v.partner_id,
            client_id=v.client_id,
            name=v.name,
            client_type=v.client_type,
            redirect_uris=v.redirect_uris,
            grant_types=v.grant_types,
            scopes=v.scopes,
            reach=_ids("Chapter", v.reach),
            secret_rotated_at=v.secret_rotated_at,
            previous_secret_expires_at=v.previous_secret_expires_at,
            revoked_at=v.revoked_at,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The owning chapter, for a chapter's client.")
    async def chapter(self, info: Info) -> Chapter | None:
        if self.chapter_raw_id is None:
            return None
        view = await chapter_loader(info).load(self.chapter_raw_id)
        return Chapter.from_view(view) if view else None

    @strawberry.field(description="The owning partner organisation, for a partner's client.")
    async def partner(self, info: Info) -> Partner | None:
        if self.partner_raw_id is None:
            return None
        view = await partner_loader(info).load(self.partner_raw_id)
        return Partner.from_view(view) if view else None


@strawberry.type(
    description="What one partner organisation may do in one chapter's subtree. Visible to the "
    "chapter's admins. Its ID is that of its oldest scope still granted."
)
class PartnerGrant(Node):
    chapter_raw_id: strawberry.Private[uuid.UUID]
    partner_view: strawberry.Private[PartnerView]
    chapter_slug: str = strawberry.field(description="Slug of the chapter granting access.")
    scopes: list[str] = strawberry.field(description="Scopes granted in the subtree.")
    granted_at: datetime = strawberry.field(description="When the first scope was granted.")
    updated_at: datetime = strawberry.field(description="When the grant last changed.")

    @classmethod
    def from_view(cls, v: GrantView) -> "PartnerGrant":
        return cls(
            id=to_global_id("PartnerGrant", v.id),
            chapter_raw_id=v.chapter_id,
            partner_view=v.partner,
            chapter_slug=v.chapter_slug,
            scopes=v.scopes,
            granted_at=v.granted_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The partner organisation holding the grant.")
    def partner(self) -> Partner:
        return Partner.from_view(self.partner_view)

    @strawberry.field(description="The chapter whose subtree the grant covers.")
    async def chapter(self, info: Info) -> Chapter | None:
        view = await chapter_loader(info).load(self.chapter_raw_id)
        return Chapter.from_view(view) if view else None


@strawberry.type(
    description="A personal access token of the calling person: how to recognise it, never how "
    "to use it (the token itself is shown once, when created)."
)
class PersonalAccessToken(Node):
    name: str | None = strawberry.field(description="What the token is for.")
    prefix: str = strawberry.field(description="The token's first characters.")
    scopes: list[str] = strawberry.field(description="Scopes the token carries.")
    reach: list[strawberry.ID] | None = strawberry.field(
        description="Chapters whose subtrees bound the token; null = no bound."
    )
    expires_at: datetime = strawberry.field(description="When the token stops working.")
    last_used_at: datetime | None = strawberry.field(
        description="Last use, to the minute; null if never used."
    )
    created_at: datetime = strawberry.field(description="When the token was made.")

    @classmethod
    def from_view(cls, v: TokenView) -> "PersonalAccessToken":
        return cls(
            id=to_global_id("PersonalAccessToken", v.id),
            name=v.name,
            prefix=v.prefix,
            scopes=v.scopes,
            reach=_ids("Chapter", v.reach),
            expires_at=v.expires_at,
            last_used_at=v.last_used_at,
            created_at=v.created_at,
        )


def partner_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, PartnerView | None]":
    return loaders.by_id(info.context, "partner", partners.get_many)


def oauth_client_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, ClientView | None]":
    return loaders.by_id(info.context, "oauthClient", oauth_clients.get_many)


def chapter_clients_loader(
    info: Info,
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[ClientView]]":
    fetch = oauth_clients.pages_of_chapters
    return loaders.pages_by_id(info.context, "chapter.oauthClients", fetch)


def partner_clients_loader(
    info: Info,
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[ClientView]]":
    fetch = oauth_clients.pages_of_partners
    return loaders.pages_by_id(info.context, "partner.oauthClients", fetch)


def chapter_grants_loader(
    info: Info,
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[GrantView]]":
    return loaders.pages_by_id(
        info.context, "chapter.partnerGrants", partners.grant_pages_of_chapters
    )
