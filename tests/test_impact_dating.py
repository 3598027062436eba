"""Impact dates a contribution by when it was accepted: later edits and erasure leave it be."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.impact import queries, rollup
from makesense_api.impact import service as impact
from makesense_api.impact.models import Mobilisation
from makesense_api.impact.periods import PeriodKind, period_of, periods_between
from makesense_api.impact.schemas import ImpactReport
from makesense_api.kit.clock import utcnow
from makesense_api.kit.types import AwareDateTime
from makesense_api.migrate import alembic_config
from makesense_api.people import privacy
from makesense_api.projects import contributions
from makesense_api.projects.models import Contribution
from tests.conftest import as_person
from tests.factories import Factory

NOW = utcnow()
# Accepted in the first days of a month 200 days before this one: an earlier semester.
ACCEPTED_AT = period_of(PeriodKind.MONTH, NOW - timedelta(days=200)).start + timedelta(days=2)
DONE_AT = ACCEPTED_AT + timedelta(days=3)
SPAN = {
    "start": period_of(PeriodKind.SEMESTER, ACCEPTED_AT).start,
    "end": period_of(PeriodKind.SEMESTER, NOW).end,
}


@pytest.fixture
async def tree(factory: Factory) -> dict[str, ChapterView]:
    return await factory.tree()


class Clock:
    """The instant the contribution service reads as now."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def at(self, instant: datetime) -> None:
        self.monkeypatch.setattr(contributions, "utcnow", lambda: instant)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


