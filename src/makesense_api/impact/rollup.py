"""The impact rollup (`mobilisation`), kept exact in the transaction of every change it sums.

A row is one person's activity in one chapter's subtree (every ancestor of the chapter where it
happened, itself included) in one UTC month, quarter, semester or year: mobilising facts,
attended and no-show registrations, and the causes served (see `impact.models.Mobilisation`).
Facts are dated and placed exactly as `impact.queries` does: an attended or no-show registration
by its event's start in the event's host chapter, a contribution accepted or done by its
`answered_at` in the project's home chapter, a completed enrolment by `completed_at` in the
enrolment's chapter.

Rows are never patched by deltas: each call recomputes every row of the people concerned from
the facts (delete, then `INSERT … SELECT`), so a call is idempotent and cannot drift. Callers
name who changed, after the change, inside their use-case:

- `refresh_people`: a registration checked in (attended, no-show, or back), a contribution or an
  enrolment changing status;
- `event_edited` / `refresh_event`: an event's start or causes edited (its attendees);
- `refresh_project`: a project's causes or home chapter edited (its contributors);
- `refresh_subtree`: a chapter moved (everyone active in its subtree, whose ancestors changed);
- `rebuild`: everything, after bulk loads that bypass the services (seeding).

Concurrency (PostgreSQL; SQLite runs one writer at a time): refreshing a person takes a
transaction-scoped advisory lock on that person (in id order when there are several) under a
shared rollup lock, so two transactions never interleave one person's delete and insert and the
later one recomputes from the facts the earlier one committed. `refresh_subtree` and `rebuild`
take the rollup lock exclusively.
"""

import uuid
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.chapters.models import ChapterClosure
from makesense_api.events.models import Event, EventCause, Registration, RegistrationStatus
from makesense_api.impact.models import Mobilisation
from makesense_api.kit.db import serialize
from makesense_api.programs.models import Enrolment, EnrolmentStatus
from makesense_api.projects.models import (
    Contribution,
    ContributionStatus,
    Need,
    Project,
    ProjectCause,
)

TABLE: sa.Table = Mobilisation.__table__  # type: ignore[attr-defined]
SDGS = range(1, 18)  # causes are UN Sustainable Development Goals 1–17
PERIOD_MONTHS = (1, 3, 6, 12)  # months, quarters, semesters, years
CONTRIBUTED = (ContributionStatus.ACCEPTED.value, ContributionStatus.DONE.value)
CHECKED = (RegistrationStatus.ATTENDED.value, RegistrationStatus.NO_SHOW.value)
ROLLUP_LOCK = 0x6D73_726F_6C6C  # the whole rollup (one-key advisory lock space)
PERSON_LOCKS = 0x6D73_7270  # class of the per-person locks (two-key advisory lock space)

Who = Callable[[Any], sa.ColumnElement[bool]]


class utc_month(sa.sql.functions.GenericFunction[int]):  # noqa: N801 (an SQL function)
    """`yyyymm` of a timestamp's UTC month, as an integer (202607 for July 2026)."""

    type = sa.Integer()
    inherit_cache = True


@compiles(utc_month, "postgresql")
def _utc_month_postgresql(element: utc_month, compiler: SQLCompiler, **kw: Any) -> str:
    return (
        f"CAST(to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', "
        "'YYYYMM') AS INTEGER)"
    )


