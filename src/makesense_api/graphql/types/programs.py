"""Program and enrolment types, and their batch loaders."""

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from makesense_api.context import Ctx
from makesense_api.graphql import loaders
from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import Connection, Node, connection, to_global_id, window
from makesense_api.graphql.types.chapters import Chapter, chapter_loader
from makesense_api.graphql.types.events import Event, event_loader, value_of
from makesense_api.graphql.types.people import Person, person_loader
from makesense_api.programs import enrolments, linked_events
from makesense_api.programs import service as programs
from makesense_api.programs.schemas import EnrolmentView, ProgramEventView, ProgramView


@strawberry.enum(description="Where a program stands: draft → published → archived.")
class ProgramStatus(Enum):
    DRAFT = strawberry.enum_value("draft", description="Being prepared; organizers only.")
    PUBLISHED = strawberry.enum_value("published", description="Public, taking enrolments.")
    ARCHIVED = strawberry.enum_value("archived", description="Over; public as a record.")


@strawberry.enum(description="Where an enrolment stands.")
class EnrolmentStatus(Enum):
    ENROLLED = strawberry.enum_value("enrolled", description="Taking part.")
    COMPLETED = strawberry.enum_value("completed", description="Completed the program.")
    DROPPED = strawberry.enum_value("dropped", description="Left the program.")


@strawberry.enum(description="A way a program reaches people.")
class Channel(Enum):
    WHATSAPP = "whatsapp"
    ZOOM = "zoom"
    EMAIL = "email"
    IN_PERSON = "in_person"


@strawberry.type(description="A private link of one channel of a program.")
class ChannelLink:
    channel: Channel = strawberry.field(description="The channel.")
    url: str = strawberry.field(description="The link (group invite, meeting room, list).")


