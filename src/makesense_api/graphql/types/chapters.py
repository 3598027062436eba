"""Chapter, contact and membership types."""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from makesense_api.chapters import service as chapters
from makesense_api.chapters.schemas import ChapterView
from makesense_api.graphql import loaders
from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import Connection, Node, connection, to_global_id, window
from makesense_api.graphql.types.common import Location, location
from makesense_api.people import service as people
from makesense_api.people.schemas import MembershipView

if TYPE_CHECKING:
    from makesense_api.graphql.queries_events import ChapterEventFilterInput
    from makesense_api.graphql.types.access import OAuthClient, PartnerGrant
    from makesense_api.graphql.types.events import Event
    from makesense_api.graphql.types.impact import ImpactPeriod, ImpactReport
    from makesense_api.graphql.types.people import Person

EVENTS = "makesense_api.graphql.types.events"
EVENT_FILTERS = "makesense_api.graphql.queries_events"
IMPACT = "makesense_api.graphql.types.impact"
ACCESS = "makesense_api.graphql.types.access"


@strawberry.type(description="A way to reach a chapter.")
class Contact:
    kind: str = strawberry.field(description="whatsapp, email, video, …")
    value: str = strawberry.field(description="Link or address.")
    private: bool = strawberry.field(description="Shown to the chapter's members only.")