async def offer(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> tuple[uuid.UUID, uuid.UUID]:
    """A volunteer's offer on a Lyon project: (contribution id, volunteer id)."""
    project = await factory.project(tree["lyon"], await factory.person())
    need = await factory.need(project.id)
    volunteer = await factory.person()
    offered = await contributions.offer(
        as_person(session, volunteer), need.id, {"message": "I can help"}
    )
    return offered.id, volunteer


async def done_in_the_past(
    session: AsyncSession, system: Ctx, factory: Factory, tree: dict[str, ChapterView],
    clock: Clock,
) -> tuple[uuid.UUID, uuid.UUID]:
    contribution_id, volunteer = await offer(session, factory, tree)
    clock.at(ACCEPTED_AT)
    await contributions.accept(system, contribution_id)
    clock.at(DONE_AT)
    await contributions.complete(system, contribution_id, {"hours": 3})
    return contribution_id, volunteer


async def row(session: AsyncSession, contribution_id: uuid.UUID) -> Contribution:
    stmt = select(Contribution).where(Contribution.id == contribution_id).execution_options(
        populate_existing=True
    )
    return (await session.exec(stmt)).one()


async def monthly(system: Ctx, tree: dict[str, ChapterView]) -> ImpactReport:
    query = {"chapter_id": tree["france"].id, **SPAN, "period": "month", "detail": True}
    return await impact.report(system, query)


def figures(report: ImpactReport) -> dict[str, tuple[int, float]]:
    """(mobilised, volunteer hours) of the months with any."""
    return {
        p.label: (p.mobilised, p.volunteer_hours)
        for p in report.periods
        if p.mobilised or p.volunteer_hours
    }


async def raw_mobilised(session: AsyncSession, tree: dict[str, ChapterView]) -> dict[int, int]:
    """The definition's own count, straight from the facts (not the rollup)."""
    periods = periods_between(PeriodKind.MONTH, SPAN["start"], SPAN["end"])
    return await queries.mobilised(
        session, queries.Among(chapter_id=tree["france"].id), periods
    )


ACCEPTANCE_MONTH = period_of(PeriodKind.MONTH, ACCEPTED_AT).label


async def test_answered_at_is_the_acceptance_and_done_keeps_it(
    session: AsyncSession, system: Ctx, factory: Factory, tree: dict[str, ChapterView],
    clock: Clock,
) -> None:
    contribution_id, _ = await offer(session, factory, tree)
    assert (await row(session, contribution_id)).answered_at is None
    clock.at(ACCEPTED_AT)
    await contributions.accept(system, contribution_id)
    assert (await row(session, contribution_id)).answered_at == ACCEPTED_AT
    clock.at(DONE_AT)
    await contributions.complete(system, contribution_id, {"hours": 3})
    done = await row(session, contribution_id)
    assert (done.status, done.answered_at) == ("done", ACCEPTED_AT)
    declined_id, _ = await offer(session, factory, tree)
    await contributions.decline(system, declined_id)
    assert (await row(session, declined_id)).answered_at is None
    # Counted, hours included, in the month it was accepted, not the month it was done in.
    assert figures(await monthly(system, tree)) == {ACCEPTANCE_MONTH: (1, 3.0)}


async def test_editing_after_acceptance_leaves_past_figures_and_adds_nothing_now(
    session: AsyncSession, system: Ctx, factory: Factory, tree: dict[str, ChapterView],
    clock: Clock,
) -> None:
    contribution_id, volunteer = await done_in_the_past(session, system, factory, tree, clock)
    before = await monthly(system, tree)
    raw_before = await raw_mobilised(session, tree)
    assert figures(before) == {ACCEPTANCE_MONTH: (1, 3.0)}

    contribution = await row(session, contribution_id)
    contribution.message = "I can help, and I did"
    session.add(contribution)
    await session.flush()
    # Whatever touches the person next recomputes their rollup rows from the facts.
    await rollup.refresh_people(session, [volunteer])
    edited = await row(session, contribution_id)
    assert edited.updated_at >= period_of(PeriodKind.MONTH, NOW).start  # moved to now
    assert await monthly(system, tree) == before
    assert await raw_mobilised(session, tree) == raw_before

    edited.hours = 5
    session.add(edited)
    await session.flush()
    await rollup.refresh_people(session, [volunteer])
    # A correction of the hours stays in the month of acceptance.
    assert figures(await monthly(system, tree)) == {ACCEPTANCE_MONTH: (1, 5.0)}


async def test_erasing_the_contributor_leaves_past_figures_and_adds_nothing_now(
    session: AsyncSession, system: Ctx, factory: Factory, tree: dict[str, ChapterView],
    clock: Clock,
) -> None:
    contribution_id, volunteer = await done_in_the_past(session, system, factory, tree, clock)
    before = await monthly(system, tree)
    raw_before = await raw_mobilised(session, tree)
    assert figures(before) == {ACCEPTANCE_MONTH: (1, 3.0)}

    await privacy.erase(as_person(session, volunteer), None)
    erased = await row(session, contribution_id)
    assert erased.message is None and erased.answered_at == ACCEPTED_AT
    assert await monthly(system, tree) == before
    assert await raw_mobilised(session, tree) == raw_before
    current = await impact.report(system, {
        "chapter_id": tree["root"].id, "period": "semester",
        "start": period_of(PeriodKind.SEMESTER, NOW).start,
        "end": period_of(PeriodKind.SEMESTER, NOW).end,
    })
    assert [(p.mobilised, p.volunteer_hours) for p in current.periods] == [(0, 0.0)]


# -- the migration -------------------------------------------------------------------------


def _migrate(connection: Connection, direction: Any, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    direction(config, revision)


async def _mobilisation(session: AsyncSession, person_id: uuid.UUID) -> list[Any]:
    stmt = (
        select(Mobilisation.ancestor_id, Mobilisation.months, Mobilisation.period,
               Mobilisation.activities)
        .where(Mobilisation.person_id == person_id)
        .order_by(col(Mobilisation.ancestor_id), col(Mobilisation.months))
    )
    return list((await session.exec(stmt)).all())


async def test_the_migration_dates_past_contributions_by_their_acceptance(
    connection: AsyncConnection, session: AsyncSession, system: Ctx, factory: Factory,
    tree: dict[str, ChapterView],
) -> None:
    """Revision 0012 on rows as 0011 left them: the acceptance event's instant when there is
    one, else `updated_at`; the rollup rows of those whose date moved are rebuilt. (Inside the
    test's transaction: the schema change is rolled back with it.)"""
    project = await factory.project(tree["lyon"], await factory.person())
    need = await factory.need(project.id)
    edited, untracked, offered = [await factory.person() for _ in range(3)]
    await session.commit()  # the savepoint, so the raw statements below see the rows
    await connection.run_sync(_migrate, command.downgrade, "0011")
    ids = {p: uuid.uuid4() for p in (edited, untracked, offered)}
    instant = AwareDateTime()
    contribution = sa.table(
        "contribution", sa.column("id", sa.Uuid()), sa.column("need_id", sa.Uuid()),
        sa.column("person_id", sa.Uuid()), sa.column("status", sa.String()),
        sa.column("created_at", instant), sa.column("updated_at", instant),
    )
    event = sa.table(
        "domain_event", sa.column("id", sa.Uuid()), sa.column("type", sa.String()),
        sa.column("chapter_id", sa.Uuid()), sa.column("subject_id", sa.Uuid()),
        sa.column("payload", sa.JSON()), sa.column("created_at", instant),
    )
    for person, status in ((edited, "done"), (untracked, "accepted"), (offered, "offered")):
        await connection.execute(sa.insert(contribution).values(
            id=ids[person], need_id=need.id, person_id=person, status=status,
            created_at=ACCEPTED_AT - timedelta(days=1), updated_at=NOW,
        ))
    await connection.execute(sa.insert(event).values(
        id=uuid.uuid4(), type="contribution.accepted", chapter_id=tree["lyon"].id,
        subject_id=ids[edited], payload={}, created_at=ACCEPTED_AT,
    ))
    await connection.run_sync(_migrate, command.upgrade, "head")

    answered = {
        person: (await row(session, ids[person])).answered_at
        for person in (edited, untracked, offered)
    }
    assert answered == {edited: ACCEPTED_AT, untracked: NOW, offered: None}
    built = await _mobilisation(session, edited)
    assert {p for _, months, p, _ in built if months == 1} == {
        int(ACCEPTED_AT.strftime("%Y%m"))
    }
    await rollup.refresh_people(session, [edited])
    assert await _mobilisation(session, edited) == built  # what the code computes
