"""Root query fields for chapters, people and the caller."""

from enum import Enum

import strawberry

from makesense_api.chapters import service as chapters
from makesense_api.chapters.service import ChapterFilter
from makesense_api.graphql import nodes
from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import Connection, Node, connection, window
from makesense_api.graphql.relay import expect_id as _expect_id
from makesense_api.graphql.types.chapters import Chapter, chapter_loader
from makesense_api.graphql.types.common import NearInput
from makesense_api.graphql.types.people import Person, Viewer, person_loader, viewer_of
from makesense_api.people import service as people


@strawberry.input(description="Filters for chapters; all optional, combined with AND.")
class ChapterFilterInput:
    subtree: strawberry.ID | None = strawberry.field(
        default=None, description="Only this chapter and its descendants."
    )
    parent: strawberry.ID | None = strawberry.field(default=None, description="Only children.")
    country_code: str | None = strawberry.field(default=None, description="ISO country.")
    kind: str | None = strawberry.field(default=None, description="Chapter kind.")
    status: str | None = strawberry.field(default=None, description="Chapter status.")
    text: str | None = strawberry.field(default=None, description="In name, slug or city.")
    near: NearInput | None = strawberry.field(default=None, description="Within a circle.")


@strawberry.enum(description="Orderings of the chapter list.")
class ChapterOrder(Enum):
    SLUG = "slug"


@strawberry.input(description="Filters for people; all optional.")
class PersonFilterInput:
    chapter: strawberry.ID | None = strawberry.field(
        default=None, description="Members of this chapter's subtree."
    )
    skill: str | None = strawberry.field(default=None, description="Offering this skill.")


def chapter_filter(f: ChapterFilterInput | None) -> ChapterFilter:
    if f is None:
        return ChapterFilter()
    return ChapterFilter(
        subtree=_expect_id(f.subtree, "Chapter", "filter.subtree") if f.subtree else None,
        parent_id=_expect_id(f.parent, "Chapter", "filter.parent") if f.parent else None,
        country_code=f.country_code,
        kind=f.kind,
        status=f.status,
        text=f.text,
        near=(f.near.latitude, f.near.longitude, f.near.radius_km) if f.near else None,
    )


@nodes.register("Chapter")
async def _chapter_node(info: Info, raw: object) -> Chapter | None:
    view = await chapter_loader(info).load(raw)  # type: ignore[arg-type]
    return Chapter.from_view(view) if view else None


@nodes.register("Person")
async def _person_node(info: Info, raw: object) -> Person | None:
    view = await person_loader(info).load(raw)  # type: ignore[arg-type]
    return Person.from_view(view) if view else None


@strawberry.type
class CoreQueries:
    @strawberry.field(description="Any object by its global ID; null when it is not visible.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await nodes.resolve(info, id)

    @strawberry.field(description="Several objects by global ID, in order; null where invisible.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > 100:
            from makesense_api.kit.errors import ValidationFailed

            raise ValidationFailed.on("ids", "at most 100 ids")
        return [await nodes.resolve(info, i) for i in ids]

    @strawberry.field(description="The caller: person, token scopes and reach.")
    def viewer(self, info: Info) -> Viewer:
        return viewer_of(info)

    @strawberry.field(description="A chapter by its slug; null when not visible.")
    async def chapter(self, info: Info, slug: str) -> Chapter | None:
        from makesense_api.kit.errors import NotFound

        try:
            return Chapter.from_view(await chapters.get_by_slug(info.context.ctx, slug))
        except NotFound:
            return None

    @strawberry.field(description="Chapters the caller may see.")
    async def chapters(
        self,
        info: Info,
        filter: ChapterFilterInput | None = None,
        order_by: ChapterOrder = ChapterOrder.SLUG,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Chapter]:
        ctx = info.context.ctx
        flt = chapter_filter(filter)
        page = await chapters.list_chapters(ctx, flt, after=window(first, after, last, before))
        return connection(
            page.replace([Chapter.from_view(v) for v in page.items]),
            count=lambda: chapters.count_chapters(ctx, flt),
        )

    @strawberry.field(
        description="People the caller may see (themself; members of chapters they organize)."
    )
    async def people(
        self,
        info: Info,
        filter: PersonFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Person]:
        chapter_id = (
            _expect_id(filter.chapter, "Chapter", "filter.chapter")
            if filter and filter.chapter
            else None
        )
        page = await people.list_people(
            info.context.ctx,
            chapter_id=chapter_id,
            skill=filter.skill if filter else None,
            after=window(first, after, last, before),
        )
        return connection(page.replace([Person.from_view(v) for v in page.items]))
