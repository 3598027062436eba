"""Impact figures, each one aggregate SQL statement, the same on SQLite and PostgreSQL.

A *mobilised person* is a distinct person with at least one of these in the period:

- an attended registration (`registration.status = 'attended'`), dated by the event's start
  and placed in the event's host chapter;
- a contribution accepted or done, dated by the contribution's `answered_at` and placed in the
  project's home chapter;
- a completed enrolment, dated by `completed_at` and placed in the enrolment's chapter.

A contribution has one instant, `answered_at`: when it was accepted (or done, had it gone
straight there). It counts in that period only, also once done later, and its hours, once done,
count there too. Nothing else about the contribution dates it: editing its message or hours, or
erasing its contributor, leaves past figures unchanged and adds nothing to the current period.

The three sources are one `UNION ALL`; every figure is `COUNT(DISTINCT person_id)` (or a sum)
over it, each source filtered on the subtree through the closure table and on the time range,
so the indexes used are `ix_event_chapter_starts` + `ix_registration_event_status`,
`ix_project_chapter_status` + `ix_need_project_id` + `ix_contribution_need_id` (or
`ix_contribution_answered` for a narrow period), and
`ix_enrolment_chapter_completed`. All periods of a report come out of the same statement: rows
are bucketed by a `CASE` over the period boundaries and grouped in an outer query (grouping on
a subquery column, because PostgreSQL does not match a `CASE` with bound parameters in `SELECT`
to the same `CASE` in `GROUP BY`).

Every value is written into the SQL text (`inline`) rather than sent as a bind parameter.
The statements are prepared and cached per connection (asyncpg), and after five executions
PostgreSQL may switch a prepared statement to a generic plan that ignores the values: it then
expects the average subtree (a handful of chapters) and a narrow time range, and picks nested
loops without parallelism, which made the network-wide report three times slower. With the
values in the text, each plan is made for the chapter and periods asked. The values are ids,
instants, integers and status constants rendered by SQLAlchemy, never client text.

Scale: these statements read the raw rows of the subtree and period. At benchmark scale
(1,000,000 registrations) a network-wide multi-year report scans a large share of them, so a
chapter's people counts read the rollup instead (`impact.counts`, kept by `impact.rollup`),
with the same interface. These statements remain the definition: programs, the partial months
at the ends of a goal's span, events held and volunteer hours use them, and the tests hold the
rollup equal to them.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from makesense_api.chapters.models import ChapterClosure
from makesense_api.events.models import (
    Event,
    EventCause,
    EventStatus,
    Registration,
    RegistrationStatus,
)
from makesense_api.impact.periods import Period
from makesense_api.programs.models import Enrolment, EnrolmentStatus
from makesense_api.projects.models import (
    Contribution,
    ContributionStatus,
    Need,
    Project,
    ProjectCause,
)

CONTRIBUTED = (ContributionStatus.ACCEPTED.value, ContributionStatus.DONE.value)


@dataclass(frozen=True)
class Among:
    """Whose activity counts: one chapter's subtree, or one program's."""

    chapter_id: uuid.UUID | None = None
    program_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Attendance:
    attended: int
    no_shows: int

    @property
    def rate(self) -> float | None:
        seen = self.attended + self.no_shows
        return self.attended / seen if seen else None


def inline(value: Any, like: Any = None) -> sa.BindParameter[Any]:
    """`value`, typed as the column `like` (default: an integer), written into the statement's
    text (see the module doc)."""
    type_ = like.type if like is not None else sa.Integer()
    return sa.bindparam(None, value, type_=type_, literal_execute=True)


def inline_all(values: Sequence[Any], like: Any) -> sa.BindParameter[Any]:
    """The values of an `IN (…)`, written into the statement's text."""
    return sa.bindparam(
        None, list(values), type_=like.type, expanding=True, literal_execute=True
    )


def _is(column: Any, value: str) -> sa.ColumnElement[bool]:
    return col(column) == inline(value, column)


def _subtree(root_id: uuid.UUID) -> SelectOfScalar[uuid.UUID]:
    return select(ChapterClosure.descendant_id).where(
        ChapterClosure.ancestor_id == inline(root_id, ChapterClosure.ancestor_id)
    )


def _within(among: Among, chapter: Any, program: Any | None) -> sa.ColumnElement[bool]:
    """The row's chapter lies in the subtree, or the row belongs to the program."""
    if among.program_id is not None:
        if program is None:
            return sa.false()
        return col(program) == inline(among.program_id, program)
    assert among.chapter_id is not None
    return col(chapter).in_(_subtree(among.chapter_id))


