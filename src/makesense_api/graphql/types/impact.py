"""Impact report, goal and goal-progress types."""

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from makesense_api.graphql.context import Info
from makesense_api.graphql.relay import Node, to_global_id
from makesense_api.graphql.types.chapters import Chapter, chapter_loader
from makesense_api.graphql.types.programs import Program, program_loader
from makesense_api.impact import service as impact
from makesense_api.impact.schemas import GoalProgress as GoalProgressView
from makesense_api.impact.schemas import GoalView, PeriodFigures
from makesense_api.impact.schemas import ImpactReport as ReportView
from makesense_api.kit.errors import FieldError, NotFound, ValidationFailed


@strawberry.enum(description="Length of the reporting periods (UTC, calendar-aligned).")
class ImpactPeriod(Enum):
    MONTH = strawberry.enum_value("month", description="Calendar months (2026-07).")
    QUARTER = strawberry.enum_value("quarter", description="Quarters (2026-Q3).")
    SEMESTER = strawberry.enum_value("semester", description="Half-years (2026-H2).")
    YEAR = strawberry.enum_value("year", description="Calendar years (2026).")


@strawberry.type(description="People mobilised in one chapter's subtree during a period.")
class ChapterImpact:
    chapter_id: strawberry.ID = strawberry.field(description="The chapter's global ID.")
    slug: str = strawberry.field(description="The chapter's slug.")
    name: str = strawberry.field(description="The chapter's name for the caller.")
    mobilised: int = strawberry.field(description="Distinct people mobilised there.")


@strawberry.type(description="People mobilised for one Sustainable Development Goal.")
class CauseImpact:
    cause: int = strawberry.field(description="The SDG, 1–17.")
    mobilised: int = strawberry.field(description="Distinct people mobilised for it.")


@strawberry.type(
    description="One period's figures. The detail fields (attendance, breakdowns) are null "
    "unless the report was asked with `detail` by a caller allowed to read them."
)
class ImpactFigures:
    label: str = strawberry.field(description="2026, 2026-H2, 2026-Q3 or 2026-07.")
    start: datetime = strawberry.field(description="First instant of the period (UTC).")
    end: datetime = strawberry.field(description="First instant after the period (UTC).")
    mobilised: int = strawberry.field(
        description="Distinct people who attended an event, had a contribution accepted or "
        "done, or completed a program enrolment."
    )
    events_held: int = strawberry.field(description="Published events that started.")
    hours: float = strawberry.field(description="Volunteer hours of contributions done.")
    attended: int | None = strawberry.field(description="Attended registrations (detail).")
    no_shows: int | None = strawberry.field(description="No-show registrations (detail).")
    attendance_rate: float | None = strawberry.field(
        description="attended / (attended + noShows), 0–1; null without check-ins (detail)."
    )
    by_chapter: list[ChapterImpact] | None = strawberry.field(
        description="Per child chapter (per taking-part chapter for a program) (detail)."
    )
    by_cause: list[CauseImpact] | None = strawberry.field(description="Per SDG (detail).")

    @classmethod
    def from_view(cls, f: PeriodFigures) -> "ImpactFigures":
        return cls(
            label=f.label,
            start=f.start,
            end=f.end,
            mobilised=f.mobilised,
            events_held=f.events_held,
            hours=f.volunteer_hours,
            attended=f.attended,
            no_shows=f.no_shows,
            attendance_rate=f.attendance_rate,
            by_chapter=None
            if f.by_chapter is None
            else [
                ChapterImpact(
                    chapter_id=to_global_id("Chapter", c.chapter_id),
                    slug=c.slug,
                    name=c.name,
                    mobilised=c.people,
                )
                for c in f.by_chapter
            ],
            by_cause=None
            if f.by_cause is None
            else [CauseImpact(cause=c.cause, mobilised=c.people) for c in f.by_cause],
        )


@strawberry.type(description="Mobilisation of a chapter's subtree or of a program, per period.")
class ImpactReport:
    chapter_raw_id: strawberry.Private[uuid.UUID | None]
    program_raw_id: strawberry.Private[uuid.UUID | None]
    period: ImpactPeriod = strawberry.field(description="Length of the periods.")
    detailed: bool = strawberry.field(description="Whether the detail fields are filled.")
    periods: list[ImpactFigures] = strawberry.field(description="The periods, in order.")

    @classmethod
    def from_view(cls, r: ReportView) -> "ImpactReport":
        return cls(
            chapter_raw_id=r.chapter_id,
            program_raw_id=r.program_id,
            period=ImpactPeriod(r.period),
            detailed=r.detailed,
            periods=[ImpactFigures.from_view(f) for f in r.periods],
        )

    @strawberry.field(description="The chapter reported on (with its subtree), if any.")
    async def chapter(self, info: Info) -> Chapter | None:
        return await _chapter(info, self.chapter_raw_id)

    @strawberry.field(description="The program reported on, if any.")
    async def program(self, info: Info) -> Program | None:
        return await _program(info, self.program_raw_id)


