"""Root query fields for programs, impact and goals, and `node(id:)` for their types."""

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from makesense_api.graphql import nodes
from makesense_api.graphql.context import Info
from makesense_api.graphql.inputs import given
from makesense_api.graphql.relay import Connection, connection, expect_id, window
from makesense_api.graphql.types.impact import Goal, ImpactPeriod, ImpactReport, report
from makesense_api.graphql.types.programs import (
    Enrolment,
    Program,
    ProgramStatus,
    enrolment_loader,
    program_loader,
    programs_of,
)
from makesense_api.impact import service as impact
from makesense_api.kit.errors import NotFound
from makesense_api.programs import service as programs


@strawberry.input(description="Filters for programs; all optional, combined with AND.")
class ProgramFilterInput:
    chapter: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Programs this chapter organizes or takes part in."
    )
    status: ProgramStatus | None = strawberry.field(
        default=strawberry.UNSET, description="Only this status."
    )
    active_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="Programs running at this instant."
    )


@strawberry.enum(description="Orderings of the program list.")
class ProgramOrder(Enum):
    STARTS_AT = strawberry.enum_value("starts_at", description="Earliest start first.")


def program_filter(f: ProgramFilterInput | None) -> dict[str, Any]:
    """The service filter; a malformed chapter ID is a field error on `filter.chapter`."""
    if f is None:
        return {}
    data = {k: v.value if isinstance(v, Enum) else v for k, v in given(f).items()}
    chapter = data.pop("chapter", None)
    if chapter is not None:
        data["chapter_id"] = expect_id(chapter, "Chapter", "filter.chapter")
    return data


def _optional_id(value: strawberry.ID | None, type_name: str, field: str) -> uuid.UUID | None:
    return expect_id(value, type_name, field) if value is not None else None


@nodes.register("Program")
async def _program_node(info: Info, raw: uuid.UUID) -> Program | None:
    view = await program_loader(info).load(raw)
    return Program.from_view(view) if view else None


@nodes.register("Enrolment")
async def _enrolment_node(info: Info, raw: uuid.UUID) -> Enrolment | None:
    view = await enrolment_loader(info).load(raw)
    return Enrolment.from_view(view) if view else None


@nodes.register("Goal")
async def _goal_node(info: Info, raw: uuid.UUID) -> Goal | None:
    try:
        return Goal.from_view(await impact.get_goal(info.context.ctx, raw))
    except NotFound:
        return None


@strawberry.type
class ProgramQueries:
    @strawberry.field(description="Programs the caller may see, by start time.")
    async def programs(
        self,
        info: Info,
        filter: ProgramFilterInput | None = None,
        order_by: ProgramOrder = ProgramOrder.STARTS_AT,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Program]:
        ctx = info.context.ctx
        flt = program_filter(filter)
        page = await programs.list_programs(ctx, flt, after=window(first, after, last, before))
        return connection(
            page.replace(programs_of(info, page.items)),
            count=lambda: programs.count_programs(ctx, flt),
        )

    @strawberry.field(description="A program by its slug; null when not visible.")
    async def program(self, info: Info, slug: str) -> Program | None:
        try:
            return Program.from_view(await programs.get_by_slug(info.context.ctx, slug))
        except NotFound:
            return None

    @strawberry.field(
        description="People mobilised by a chapter's subtree or by a program, per period, "
        "over whole periods overlapping [from, to). Totals are public wherever the chapter or "
        "program is visible; `detail` needs `impact:read` and membership. Null when the "
        "chapter or program is not visible."
    )
    async def impact(
        self,
        info: Info,
        from_: Annotated[
            datetime, strawberry.argument(name="from", description="Start instant (offset).")
        ],
        to: Annotated[datetime, strawberry.argument(description="End instant (offset).")],
        chapter: Annotated[
            strawberry.ID | None, strawberry.argument(description="The chapter (and subtree).")
        ] = None,
        program: Annotated[
            strawberry.ID | None, strawberry.argument(description="Or the program.")
        ] = None,
        period: Annotated[
            ImpactPeriod, strawberry.argument(description="Length of the periods.")
        ] = ImpactPeriod.SEMESTER,
        detail: Annotated[
            bool, strawberry.argument(description="Add attendance and breakdowns.")
        ] = False,
    ) -> ImpactReport | None:
        try:
            return await report(
                info,
                chapter_id=_optional_id(chapter, "Chapter", "chapter"),
                program_id=_optional_id(program, "Program", "program"),
                period=period,
                start=from_,
                end=to,
                detail=detail,
            )
        except NotFound:
            return None

    @strawberry.field(description="Mobilisation goals the caller may see, by deadline.")
    async def goals(
        self,
        info: Info,
        chapter: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this chapter's goals.")
        ] = None,
        program: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this program's goals.")
        ] = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Goal]:
        page = await impact.list_goals(
            info.context.ctx,
            chapter_id=_optional_id(chapter, "Chapter", "chapter"),
            program_id=_optional_id(program, "Program", "program"),
            after=window(first, after, last, before),
        )
        return connection(page.replace([Goal.from_view(v) for v in page.items]))
