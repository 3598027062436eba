"""Project, need and contribution types, and the results of matching."""

import uuid
from datetime import datetime
from typing import Annotated

import strawberry

from makesense_api.context import Ctx
from makesense_api.graphql import loaders
from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import Connection, Node, connection, to_global_id, window
from makesense_api.graphql.types.chapters import Chapter, chapter_loader
from makesense_api.matching.service import NeedMatch as NeedMatchView
from makesense_api.matching.service import PersonMatch as PersonMatchView
from makesense_api.projects import contributions, needs
from makesense_api.projects import service as projects
from makesense_api.projects.schemas import ContributionView, NeedView, ProjectView


@strawberry.type(
    description="A person as shown on projects and matches: global ID and display name only."
)
class PersonName:
    id: strawberry.ID = strawberry.field(description="The person's global ID.")
    display_name: str = strawberry.field(description="Name shown to others.")

    @classmethod
    def of(cls, person_id: uuid.UUID, display_name: str) -> "PersonName":
        return cls(id=to_global_id("Person", person_id), display_name=display_name)


@strawberry.type(
    description="A social or environmental entrepreneur's project. Published and archived "
    "projects are public; a draft is seen by its owners and its home chapter's organizers."
)
class Project(Node):
    raw_id: strawberry.Private[uuid.UUID]
    home_chapter_raw_id: strawberry.Private[uuid.UUID]
    slug: str = strawberry.field(description="Stable, URL-friendly identifier.")
    title: str = strawberry.field(description="Title in the best language for the caller.")
    description: str | None = strawberry.field(description="Description, same language rule.")
    language: str = strawberry.field(description="BCP 47 tag of the language of the text.")
    default_language: str = strawberry.field(description="BCP 47 tag of the original text.")
    stage: str = strawberry.field(description="idea, launch, growth or scale.")
    status: str = strawberry.field(description="draft, published or archived.")
    causes: list[int] = strawberry.field(description="UN Sustainable Development Goals, 1–17.")
    owners: list[PersonName] = strawberry.field(description="The project's owners, by name.")
    created_at: datetime = strawberry.field(description="When the project was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: ProjectView) -> "Project":
        return cls(
            id=to_global_id("Project", v.id),
            raw_id=v.id,
            home_chapter_raw_id=v.home_chapter_id,
            slug=v.slug,
            title=v.title,
            description=v.description,
            language=v.language,
            default_language=v.default_language,
            stage=v.stage,
            status=v.status,
            causes=v.causes,
            owners=[PersonName.of(o.person_id, o.display_name) for o in v.owners],
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The chapter the project belongs to.")
    async def home_chapter(self, info: Info) -> Chapter | None:
        view = await chapter_loader(info).load(self.home_chapter_raw_id)
        return Chapter.from_view(view) if view else None

    @strawberry.field(description="The help the project asks for, in creation order.")
    async def needs(
        self,
        info: Info,
        status: Annotated[
            str | None, strawberry.argument(description="Only open or only filled needs.")
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection["Need"]:
        key = (self.raw_id, window(first, after, None, None))
        page = await project_needs_loader(info, status).load(key)
        return connection(page.replace([Need.from_view(v) for v in page.items]))


@strawberry.type(description="A skill a project asks for; open until its managers fill it.")
class Need(Node):
    raw_id: strawberry.Private[uuid.UUID]
    project_raw_id: strawberry.Private[uuid.UUID]
    skill: str = strawberry.field(description="The skill wanted, normalised (web-design).")
    title: str = strawberry.field(description="What the help is for.")
    description: str | None = strawberry.field(description="Details of the need.")
    status: str = strawberry.field(description="open or filled.")
    created_at: datetime = strawberry.field(description="When the need was posted.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: NeedView) -> "Need":
        return cls(
            id=to_global_id("Need", v.id),
            raw_id=v.id,
            project_raw_id=v.project_id,
            skill=v.skill,
            title=v.title,
            description=v.description,
            status=v.status,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The project asking for help.")
    async def project(self, info: Info) -> Project | None:
        view = await project_loader(info).load(self.project_raw_id)
        return Project.from_view(view) if view else None

    @strawberry.field(
        description="Offers of help on this need: the caller's own, or all of them for the "
        "project's managers."
    )
    async def contributions(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection["Contribution"]:
        key = (self.raw_id, window(first, after, None, None))
        page = await need_contributions_loader(info).load(key)
        return connection(page.replace([Contribution.from_view(v) for v in page.items]))


@strawberry.type(
    description="A person's offer of help on a need, seen by the contributor and the "
    "project's managers."
)
class Contribution(Node):
    raw_id: strawberry.Private[uuid.UUID]
    need_raw_id: strawberry.Private[uuid.UUID]
    status: str = strawberry.field(description="offered, accepted, declined or done.")
    message: str | None = strawberry.field(description="The contributor's note.")
    hours: float | None = strawberry.field(description="Hours given, once done.")
    contributor: PersonName = strawberry.field(description="Who offers the help.")
    created_at: datetime = strawberry.field(description="When the help was offered.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: ContributionView) -> "Contribution":
        return cls(
            id=to_global_id("Contribution", v.id),
            raw_id=v.id,
            need_raw_id=v.need_id,
            status=v.status,
            message=v.message,
            hours=v.hours,
            contributor=PersonName.of(v.person_id, v.display_name),
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The need the help is offered on.")
    async def need(self, info: Info) -> Need | None:
        view = await need_loader(info).load(self.need_raw_id)
        return Need.from_view(view) if view else None


@strawberry.type(description="An open need suggested to the caller, with its score and why.")
class NeedMatch:
    need: Need = strawberry.field(description="The need.")
    score: int = strawberry.field(description="Higher is a better match.")
    reasons: list[str] = strawberry.field(description="Signals that matched, strongest first.")

    @classmethod
    def from_view(cls, m: NeedMatchView) -> "NeedMatch":
        return cls(need=Need.from_view(m.need), score=m.score, reasons=m.reasons)


@strawberry.type(description="A person suggested for a need, with their score and why.")
class PersonMatch:
    person: PersonName = strawberry.field(description="The person (display name only).")
    score: int = strawberry.field(description="Higher is a better match.")
    reasons: list[str] = strawberry.field(description="Signals that matched, strongest first.")

    @classmethod
    def from_view(cls, m: PersonMatchView) -> "PersonMatch":
        return cls(
            person=PersonName.of(m.person_id, m.display_name), score=m.score, reasons=m.reasons
        )


def project_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, ProjectView | None]":
    return loaders.by_id(info.context, "project", projects.get_many)


def need_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, NeedView | None]":
    return loaders.by_id(info.context, "need", needs.get_many)


def contribution_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, ContributionView | None]":
    return loaders.by_id(info.context, "contribution", contributions.get_many)


def project_needs_loader(
    info: Info, status: str | None
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[NeedView]]":
    """One loader per status filter, so each filter costs one query per nesting level."""

    async def fetch(
        ctx: Ctx, ids: list[uuid.UUID], w: loaders.Window
    ) -> dict[uuid.UUID, loaders.Page[NeedView]]:
        return await needs.pages_for_projects(ctx, ids, w, status)

    return loaders.pages_by_id(info.context, f"project.needs:{status}", fetch)


def need_contributions_loader(
    info: Info,
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[ContributionView]]":
    return loaders.pages_by_id(info.context, "need.contributions", contributions.pages_for_needs)