@strawberry.type(description="How far a goal is, and the pace still needed to meet it.")
class GoalProgress:
    as_of: datetime = strawberry.field(description="The instant the progress is measured at.")
    mobilised: int = strawberry.field(description="People mobilised since the goal's start.")
    remaining: int = strawberry.field(description="People still to mobilise.")
    percent: float = strawberry.field(description="Share of the target reached, in percent.")
    semesters_left: int = strawberry.field(description="Semesters left, the current included.")
    per_semester: int | None = strawberry.field(
        description="New people needed per remaining semester; null after the deadline."
    )
    months_left: int = strawberry.field(description="Months left, the current included.")
    per_month: int | None = strawberry.field(
        description="New people needed per remaining month; null after the deadline."
    )

    @classmethod
    def from_view(cls, p: GoalProgressView) -> "GoalProgress":
        return cls(
            as_of=p.as_of,
            mobilised=p.mobilised,
            remaining=p.remaining,
            percent=p.percent,
            semesters_left=p.semesters_left,
            per_semester=p.per_semester,
            months_left=p.months_left,
            per_month=p.per_month,
        )


@strawberry.type(
    description="A mobilisation goal of a chapter's subtree or of a program; as visible as "
    "its chapter or program."
)
class Goal(Node):
    raw_id: strawberry.Private[uuid.UUID]
    chapter_raw_id: strawberry.Private[uuid.UUID | None]
    program_raw_id: strawberry.Private[uuid.UUID | None]
    metric: str = strawberry.field(description="What is counted (people mobilised).")
    target: int = strawberry.field(description="People to mobilise.")
    starts_at: datetime = strawberry.field(description="Mobilisation counts from this instant.")
    deadline: datetime = strawberry.field(description="When the target should be met.")
    created_at: datetime = strawberry.field(description="When the goal was set.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_view(cls, g: GoalView) -> "Goal":
        return cls(
            id=to_global_id("Goal", g.id),
            raw_id=g.id,
            chapter_raw_id=g.chapter_id,
            program_raw_id=g.program_id,
            metric=g.metric,
            target=g.target,
            starts_at=g.starts_at,
            deadline=g.deadline,
            created_at=g.created_at,
            updated_at=g.updated_at,
        )

    @strawberry.field(description="The chapter whose subtree the goal is for, if any.")
    async def chapter(self, info: Info) -> Chapter | None:
        return await _chapter(info, self.chapter_raw_id)

    @strawberry.field(description="The program the goal is for, if any.")
    async def program(self, info: Info) -> Program | None:
        return await _program(info, self.program_raw_id)

    @strawberry.field(description="Progress towards the target (one count per goal asked).")
    async def progress(
        self,
        info: Info,
        as_of: Annotated[
            datetime | None, strawberry.argument(description="Measure at this instant; now.")
        ] = None,
    ) -> GoalProgress | None:
        try:
            return GoalProgress.from_view(
                await impact.progress(info.context.ctx, self.raw_id, as_of)
            )
        except NotFound:
            return None


async def _chapter(info: Info, raw: uuid.UUID | None) -> Chapter | None:
    view = await chapter_loader(info).load(raw) if raw else None
    return Chapter.from_view(view) if view else None


async def _program(info: Info, raw: uuid.UUID | None) -> Program | None:
    view = await program_loader(info).load(raw) if raw else None
    return Program.from_view(view) if view else None


# Service field → GraphQL argument, for errors about the report's arguments.
_ARGUMENTS = {"chapter_id": "chapter", "program_id": "program", "start": "from", "end": "to"}


async def report(
    info: Info,
    *,
    chapter_id: uuid.UUID | None,
    program_id: uuid.UUID | None,
    period: ImpactPeriod,
    start: datetime,
    end: datetime,
    detail: bool,
) -> ImpactReport:
    """The service's report for a chapter or a program, errors named by GraphQL argument."""
    query = {
        "chapter_id": chapter_id,
        "program_id": program_id,
        "period": period.value,
        "start": start,
        "end": end,
        "detail": detail,
    }
    try:
        return ImpactReport.from_view(await impact.report(info.context.ctx, query))
    except ValidationFailed as failed:
        raise ValidationFailed(
            [FieldError(_ARGUMENTS.get(e.field, e.field), e.message) for e in failed.errors]
        ) from None
