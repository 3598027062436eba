"""Person and viewer types."""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from makesense_api.graphql import loaders
from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import Connection, Node, connection, to_global_id, window
from makesense_api.graphql.types.chapters import Chapter, Membership, chapter_loader
from makesense_api.people import service as people
from makesense_api.people.schemas import PersonView

if TYPE_CHECKING:
    from makesense_api.graphql.types.access import PersonalAccessToken
    from makesense_api.graphql.types.events import Registration, RegistrationStatus
    from makesense_api.graphql.types.feeds import FeedToken

EVENTS = "makesense_api.graphql.types.events"


@strawberry.type(
    description="A volunteer or citizen. Visible to the person themself and to organizers of "
    "a chapter they belong to (with `people:read`); e-mail and phone follow the same rule."
)
class Person(Node):
    raw_id: strawberry.Private[uuid.UUID]
    home_chapter_raw_id: strawberry.Private[uuid.UUID | None]
    display_name: str = strawberry.field(description="Name shown to others.")
    city: str | None = strawberry.field(description="City of residence.")
    country_code: str | None = strawberry.field(description="ISO 3166-1 alpha-2 country.")
    bio: str | None = strawberry.field(description="Short self-description.")
    languages: list[str] = strawberry.field(description="Languages spoken (BCP 47).")
    skills: list[str] = strawberry.field(description="Skills offered, normalised (web-design).")
    causes: list[int] = strawberry.field(description="UN Sustainable Development Goals, 1–17.")
    open_to_matching: bool = strawberry.field(
        description="Whether organizers may propose needs to this person."
    )
    email: str | None = strawberry.field(description="E-mail address (personal data).")
    phone: str | None = strawberry.field(description="Phone number (personal data).")
    created_at: datetime = strawberry.field(description="When the profile was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: PersonView) -> "Person":
        return cls(
            id=to_global_id("Person", v.id),
            raw_id=v.id,
            home_chapter_raw_id=v.home_chapter_id,
            display_name=v.display_name,
            city=v.city,
            country_code=v.country_code,
            bio=v.bio,
            languages=v.languages,
            skills=v.skills,
            causes=v.causes,
            open_to_matching=v.open_to_matching,
            email=v.email,
            phone=v.phone,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The person's home chapter.")
    async def home_chapter(self, info: Info) -> Chapter | None:
        if self.home_chapter_raw_id is None:
            return None
        view = await chapter_loader(info).load(self.home_chapter_raw_id)
        return Chapter.from_view(view) if view else None

    @strawberry.field(description="The chapters this person belongs to, with roles.")
    async def memberships(self, info: Info) -> list[Membership]:
        views = await people.memberships_of(info.context.ctx, self.raw_id)
        return [Membership.from_view(m) for m in views]


@strawberry.type(description="The caller: who they are and what their token allows.")
class Viewer:
    person_raw_id: strawberry.Private[uuid.UUID | None]
    scopes: list[str] = strawberry.field(description="Scopes the token carries.")
    anonymous: bool = strawberry.field(description="No token was sent.")
    client_id: str | None = strawberry.field(description="The OAuth client acting, if any.")
    partner_id: strawberry.ID | None = strawberry.field(
        description="The partner organisation acting, for partner tokens."
    )
    reach: list[strawberry.ID] | None = strawberry.field(
        description="Chapters the token is restricted to (their subtrees); null = no limit."
    )

    @strawberry.field(description="The caller's own profile, for person tokens.")
    async def person(self, info: Info) -> Person | None:
        if self.person_raw_id is None:
            return None
        view = await person_loader(info).load(self.person_raw_id)
        return Person.from_view(view) if view else None

    @strawberry.field(
        description="Everything held about the caller, as one JSON document: profile, login "
        "(without its hash), memberships, registrations, contributions, enrolments, consents "
        "and token metadata (person tokens with `profile`)."
    )
    async def data_export(self, info: Info) -> JSON:
        from makesense_api.people import privacy

        return JSON(await privacy.export(info.context.ctx))

    @strawberry.field(
        description="The caller's live calendar feed tokens, newest first (person tokens with "
        "`profile`; at most 20)."
    )
    async def feed_tokens(
        self, info: Info
    ) -> list[Annotated["FeedToken", strawberry.lazy("makesense_api.graphql.types.feeds")]]:
        from makesense_api.feeds import tokens as feed_tokens
        from makesense_api.graphql.types.feeds import FeedToken

        return [FeedToken.from_view(v) for v in await feed_tokens.list_tokens(info.context.ctx)]

    @strawberry.field(
        description="The caller's own registrations, in the order they were first made "
        "(person tokens with `profile` or `registrations:read`)."
    )
    async def registrations(
        self,
        info: Info,
        status: Annotated[
            Annotated["RegistrationStatus", strawberry.lazy(EVENTS)] | None,
            strawberry.argument(description="Only this status."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection[Annotated["Registration", strawberry.lazy(EVENTS)]]:
        from makesense_api.events import registrations
        from makesense_api.graphql.types.events import Registration, value_of

        page = await registrations.my_registrations(
            info.context.ctx,
            after=window(first, after, None, None),
            status=value_of(status),
        )
        return connection(page.replace([Registration.from_view(v) for v in page.items]))

    @strawberry.field(
        description="The caller's live personal access tokens, oldest first (person tokens "
        "with `profile`)."
    )
    async def personal_access_tokens(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
        last: Annotated[
            int | None, strawberry.argument(description="Page size from the end.")
        ] = None,
        before: Annotated[str | None, strawberry.argument(description="Cursor to precede.")] = None,
    ) -> Connection[
        Annotated["PersonalAccessToken", strawberry.lazy("makesense_api.graphql.types.access")]
    ]:
        from makesense_api.graphql.types.access import PersonalAccessToken
        from makesense_api.tokens import service as tokens

        page = await tokens.page_personal(info.context.ctx, window(first, after, last, before))
        return connection(page.replace([PersonalAccessToken.from_view(v) for v in page.items]))


def viewer_of(info: Info) -> Viewer:
    principal = info.context.ctx.principal
    return Viewer(
        person_raw_id=principal.person_id,
        scopes=sorted(principal.scopes),
        anonymous=principal.is_anonymous,
        client_id=principal.client_id,
        partner_id=to_global_id("Partner", principal.partner_id) if principal.partner_id else None,
        reach=None
        if principal.reach is None
        else [to_global_id("Chapter", c) for c in sorted(principal.reach)],
    )


def person_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, PersonView | None]":
    return loaders.by_id(info.context, "person", people.get_many)