@strawberry.type(description="A node of the federation tree: network, region, country, city…")
class Chapter(Node):
    raw_id: strawberry.Private[uuid.UUID]
    parent_raw_id: strawberry.Private[uuid.UUID | None]
    slug: str = strawberry.field(description="Stable, URL-friendly identifier.")
    name: str = strawberry.field(description="Name in the best language for the caller.")
    description: str | None = strawberry.field(description="Description, same language rule.")
    language: str = strawberry.field(description="BCP 47 tag of the language of the text.")
    kind: str = strawberry.field(description="network, region, country, city or neighbourhood.")
    depth: int = strawberry.field(description="Distance from the network root (root = 0).")
    country_code: str | None = strawberry.field(description="ISO 3166-1 alpha-2 country.")
    city: str | None = strawberry.field(description="City, for city-level chapters.")
    timezone: str = strawberry.field(description="IANA time zone.")
    languages: list[str] = strawberry.field(description="Languages spoken (BCP 47).")
    location: Location | None = strawberry.field(description="Where the chapter is.")
    status: str = strawberry.field(description="active, dormant or closed.")
    contacts: list[Contact] = strawberry.field(
        description="Contact channels; private ones only for members."
    )
    created_at: datetime = strawberry.field(description="When the chapter was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: ChapterView) -> "Chapter":
        return cls(
            id=to_global_id("Chapter", v.id),
            raw_id=v.id,
            parent_raw_id=v.parent_id,
            slug=v.slug,
            name=v.name,
            description=v.description,
            language=v.language,
            kind=v.kind,
            depth=v.depth,
            country_code=v.country_code,
            city=v.city,
            timezone=v.timezone,
            languages=v.languages,
            location=location(v.latitude, v.longitude),
            status=v.status,
            contacts=[Contact(kind=c.kind, value=c.value, private=c.private) for c in v.contacts],
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The parent chapter; null for the network root.")
    async def parent(self, info: Info) -> "Chapter | None":
        if self.parent_raw_id is None:
            return None
        view = await chapter_loader(info).load(self.parent_raw_id)
        return Chapter.from_view(view) if view else None

    @strawberry.field(description="Ancestors from the root down to the parent.")
    async def ancestors(self, info: Info) -> list["Chapter"]:
        views = await chapters.ancestors(info.context.ctx, self.raw_id)
        return [Chapter.from_view(v) for v in views]

    @strawberry.field(description="Direct sub-chapters, by slug.")
    async def children(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection["Chapter"]:
        page = await children_loader(info).load((self.raw_id, window(first, after, None, None)))
        return connection(page.replace([Chapter.from_view(v) for v in page.items]))

    @strawberry.field(description="Memberships of this chapter (organizers, with `people:read`).")
    async def members(
        self,
        info: Info,
        role: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection["Membership"]:
        page = await people.list_members(
            info.context.ctx, self.raw_id, role, after=window(first, after, last, before)
        )
        return connection(page.replace([Membership.from_view(m) for m in page.items]))

    @strawberry.field(
        description="Events hosted by this chapter, by start time; by default the published "
        "ones not started yet."
    )
    async def events(
        self,
        info: Info,
        filter: Annotated[
            Annotated["ChapterEventFilterInput", strawberry.lazy(EVENT_FILTERS)] | None,
            strawberry.argument(description="Filters, combined with AND."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection[Annotated["Event", strawberry.lazy(EVENTS)]]:
        from makesense_api.graphql.queries_events import event_filter
        from makesense_api.graphql.types.events import chapter_events_loader, events_of

        loader = chapter_events_loader(info, event_filter(filter))
        page = await loader.load((self.raw_id, window(first, after, None, None)))
        return connection(page.replace(events_of(info, page.items)))

    @strawberry.field(
        description="People mobilised by this chapter's subtree per period, over whole periods "
        "overlapping [from, to); `detail` needs `impact:read` and membership."
    )
    async def impact(
        self,
        info: Info,
        from_: Annotated[
            datetime, strawberry.argument(name="from", description="Start instant (offset).")
        ],
        to: Annotated[datetime, strawberry.argument(description="End instant (offset).")],
        period: Annotated[
            Annotated["ImpactPeriod", strawberry.lazy(IMPACT)] | None,
            strawberry.argument(description="Length of the periods; semesters by default."),
        ] = None,
        detail: Annotated[
            bool, strawberry.argument(description="Add attendance and breakdowns.")
        ] = False,
    ) -> Annotated["ImpactReport", strawberry.lazy(IMPACT)]:
        from makesense_api.graphql.types.impact import ImpactPeriod, report

        return await report(
            info,
            chapter_id=self.raw_id,
            program_id=None,
            period=period or ImpactPeriod.SEMESTER,
            start=from_,
            end=to,
            detail=detail,
        )


    @strawberry.field(
        description="OAuth clients this chapter registered, oldest first; empty unless the "
        "caller administers the chapter (with `chapters:write`)."
    )
    async def oauth_clients(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection[Annotated["OAuthClient", strawberry.lazy(ACCESS)]]:
        from makesense_api.graphql.types.access import OAuthClient, chapter_clients_loader

        key = (self.raw_id, window(first, after, None, None))
        page = await chapter_clients_loader(info).load(key)
        return connection(page.replace([OAuthClient.from_view(v) for v in page.items]))

    @strawberry.field(
        description="Partner grants on this chapter, oldest first; empty unless the caller "
        "administers the chapter (with `chapters:write`)."
    )
    async def partner_grants(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection[Annotated["PartnerGrant", strawberry.lazy(ACCESS)]]:
        from makesense_api.graphql.types.access import PartnerGrant, chapter_grants_loader

        key = (self.raw_id, window(first, after, None, None))
        page = await chapter_grants_loader(info).load(key)
        return connection(page.replace([PartnerGrant.from_view(v) for v in page.items]))


@strawberry.type(description="A person's role in a chapter (and, by inheritance, its subtree).")
class Membership(Node):
    person_raw_id: strawberry.Private[uuid.UUID]
    chapter_raw_id: strawberry.Private[uuid.UUID]
    role: str = strawberry.field(description="member, organizer or admin.")
    created_at: datetime = strawberry.field(description="When the membership began.")

    @classmethod
    def from_view(cls, m: MembershipView) -> "Membership":
        return cls(
            id=to_global_id("Membership", m.id),
            person_raw_id=m.person_id,
            chapter_raw_id=m.chapter_id,
            role=m.role,
            created_at=m.created_at,
        )

    @strawberry.field(description="The chapter.")
    async def chapter(self, info: Info) -> Chapter | None:
        view = await chapter_loader(info).load(self.chapter_raw_id)
        return Chapter.from_view(view) if view else None

    @strawberry.field(description="The person, if the caller may see them.")
    async def person(
        self, info: Info
    ) -> Annotated["Person", strawberry.lazy("makesense_api.graphql.types.people")] | None:
        from makesense_api.graphql.types.people import Person, person_loader

        view = await person_loader(info).load(self.person_raw_id)
        return Person.from_view(view) if view else None


def chapter_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, ChapterView | None]":
    return loaders.by_id(info.context, "chapter", chapters.get_many)


def children_loader(
    info: Info,
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[ChapterView]]":
    return loaders.pages_by_id(info.context, "chapter.children", chapters.children_of)