@compiles(utc_month, "sqlite")
def _utc_month_sqlite(element: utc_month, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps aware instants as UTC text (kit.types.AwareDateTime).
    return f"CAST(strftime('%Y%m', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def _bits(cause: Any) -> Any:
    """The sum of `1 << cause` over distinct causes: a bit set of them."""
    return sa.func.coalesce(sa.func.sum(sa.literal_column("1", sa.Integer).op("<<")(cause)), 0)


def _flag(condition: sa.ColumnElement[bool]) -> sa.Case[Any]:
    return sa.case((condition, 1), else_=0)


# -- the facts, per person ------------------------------------------------------------------


def _registrations(who: Who) -> Any:
    attended = col(Registration.status) == RegistrationStatus.ATTENDED.value
    causes = select(_bits(EventCause.cause)).where(EventCause.event_id == Event.id)
    columns: list[Any] = [
        col(Registration.person_id).label("person_id"),
        col(Event.chapter_id).label("chapter_id"),
        utc_month(Event.starts_at).label("month"),
        _flag(attended).label("activities"),
        _flag(attended).label("attended"),
        _flag(col(Registration.status) == RegistrationStatus.NO_SHOW.value).label("no_shows"),
        sa.case((attended, causes.scalar_subquery()), else_=0).label("causes"),
    ]
    return (
        select(*columns)
        .join(Event, col(Event.id) == Registration.event_id)
        .where(col(Registration.status).in_(CHECKED), who(Registration.person_id))
    )


def _contributions(who: Who) -> Any:
    causes = select(_bits(ProjectCause.cause)).where(ProjectCause.project_id == Project.id)
    columns: list[Any] = [
        col(Contribution.person_id).label("person_id"),
        col(Project.home_chapter_id).label("chapter_id"),
        utc_month(Contribution.answered_at).label("month"),
        sa.literal(1).label("activities"),
        sa.literal(0).label("attended"),
        sa.literal(0).label("no_shows"),
        causes.scalar_subquery().label("causes"),
    ]
    return (
        select(*columns)
        .join(Need, col(Need.id) == Contribution.need_id)
        .join(Project, col(Project.id) == Need.project_id)
        .where(
            col(Contribution.status).in_(CONTRIBUTED),
            col(Contribution.answered_at).is_not(None),
            who(Contribution.person_id),
        )
    )


def _enrolments(who: Who) -> Any:
    columns: list[Any] = [
        col(Enrolment.person_id).label("person_id"),
        col(Enrolment.chapter_id).label("chapter_id"),
        utc_month(Enrolment.completed_at).label("month"),
        sa.literal(1).label("activities"),
        sa.literal(0).label("attended"),
        sa.literal(0).label("no_shows"),
        sa.literal(0).label("causes"),
    ]
    return select(*columns).where(
        col(Enrolment.status) == EnrolmentStatus.COMPLETED.value,
        col(Enrolment.completed_at).is_not(None),
        who(Enrolment.person_id),
    )


def facts(who: Who) -> Any:
    """(person_id, chapter_id, month, activities, attended, no_shows, causes) of every fact of
    the people `who` selects, one row per fact."""
    return sa.union_all(_registrations(who), _contributions(who), _enrolments(who)).subquery()


def _any_causes(causes: Any) -> Any:
    """Bitwise OR as an aggregate, the same on SQLite and PostgreSQL: the largest
    `causes & bit` of the group is `bit` or 0, for each SDG."""
    return sum((sa.func.max(causes.op("&")(1 << n)) for n in SDGS), start=sa.literal(0))


def _period(month: Any, months: Any) -> Any:
    """`yyyymm` of the first month of the period of `months` months holding `month`."""
    return (month // 100) * 100 + ((month % 100 - 1) // months) * months + 1


def rows(who: Who) -> Any:
    """The rollup rows of the people `who` selects, in `TABLE`'s column order: per month
    first, then per quarter, semester and year from the months."""
    f = facts(who)
    monthly = (
        select(*[
            col(ChapterClosure.ancestor_id).label("ancestor_id"),
            f.c.month,
            f.c.person_id,
            sa.func.sum(f.c.activities).label("activities"),
            sa.func.sum(f.c.attended).label("attended"),
            sa.func.sum(f.c.no_shows).label("no_shows"),
            _any_causes(f.c.causes).label("causes"),
        ])
        .join(ChapterClosure, col(ChapterClosure.descendant_id) == f.c.chapter_id)
        .group_by(col(ChapterClosure.ancestor_id), f.c.month, f.c.person_id)
        .subquery()
    )
    spans = sa.union_all(
        *(select(sa.literal(n, sa.Integer).label("months")) for n in PERIOD_MONTHS)
    ).subquery()
    period = _period(monthly.c.month, spans.c.months)
    columns: list[Any] = [
        monthly.c.ancestor_id,
        spans.c.months,
        period,
        monthly.c.person_id,
        sa.func.sum(monthly.c.activities),
        sa.func.sum(monthly.c.attended),
        sa.func.sum(monthly.c.no_shows),
        _any_causes(monthly.c.causes),
    ]
    return (
        select(*columns)
        .select_from(monthly)
        .join(spans, sa.true())
        .group_by(monthly.c.ancestor_id, spans.c.months, period, monthly.c.person_id)
    )


COLUMNS = [
    "ancestor_id", "months", "period", "person_id", "activities", "attended", "no_shows", "causes"
]


async def _rewrite(session: AsyncSession, who: Who) -> None:
    await session.exec(sa.delete(TABLE).where(who(TABLE.c.person_id)))
    await session.exec(sa.insert(TABLE).from_select(COLUMNS, rows(who)))


# -- locks --------------------------------------------------------------------------------


def _is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _person_key(person_id: uuid.UUID) -> int:
    """A signed 32-bit key per person; a collision only serializes two people needlessly."""
    return zlib.crc32(person_id.bytes) - (1 << 31)


async def _lock_people(session: AsyncSession, person_ids: list[uuid.UUID]) -> None:
    if not _is_postgresql(session):
        return
    await session.exec(select(sa.func.pg_advisory_xact_lock_shared(ROLLUP_LOCK)))
    keys = sa.values(sa.column("k", sa.Integer), name="person_keys").data(
        [(k,) for k in sorted({_person_key(p) for p in person_ids})]
    )
    ordered = select(keys.c.k).order_by(keys.c.k).subquery()
    # One statement takes them all, in key order, so two callers cannot deadlock on them.
    await session.exec(
        select(sa.func.count(sa.func.pg_advisory_xact_lock(PERSON_LOCKS, ordered.c.k)))
    )


# -- entry points --------------------------------------------------------------------------


async def refresh_people(session: AsyncSession, person_ids: Iterable[uuid.UUID]) -> None:
    """Recompute the rollup rows of these people from their facts (call after the change)."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    await session.flush()
    await _lock_people(session, ids)
    await _rewrite(session, lambda column: col(column).in_(ids))


async def refresh_event(session: AsyncSession, event_id: uuid.UUID) -> None:
    """Recompute the rows of everyone checked in at an event (its start or causes changed)."""
    await session.flush()
    stmt = select(Registration.person_id).where(
        Registration.event_id == event_id, col(Registration.status).in_(CHECKED)
    )
    await refresh_people(session, (await session.exec(stmt)).all())


EVENT_FIELDS = frozenset({"starts_at", "causes", "chapter_id"})  # what dates and places a fact


async def event_edited(session: AsyncSession, event_id: uuid.UUID, fields: Iterable[str]) -> None:
    """After an event edit: refresh its attendees when the edit moved or re-caused it."""
    if EVENT_FIELDS.intersection(fields):
        await refresh_event(session, event_id)


async def refresh_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    """Recompute the rows of a project's contributors (its causes or home chapter changed)."""
    await session.flush()
    stmt = (
        select(Contribution.person_id)
        .join(Need, col(Need.id) == Contribution.need_id)
        .where(Need.project_id == project_id, col(Contribution.status).in_(CONTRIBUTED))
    )
    await refresh_people(session, (await session.exec(stmt)).all())


async def refresh_subtree(session: AsyncSession, chapter_id: uuid.UUID) -> None:
    """Recompute the rows of everyone with a fact in a chapter's subtree (call after a move)."""
    await session.flush()
    await serialize(session, ROLLUP_LOCK)
    inside = select(ChapterClosure.descendant_id).where(ChapterClosure.ancestor_id == chapter_id)
    f = facts(lambda _: sa.true())
    active = select(f.c.person_id).where(f.c.chapter_id.in_(inside))
    await _rewrite(session, lambda column: col(column).in_(active))


async def rebuild(session: AsyncSession) -> None:
    """Recompute the whole rollup (after loads that bypass the services).

    A pass over every fact (minutes for the large seed on PostgreSQL), so the statement
    timeout is lifted for the rest of the transaction.
    """
    await session.flush()
    await serialize(session, ROLLUP_LOCK)
    if _is_postgresql(session):
        await session.exec(sa.text("SET LOCAL statement_timeout = 0"))  # type: ignore[call-overload]
    await _rewrite(session, lambda _: sa.true())
