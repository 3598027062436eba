"""Inputs and read models for impact reports and goals."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, Field

from makesense_api.impact.periods import PeriodKind
from makesense_api.kit.schemas import Input

MAX_TARGET = 2_000_000_000


class GoalCreate(Input):
    """A goal for exactly one chapter (its subtree) or one program."""

    chapter_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None
    target: int = Field(ge=1, le=MAX_TARGET, description="People to mobilise.")
    starts_at: AwareDatetime = Field(description="Mobilisation counts from this instant.")
    deadline: AwareDatetime


class GoalUpdate(Input):
    """Only the fields given are changed."""

    target: int | None = Field(default=None, ge=1, le=MAX_TARGET)
    starts_at: AwareDatetime | None = None
    deadline: AwareDatetime | None = None


class ReportQuery(Input):
    """What to report on: one chapter (its subtree) or one program, over whole periods."""

    chapter_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None
    period: PeriodKind = PeriodKind.SEMESTER
    start: AwareDatetime = Field(description="Periods overlapping [start, end) are reported.")
    end: AwareDatetime
    detail: bool = Field(
        default=False,
        description="Add breakdowns by chapter and cause and the attendance rate "
        "(needs `impact:read`).",
    )


@dataclass(frozen=True)
class ChapterCount:
    """Distinct people mobilised in one chapter's subtree."""

    chapter_id: uuid.UUID
    slug: str
    name: str
    people: int


@dataclass(frozen=True)
class CauseCount:
    """Distinct people mobilised for one Sustainable Development Goal."""

    cause: int
    people: int


@dataclass(frozen=True)
class PeriodFigures:
    """One period's figures; the detail fields are None unless the caller may read them."""

    label: str
    start: datetime
    end: datetime
    mobilised: int
    events_held: int
    volunteer_hours: float
    attended: int | None = None
    no_shows: int | None = None
    attendance_rate: float | None = None
    by_chapter: list[ChapterCount] | None = None
    by_cause: list[CauseCount] | None = None


@dataclass(frozen=True)
class ImpactReport:
    chapter_id: uuid.UUID | None
    program_id: uuid.UUID | None
    period: str
    detailed: bool
    periods: list[PeriodFigures]


@dataclass(frozen=True)
class GoalView:
    id: uuid.UUID
    chapter_id: uuid.UUID | None
    program_id: uuid.UUID | None
    metric: str
    target: int
    starts_at: datetime
    deadline: datetime
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class GoalProgress:
    """How far a goal is, as of an instant, and the pace still needed to meet it.

    `per_semester` / `per_month` are the new people needed in each remaining period (the
    current one included), rounded up; None once the deadline has passed.
    """

    goal: GoalView
    as_of: datetime
    mobilised: int
    remaining: int
    percent: float
    semesters_left: int
    per_semester: int | None
    months_left: int
    per_month: int | None