def _between(column: Any, start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(col(column) >= inline(start, column), col(column) < inline(end, column))


# -- the activity union ------------------------------------------------------------------


def _attended(among: Among, start: datetime, end: datetime, causes: bool) -> Any:
    columns: list[Any] = [
        col(Registration.person_id).label("person_id"),
        col(Event.chapter_id).label("chapter_id"),
        col(Event.starts_at).label("at"),
    ]
    if causes:
        columns.append(col(EventCause.cause).label("cause"))
    stmt = (
        select(*columns)
        .join(Event, col(Event.id) == Registration.event_id)
        .where(
            _is(Registration.status, RegistrationStatus.ATTENDED),
            _between(Event.starts_at, start, end),
            _within(among, Event.chapter_id, Event.program_id),
        )
    )
    if causes:
        stmt = stmt.join(EventCause, col(EventCause.event_id) == Event.id)
    return stmt


def _contributed(among: Among, start: datetime, end: datetime, causes: bool) -> Any:
    columns: list[Any] = [
        col(Contribution.person_id).label("person_id"),
        col(Project.home_chapter_id).label("chapter_id"),
        col(Contribution.answered_at).label("at"),
    ]
    if causes:
        columns.append(col(ProjectCause.cause).label("cause"))
    stmt = (
        select(*columns)
        .join(Need, col(Need.id) == Contribution.need_id)
        .join(Project, col(Project.id) == Need.project_id)
        .where(
            col(Contribution.status).in_(inline_all(CONTRIBUTED, Contribution.status)),
            _between(Contribution.answered_at, start, end),
            _within(among, Project.home_chapter_id, None),
        )
    )
    if causes:
        stmt = stmt.join(ProjectCause, col(ProjectCause.project_id) == Project.id)
    return stmt


def _completed(among: Among, start: datetime, end: datetime) -> Any:
    return select(
        col(Enrolment.person_id).label("person_id"),
        col(Enrolment.chapter_id).label("chapter_id"),
        col(Enrolment.completed_at).label("at"),
    ).where(
        _is(Enrolment.status, EnrolmentStatus.COMPLETED),
        _between(Enrolment.completed_at, start, end),
        _within(among, Enrolment.chapter_id, Enrolment.program_id),
    )


def activity(among: Among, start: datetime, end: datetime, *, causes: bool = False) -> Any:
    """Rows (person_id, chapter_id, at[, cause]) of mobilising activity in `[start, end)`.

    With `causes`, one row per cause of the event or project; programs carry no cause, so
    completed enrolments are left out of that variant.
    """
    parts = [_attended(among, start, end, causes)]
    if among.program_id is None:
        parts.append(_contributed(among, start, end, causes))
    if not causes:
        parts.append(_completed(among, start, end))
    return sa.union_all(*parts).subquery("activity")


def _bucket(column: Any, periods: Sequence[Period]) -> sa.ColumnElement[int]:
    """The index of the period holding `column` (rows are already within the whole range)."""
    return sa.case(
        *((column < inline(p.end, column), inline(i)) for i, p in enumerate(periods))
    ).label("bucket")


def _span(periods: Sequence[Period]) -> tuple[datetime, datetime]:
    return periods[0].start, periods[-1].end


# -- figures -------------------------------------------------------------------------------


async def count_mobilised(
    session: AsyncSession, among: Among, start: datetime, end: datetime
) -> int:
    """Distinct people mobilised in `[start, end)`."""
    a = activity(among, start, end)
    stmt = select(sa.func.count(sa.distinct(a.c.person_id)))
    return int((await session.exec(stmt)).one())


async def mobilised(
    session: AsyncSession, among: Among, periods: Sequence[Period]
) -> dict[int, int]:
    """Distinct people mobilised, per period index."""
    a = activity(among, *_span(periods))
    rows = select(a.c.person_id, _bucket(a.c.at, periods)).subquery()
    stmt = select(rows.c.bucket, sa.func.count(sa.distinct(rows.c.person_id))).group_by(
        rows.c.bucket
    )
    return {int(b): int(n) for b, n in (await session.exec(stmt)).all()}


async def mobilised_by_chapter(
    session: AsyncSession,
    among: Among,
    periods: Sequence[Period],
    chapter_ids: Sequence[uuid.UUID],
) -> dict[int, dict[uuid.UUID, int]]:
    """Distinct people mobilised in each given chapter's subtree, per period index."""
    if not chapter_ids:
        return {}
    a = activity(among, *_span(periods))
    rows = (
        select(
            a.c.person_id,
            col(ChapterClosure.ancestor_id).label("chapter"),
            _bucket(a.c.at, periods),
        )
        .join(ChapterClosure, col(ChapterClosure.descendant_id) == a.c.chapter_id)
        .where(col(ChapterClosure.ancestor_id).in_(
            inline_all(chapter_ids, ChapterClosure.ancestor_id)
        ))
        .subquery()
    )
    stmt = select(
        rows.c.bucket, rows.c.chapter, sa.func.count(sa.distinct(rows.c.person_id))
    ).group_by(rows.c.bucket, rows.c.chapter)
    out: dict[int, dict[uuid.UUID, int]] = defaultdict(dict)
    for b, chapter, n in (await session.exec(stmt)).all():
        out[int(b)][chapter] = int(n)
    return out


async def mobilised_by_cause(
    session: AsyncSession, among: Among, periods: Sequence[Period]
) -> dict[int, dict[int, int]]:
    """Distinct people mobilised for each cause (SDG of the event or project), per period."""
    a = activity(among, *_span(periods), causes=True)
    rows = select(a.c.person_id, a.c.cause, _bucket(a.c.at, periods)).subquery()
    stmt = select(
        rows.c.bucket, rows.c.cause, sa.func.count(sa.distinct(rows.c.person_id))
    ).group_by(rows.c.bucket, rows.c.cause)
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for b, cause, n in (await session.exec(stmt)).all():
        out[int(b)][int(cause)] = int(n)
    return out


async def events_held(
    session: AsyncSession, among: Among, periods: Sequence[Period]
) -> dict[int, int]:
    """Published (so not cancelled) events that started in each period."""
    rows = (
        select(col(Event.id).label("id"), _bucket(Event.starts_at, periods))
        .where(
            _is(Event.status, EventStatus.PUBLISHED),
            _between(Event.starts_at, *_span(periods)),
            _within(among, Event.chapter_id, Event.program_id),
        )
        .subquery()
    )
    stmt = select(rows.c.bucket, sa.func.count(rows.c.id)).group_by(rows.c.bucket)
    return {int(b): int(n) for b, n in (await session.exec(stmt)).all()}


async def attendance(
    session: AsyncSession, among: Among, periods: Sequence[Period]
) -> dict[int, Attendance]:
    """Attended and no-show registrations at events that started in each period."""
    rows = (
        select(col(Registration.status).label("status"), _bucket(Event.starts_at, periods))
        .join(Event, col(Event.id) == Registration.event_id)
        .where(
            col(Registration.status).in_(inline_all(
                [RegistrationStatus.ATTENDED.value, RegistrationStatus.NO_SHOW.value],
                Registration.status,
            )),
            _between(Event.starts_at, *_span(periods)),
            _within(among, Event.chapter_id, Event.program_id),
        )
        .subquery()
    )

    def tally(status: RegistrationStatus) -> Any:
        return sa.func.sum(sa.case((_is(rows.c.status, status.value), inline(1)),
                                   else_=inline(0)))

    stmt = select(
        rows.c.bucket, tally(RegistrationStatus.ATTENDED), tally(RegistrationStatus.NO_SHOW)
    ).group_by(rows.c.bucket)
    return {
        int(b): Attendance(int(yes or 0), int(no or 0))
        for b, yes, no in (await session.exec(stmt)).all()
    }


async def volunteer_hours(
    session: AsyncSession, among: Among, periods: Sequence[Period]
) -> dict[int, float]:
    """Hours of contributions done, dated by their `answered_at`, per period."""
    if among.program_id is not None:
        return {}
    rows = (
        select(col(Contribution.hours).label("hours"), _bucket(Contribution.answered_at, periods))
        .join(Need, col(Need.id) == Contribution.need_id)
        .join(Project, col(Project.id) == Need.project_id)
        .where(
            _is(Contribution.status, ContributionStatus.DONE),
            _between(Contribution.answered_at, *_span(periods)),
            _within(among, Project.home_chapter_id, None),
        )
        .subquery()
    )
    stmt = select(rows.c.bucket, sa.func.sum(rows.c.hours)).group_by(rows.c.bucket)
    return {int(b): float(h or 0) for b, h in (await session.exec(stmt)).all()}