@strawberry.type(
    description="A mobilisation program run by one chapter with others taking part (e.g. "
    "Climate Week). Published and archived programs are public; drafts are seen by their "
    "organizers."
)
class Program(Node):
    raw_id: strawberry.Private[uuid.UUID]
    chapter_raw_id: strawberry.Private[uuid.UUID]
    chapter_raw_ids: strawberry.Private[list[uuid.UUID]]
    slug: str = strawberry.field(description="Stable, URL-friendly identifier.")
    title: str = strawberry.field(description="Title in the best language for the caller.")
    description: str | None = strawberry.field(description="Description, same language rule.")
    language: str = strawberry.field(description="BCP 47 tag of the language of the text.")
    channels: list[Channel] = strawberry.field(description="How the program reaches people.")
    private_links: list[ChannelLink] | None = strawberry.field(
        description="Links per channel; only for enrolled people and the organizers."
    )
    starts_at: datetime = strawberry.field(description="Start of the program's period.")
    ends_at: datetime = strawberry.field(description="End of the program's period.")
    target_people: int = strawberry.field(description="People the program aims to mobilise.")
    status: ProgramStatus = strawberry.field(description="Draft, published or archived.")
    viewer_enrolment: EnrolmentStatus | None = strawberry.field(
        description="The caller's own enrolment status, if any."
    )
    created_at: datetime = strawberry.field(description="When the program was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: ProgramView) -> "Program":
        links = v.private_links
        return cls(
            id=to_global_id("Program", v.id),
            raw_id=v.id,
            chapter_raw_id=v.chapter_id,
            chapter_raw_ids=v.chapter_ids,
            slug=v.slug,
            title=v.title,
            description=v.description,
            language=v.language,
            channels=[Channel(c) for c in v.channels],
            private_links=None
            if links is None
            else [ChannelLink(channel=Channel(c), url=u) for c, u in sorted(links.items())],
            starts_at=v.starts_at,
            ends_at=v.ends_at,
            target_people=v.target_people,
            status=ProgramStatus(v.status),
            viewer_enrolment=EnrolmentStatus(v.viewer_enrolment) if v.viewer_enrolment else None,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The chapter running the program.")
    async def organizing_chapter(self, info: Info) -> Chapter | None:
        view = await chapter_loader(info).load(self.chapter_raw_id)
        return Chapter.from_view(view) if view else None

    @strawberry.field(
        description="Chapters taking part (the organizing one included) the caller may see."
    )
    async def chapters(self, info: Info) -> list[Chapter]:
        views = await chapter_loader(info).load_many(self.chapter_raw_ids)
        return [Chapter.from_view(v) for v in views if v]

    @strawberry.field(description="Events linked to the program the caller may see, by start.")
    async def events(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection[Event]:
        key = (self.raw_id, window(first, after, None, None))
        page = await program_events_loader(info).load(key)
        views = await event_loader(info).load_many([e.id for e in page.items])
        kept = [(c, v) for c, v in zip(page.cursors, views, strict=True) if v is not None]
        items = [Event.from_view(v) for _, v in kept]
        cursors = [c for c, _ in kept]
        return connection(
            loaders.Page(
                items, page.has_next, page.end_cursor, page.has_previous, page.start_cursor, cursors
            )
        )

    @strawberry.field(
        description="Enrolments in enrolment order: all of them for the organizers, the "
        "caller's own otherwise."
    )
    async def enrolments(
        self,
        info: Info,
        status: Annotated[
            EnrolmentStatus | None, strawberry.argument(description="Only this status.")
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="Page size, 1–100.")] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor to follow.")] = None,
    ) -> Connection["Enrolment"]:
        key = (self.raw_id, window(first, after, None, None))
        page = await program_enrolments_loader(info, value_of(status)).load(key)
        return connection(page.replace([Enrolment.from_view(v) for v in page.items]))


@strawberry.type(
    description="A person taking part in a program, seen by the person and the organizers."
)
class Enrolment(Node):
    raw_id: strawberry.Private[uuid.UUID]
    program_raw_id: strawberry.Private[uuid.UUID]
    person_raw_id: strawberry.Private[uuid.UUID]
    chapter_raw_id: strawberry.Private[uuid.UUID]
    status: EnrolmentStatus = strawberry.field(description="Enrolled, completed or dropped.")
    completed_at: datetime | None = strawberry.field(description="When it was completed.")
    created_at: datetime = strawberry.field(description="When the person enrolled.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, v: EnrolmentView) -> "Enrolment":
        return cls(
            id=to_global_id("Enrolment", v.id),
            raw_id=v.id,
            program_raw_id=v.program_id,
            person_raw_id=v.person_id,
            chapter_raw_id=v.chapter_id,
            status=EnrolmentStatus(v.status),
            completed_at=v.completed_at,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )

    @strawberry.field(description="The program.")
    async def program(self, info: Info) -> Program | None:
        view = await program_loader(info).load(self.program_raw_id)
        return Program.from_view(view) if view else None

    @strawberry.field(description="The person, if the caller may see them (the people rule).")
    async def person(self, info: Info) -> Person | None:
        view = await person_loader(info).load(self.person_raw_id)
        return Person.from_view(view) if view else None

    @strawberry.field(description="The chapter the person takes part through; impact counts there.")
    async def chapter(self, info: Info) -> Chapter | None:
        view = await chapter_loader(info).load(self.chapter_raw_id)
        return Chapter.from_view(view) if view else None


def program_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, ProgramView | None]":
    return loaders.by_id(info.context, "program", programs.get_many)


def programs_of(info: Info, views: list[ProgramView]) -> list[Program]:
    """Programs of a list the caller just read; the loader keeps them, so nested fields that
    point back at them (an enrolment's program) need no second read."""
    loader = program_loader(info)
    for view in views:
        loader.prime(view.id, view)
    return [Program.from_view(v) for v in views]


def enrolment_loader(info: Info) -> "loaders.DataLoader[uuid.UUID, EnrolmentView | None]":
    return loaders.by_id(info.context, "enrolment", enrolments.get_many)


def program_events_loader(
    info: Info,
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[ProgramEventView]]":
    return loaders.pages_by_id(info.context, "program.events", linked_events.pages_for_programs)


def program_enrolments_loader(
    info: Info, status: str | None
) -> "loaders.DataLoader[tuple[uuid.UUID, loaders.Window], loaders.Page[EnrolmentView]]":
    """One loader per status filter, so each filter costs one query per nesting level."""

    async def fetch(
        ctx: Ctx, ids: list[uuid.UUID], w: loaders.Window
    ) -> dict[uuid.UUID, loaders.Page[EnrolmentView]]:
        return await enrolments.pages_for_programs(ctx, ids, w, status)

    return loaders.pages_by_id(info.context, f"program.enrolments:{status}", fetch)
