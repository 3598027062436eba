"""Root query fields for projects and matching, and `node(id:)` for their types."""

import uuid
from enum import Enum
from typing import Annotated, Any

import strawberry

from makesense_api.graphql import nodes
from makesense_api.graphql.context import Info
from makesense_api.graphql.inputs import given
from makesense_api.graphql.relay import Connection, connection, expect_id, window
from makesense_api.graphql.types.projects import (
    Contribution,
    Need,
    NeedMatch,
    PersonMatch,
    Project,
    contribution_loader,
    need_loader,
    project_loader,
)
from makesense_api.kit.errors import NotFound, Unauthenticated
from makesense_api.matching import service as matching
from makesense_api.projects import service as projects


@strawberry.input(description="Filters for projects; all optional, combined with AND.")
class ProjectFilterInput:
    subtree: strawberry.ID | None = strawberry.field(
        default=None, description="Only projects of this chapter and its descendants."
    )
    cause: int | None = strawberry.field(
        default=None, description="Only projects serving this SDG (1–17)."
    )
    stage: str | None = strawberry.field(default=None, description="idea, launch, growth or scale.")
    status: str | None = strawberry.field(default=None, description="draft, published or archived.")
    text: str | None = strawberry.field(default=None, description="In title, slug or description.")


@strawberry.enum(description="Orderings of the project list.")
class ProjectOrder(Enum):
    CREATED = "created"


def project_filter(f: ProjectFilterInput | None) -> dict[str, Any]:
    """The service filter; a malformed chapter ID is a field error on `filter.subtree`."""
    if f is None:
        return {}
    data = given(f)
    if data.get("subtree") is not None:
        data["subtree"] = expect_id(data["subtree"], "Chapter", "filter.subtree")
    return data


@nodes.register("Project")
async def _project_node(info: Info, raw: uuid.UUID) -> Project | None:
    view = await project_loader(info).load(raw)
    return Project.from_view(view) if view else None


@nodes.register("Need")
async def _need_node(info: Info, raw: uuid.UUID) -> Need | None:
    view = await need_loader(info).load(raw)
    return Need.from_view(view) if view else None


@nodes.register("Contribution")
async def _contribution_node(info: Info, raw: uuid.UUID) -> Contribution | None:
    view = await contribution_loader(info).load(raw)
    return Contribution.from_view(view) if view else None


@strawberry.type
class ProjectQueries:
    @strawberry.field(description="Projects the caller may see, in creation order.")
    async def projects(
        self,
        info: Info,
        filter: ProjectFilterInput | None = None,
        order_by: ProjectOrder = ProjectOrder.CREATED,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Project]:
        ctx = info.context.ctx
        flt = project_filter(filter)
        page = await projects.list_projects(ctx, flt, after=window(first, after, last, before))
        return connection(
            page.replace([Project.from_view(v) for v in page.items]),
            count=lambda: projects.count_projects(ctx, flt),
        )

    @strawberry.field(description="A project by its slug; null when not visible.")
    async def project(self, info: Info, slug: str) -> Project | None:
        try:
            return Project.from_view(await projects.get_by_slug(info.context.ctx, slug))
        except NotFound:
            return None

    @strawberry.field(
        description="Open needs of published projects ranked for the calling person, best "
        "first, each with the reasons it matches (needs the `profile` scope)."
    )
    async def matching_needs(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="How many, 1–100.")] = 20,
    ) -> list[NeedMatch]:
        ctx = info.context.ctx
        if ctx.principal.person_id is None:
            raise Unauthenticated("needs are matched for a signed-in person")
        found = await matching.needs_for_person(ctx, ctx.principal.person_id, first)
        return [NeedMatch.from_view(m) for m in found]

    @strawberry.field(
        description="People open to matching ranked for a need, best first, with the reasons "
        "(organizers of the project's chapter, with `people:read`)."
    )
    async def matching_people(
        self,
        info: Info,
        need_id: Annotated[strawberry.ID, strawberry.argument(description="The need to staff.")],
        first: Annotated[int, strawberry.argument(description="How many, 1–100.")] = 20,
    ) -> list[PersonMatch]:
        raw = expect_id(need_id, "Need", "needId")
        found = await matching.people_for_need(info.context.ctx, raw, first)
        return [PersonMatch.from_view(m) for m in found]
