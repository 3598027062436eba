"""The impact rollup against the direct computation: random sequences of the service calls that
make or unmake mobilising activity, then every people figure both ways, and the table against a
recomputation from scratch (and against the migration's backfill)."""

import contextlib
import importlib.util
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.chapters import service as chapters
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events import checkin
from makesense_api.events import service as events
from makesense_api.events.models import Event, EventCause, Registration
from makesense_api.impact import counts, queries, rollup
from makesense_api.impact.periods import PeriodKind, periods_between
from makesense_api.impact.queries import Among
from makesense_api.kit.clock import utcnow
from makesense_api.kit.errors import DomainError
from makesense_api.programs import enrolments
from makesense_api.programs.models import Enrolment
from makesense_api.projects import contributions
from makesense_api.projects import service as projects
from makesense_api.projects.models import Contribution
from tests.factories import Factory

MIGRATION = Path(__file__).parent.parent / "migrations/versions/20261128_0006_impact_rollup.py"
STEPS = 45


def _month_start(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


class Scenario:
    """A small federation with events, contributions and enrolments waiting to change."""

    def __init__(self, session: AsyncSession, system: Ctx, rng: random.Random) -> None:
        self.session, self.system, self.rng = session, system, rng
        self.now = utcnow().replace(microsecond=0)
        self.registrations: list[uuid.UUID] = []
        self.contributions: list[uuid.UUID] = []
        self.enrolments: list[uuid.UUID] = []
        self.events: list[uuid.UUID] = []
        self.projects: list[uuid.UUID] = []

    def instant(self) -> datetime:
        """Somewhere from eight months ago to two months ahead (semester boundaries inside)."""
        return self.now + timedelta(hours=self.rng.randint(-8 * 730, 2 * 730))

    def causes(self) -> list[int]:
        return self.rng.sample(range(1, 18), self.rng.randint(0, 3))

    async def build(self, factory: Factory, tree: dict[str, ChapterView]) -> None:
        rng, session = self.rng, self.session
        self.tree = tree
        places = [tree[s] for s in ("paris", "batignolles", "lyon", "lagos", "france")]
        people = [await factory.person() for _ in range(8)]
        for _ in range(10):
            starts = self.instant()
            event = Event(
                chapter_id=rng.choice(places).id, title="Event", default_language="en",
                format="in_person", venue_name="La Ruche", starts_at=starts, ends_at=starts + timedelta(hours=2),
                timezone="Europe/Paris", language="en", status="published",
            )
            session.add(event)
            await session.flush()
            session.add_all(EventCause(event_id=event.id, cause=c) for c in self.causes())
            self.events.append(event.id)
            for person_id in rng.sample(people, 4):
                registration = Registration(
                    event_id=event.id, person_id=person_id, status="registered",
                    queued_at=starts,
                )
                session.add(registration)
                await session.flush()
                self.registrations.append(registration.id)
        owner = await factory.person()
        for _ in range(3):
            project = await factory.project(rng.choice(places), owner, causes=self.causes())
            self.projects.append(project.id)
            need = await factory.need(project.id)
            for person_id in rng.sample(people, 3):
                contribution = Contribution(need_id=need.id, person_id=person_id)
                session.add(contribution)
                await session.flush()
                self.contributions.append(contribution.id)
        program = await factory.program(tree["france"])
        for person_id in rng.sample(people, 6):
            enrolment = Enrolment(
                program_id=program.id, person_id=person_id, chapter_id=rng.choice(places).id
            )
            session.add(enrolment)
            await session.flush()
            self.enrolments.append(enrolment.id)

    # -- operations, each one service call ---------------------------------------------------

    async def check_in(self) -> None:
        status = self.rng.choice(["attended", "attended", "no_show"])
        await checkin.check_in(self.system, self.rng.choice(self.registrations), status)

    async def answer(self) -> None:
        contribution_id = self.rng.choice(self.contributions)
        verb = self.rng.choice(["accept", "accept", "decline", "complete"])
        if verb == "complete":
            await contributions.complete(self.system, contribution_id, {"hours": 2})
        else:
            await getattr(contributions, verb)(self.system, contribution_id)

    async def complete(self) -> None:
        await enrolments.complete(self.system, self.rng.choice(self.enrolments), now=self.instant())

    async def move(self) -> None:
        mover = self.rng.choice(["paris", "lyon", "batignolles", "lagos", "france"])
        parent = self.rng.choice(["europe", "africa", "france", "lagos", "root"])
        await chapters.move(self.system, self.tree[mover].id, self.tree[parent].id)

    async def reschedule(self) -> None:
        starts = self.instant()
        await events.update(
            self.system, self.rng.choice(self.events),
            {"starts_at": starts, "ends_at": starts + timedelta(hours=2)},
        )

    async def recause(self) -> None:
        if self.rng.random() < 0.5:
            await events.update(
                self.system, self.rng.choice(self.events), {"causes": self.causes() or None}
            )
        else:
            await projects.update(
                self.system, self.rng.choice(self.projects), {"causes": self.causes()}
            )

    def operations(self) -> list[Callable[[], Awaitable[None]]]:
        return [self.check_in] * 5 + [self.answer] * 3 + [self.complete] * 2 + [
            self.move, self.reschedule, self.recause
        ]


async def table_rows(session: AsyncSession) -> set[tuple[Any, ...]]:
    return {tuple(r) for r in (await session.exec(select(*rollup.TABLE.c))).all()}


async def recomputed(session: AsyncSession) -> set[tuple[Any, ...]]:
    return {tuple(r) for r in (await session.exec(rollup.rows(lambda _: sa.true()))).all()}


def _attendance(d: dict[int, queries.Attendance]) -> dict[int, tuple[int, int]]:
    return {b: (a.attended, a.no_shows) for b, a in d.items() if a.attended or a.no_shows}


async def assert_figures_agree(session: AsyncSession, scenario: Scenario) -> None:
    start, end = scenario.now - timedelta(days=365), scenario.now + timedelta(days=365)
    children: dict[uuid.UUID, list[uuid.UUID]] = {}
    for chapter in scenario.tree.values():
        found = await chapters.load_visible(scenario.system, chapter.id)
        if found.parent_id is not None:
            children.setdefault(found.parent_id, []).append(found.id)
    for chapter in scenario.tree.values():
        among = Among(chapter_id=chapter.id)
        kids = children.get(chapter.id, [])
        for kind in PeriodKind:
            periods = periods_between(kind, start, end)
            at = f"{chapter.slug} by {kind}"
            assert await counts.mobilised(session, among, periods) == await queries.mobilised(
                session, among, periods
            ), at
            assert await counts.mobilised_by_chapter(
                session, among, periods, kids
            ) == await queries.mobilised_by_chapter(session, among, periods, kids), at
            assert await counts.mobilised_by_cause(
                session, among, periods
            ) == await queries.mobilised_by_cause(session, among, periods), at
            assert _attendance(await counts.attendance(session, among, periods)) == _attendance(
                await queries.attendance(session, among, periods)
            ), at
        for _ in range(3):
            lo, hi = sorted([scenario.instant(), scenario.instant()])
            if lo < hi:
                assert await counts.count_mobilised(
                    session, among, lo, hi
                ) == await queries.count_mobilised(session, among, lo, hi), (chapter.slug, lo, hi)


@pytest.mark.parametrize("seed", [1, 2, 3, 5])
async def test_rollup_equals_direct_computation_after_random_changes(
    session: AsyncSession, system: Ctx, factory: Factory, seed: int
) -> None:
    rng = random.Random(seed)
    scenario = Scenario(session, system, rng)
    await scenario.build(factory, await factory.tree())
    assert await table_rows(session) == set()  # nothing mobilising yet (all registered/offered)
    applied: set[str] = set()
    for step in range(STEPS):
        operation = rng.choice(scenario.operations())
        try:
            await operation()
            applied.add(operation.__name__)
        except DomainError:
            pass  # a refused transition (e.g. completing an offer) must change nothing
        if step % 15 == 14:
            assert await table_rows(session) == await recomputed(session), f"after step {step}"
    assert applied == {"check_in", "answer", "complete", "move", "reschedule", "recause"}
    rows = await table_rows(session)
    assert rows and rows == await recomputed(session)
    await assert_figures_agree(session, scenario)


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("impact_rollup_revision", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_migration_backfill_matches_the_rollup(
    session: AsyncSession, system: Ctx, factory: Factory
) -> None:
    scenario = Scenario(session, system, random.Random(7))
    await scenario.build(factory, await factory.tree())
    for _ in range(30):
        with contextlib.suppress(DomainError):
            await scenario.rng.choice(scenario.operations())()
    kept = await table_rows(session)
    assert kept
    await session.exec(sa.delete(rollup.TABLE))
    dialect = session.get_bind().dialect.name
    await session.exec(sa.text(_migration().backfill_sql(dialect)))
    assert await table_rows(session) == kept
    await session.exec(sa.delete(rollup.TABLE))
    await rollup.rebuild(session)
    assert await table_rows(session) == kept


async def test_refused_check_in_leaves_the_rollup_alone(
    session: AsyncSession, system: Ctx, factory: Factory
) -> None:
    tree = await factory.tree()
    event = await factory.event(tree["paris"])
    ann = await factory.person()
    registration = await factory.registration(event.id, ann)
    await checkin.check_in(system, registration.id, "attended")
    before = await table_rows(session)
    assert {(r[0], r[3]) for r in before} == {
        (tree[s].id, ann) for s in ("root", "europe", "france", "paris")
    }
    with pytest.raises(DomainError):
        await checkin.check_in_many(system, event.id, [registration.id, uuid.uuid4()], "no_show")
    assert await table_rows(session) == before
    await checkin.check_in(system, registration.id, "no_show")  # the undo
    after = await table_rows(session)
    assert {r[1] for r in after} == {1, 3, 6, 12}  # a month, a quarter, a semester, a year
    assert {r[4:7] for r in after} == {(0, 0, 1)}  # no mobilising activity, one no-show
