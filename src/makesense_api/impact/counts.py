"""Distinct-people figures of a report: from the rollup for a chapter's subtree, directly for a
program.

A chapter's figures read `mobilisation` (kept by `impact.rollup`): the rows of the chapter
(`ancestor_id`) for the kind and starts of the periods asked, one row per person and period,
so distinct people are a count of rows and the breakdowns are sums, instead of every fact joined
through the closure table and sorted by person. Report periods are whole UTC periods, so the
rows are exact; the results are those of `impact.queries` (a differential test holds them
equal). A goal's span may start or end mid-month: its whole months come from the monthly rows
(deduplicated), the partial months at its ends from the facts. Programs have no rollup (their
facts are few) and keep the direct statements, as do the figures that are not about people
(events held, volunteer hours).

Values are written into the statements' text (`queries.inline`), for the reason given there.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.impact import queries
from makesense_api.impact.models import Mobilisation
from makesense_api.impact.periods import Period, PeriodKind, period_start
from makesense_api.impact.queries import Among, Attendance, inline, inline_all
from makesense_api.impact.rollup import SDGS, TABLE


def month_of(instant: datetime) -> int:
    """`yyyymm` of the UTC month holding `instant`, as the rollup keys periods."""
    moment = instant.astimezone(UTC)
    return moment.year * 100 + moment.month


def _rows(ancestors: Sequence[uuid.UUID], periods: Sequence[Period]) -> Any:
    """The rollup rows of these chapters for the periods, with their period index."""
    m = TABLE.c
    starts = [month_of(p.start) for p in periods]
    bucket = sa.case(
        *((m.period == inline(s, Mobilisation.period), inline(i)) for i, s in enumerate(starts))
    ).label("bucket")
    where = (
        m.ancestor_id == inline(ancestors[0], Mobilisation.ancestor_id)
        if len(ancestors) == 1
        else m.ancestor_id.in_(inline_all(ancestors, Mobilisation.ancestor_id))
    )
    columns: list[Any] = [
        m.ancestor_id, m.person_id, m.activities, m.attended, m.no_shows, m.causes, bucket
    ]
    return (
        select(*columns)
        .where(
            where,
            m.months == inline(periods[0].kind.months, Mobilisation.months),
            m.period.in_(inline_all(starts, Mobilisation.period)),
        )
        .subquery()
    )


def _people(r: Any) -> Any:
    """People with mobilising activity among rows that are one per person and period."""
    return sa.func.count(sa.func.nullif(r.c.activities, inline(0)))


async def mobilised(
    session: AsyncSession, among: Among, periods: Sequence[Period]
) -> dict[int, int]:
    """Distinct people mobilised, per period index."""
    if among.chapter_id is None:
        return await queries.mobilised(session, among, periods)
    r = _rows([among.chapter_id], periods)
    stmt = select(r.c.bucket, _people(r)).group_by(r.c.bucket)
    return {int(b): int(n) for b, n in (await session.exec(stmt)).all() if n}


async def mobilised_by_chapter(
    session: AsyncSession,
    among: Among,
    periods: Sequence[Period],
    chapter_ids: Sequence[uuid.UUID],
) -> dict[int, dict[uuid.UUID, int]]:
    """Distinct people mobilised in each given chapter's subtree, per period index."""
    if among.chapter_id is None:
        return await queries.mobilised_by_chapter(session, among, periods, chapter_ids)
    if not chapter_ids:
        return {}
    # A breakdown is by the chapter's children: their subtrees lie inside the chapter's.
    r = _rows(chapter_ids, periods)
    stmt = select(r.c.bucket, r.c.ancestor_id, _people(r)).group_by(r.c.bucket, r.c.ancestor_id)
    out: dict[int, dict[uuid.UUID, int]] = defaultdict(dict)
    for b, chapter, n in (await session.exec(stmt)).all():
        if n:
            out[int(b)][chapter] = int(n)
    return out


async def mobilised_by_cause(
    session: AsyncSession, among: Among, periods: Sequence[Period]
) -> dict[int, dict[int, int]]:
    """Distinct people mobilised for each cause (SDG of the event or project), per period."""
    if among.chapter_id is None:
        return await queries.mobilised_by_cause(session, among, periods)
    r = _rows([among.chapter_id], periods)
    # One row per person and period: the people of a cause are the rows with its bit set.
    served = [sa.func.count(sa.func.nullif(r.c.causes.op("&")(inline(1 << n)), inline(0)))
              for n in SDGS]
    stmt = select(*[r.c.bucket, *served]).group_by(r.c.bucket)
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for b, *tally in (await session.exec(stmt)).all():
        served_in = {n: int(k) for n, k in zip(SDGS, tally, strict=True) if k}
        if served_in:
            out[int(b)] = served_in
    return out


async def attendance(
    session: AsyncSession, among: Among, periods: Sequence[Period]
) -> dict[int, Attendance]:
    """Attended and no-show registrations at events that started in each period."""
    if among.chapter_id is None:
        return await queries.attendance(session, among, periods)
    r = _rows([among.chapter_id], periods)
    stmt = select(r.c.bucket, sa.func.sum(r.c.attended), sa.func.sum(r.c.no_shows)).group_by(
        r.c.bucket
    )
    return {
        int(b): Attendance(int(yes or 0), int(no or 0))
        for b, yes, no in (await session.exec(stmt)).all()
        if yes or no
    }


async def count_mobilised(
    session: AsyncSession, among: Among, start: datetime, end: datetime
) -> int:
    """Distinct people mobilised in `[start, end)`: the whole months inside from the rollup,
    the partial months at either end from the facts."""
    first = period_start(PeriodKind.MONTH, start)
    if first < start:
        first = _next_month(first)
    last = period_start(PeriodKind.MONTH, end)
    if among.chapter_id is None or last <= first:
        return await queries.count_mobilised(session, among, start, end)
    m = TABLE.c
    parts: list[Any] = [
        select(m.person_id).where(
            m.ancestor_id == inline(among.chapter_id, Mobilisation.ancestor_id),
            m.months == inline(1, Mobilisation.months),
            m.period >= inline(month_of(first), Mobilisation.period),
            m.period < inline(month_of(last), Mobilisation.period),
            m.activities > 0,
        ).distinct()
    ]
    for lo, hi in ((start, first), (last, end)):
        if lo < hi:
            edge = queries.activity(among, lo, hi)
            parts.append(select(edge.c.person_id))
    people = _union(parts).subquery()
    return int((await session.exec(select(sa.func.count()).select_from(people))).one())


def _union(parts: list[Any]) -> Any:
    return sa.union(*parts) if len(parts) > 1 else parts[0]


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
