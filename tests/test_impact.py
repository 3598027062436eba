"""Impact: who counts as mobilised, where and when; reports, goals, pace; who may read what."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events.models import Event, EventCause, Registration
from makesense_api.impact import rollup
from makesense_api.impact import service as impact
from makesense_api.impact.models import Goal
from makesense_api.impact.periods import (
    Period,
    PeriodKind,
    pace,
    period_of,
    periods_between,
    periods_left,
)
from makesense_api.impact.schemas import ImpactReport
from makesense_api.kit.errors import (
    Forbidden,
    MissingScope,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.programs.models import Enrolment
from makesense_api.projects.models import Contribution, Need, Project, ProjectCause
from tests.conftest import as_person
from tests.factories import Factory


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


Y2026 = {"start": utc(2026, 1, 1), "end": utc(2027, 1, 1)}
H1_2026 = {"start": utc(2026, 1, 1), "end": utc(2026, 7, 1)}
NOW = utc(2026, 11, 28, 12)
_seq = itertools.count(1)


class World:
    """Activity rows written straight through the ORM, as the other services would leave them
    (their rollup rows included)."""

    def __init__(self, session: AsyncSession, tree: dict[str, ChapterView]) -> None:
        self.session = session
        self.tree = tree

    async def event(
        self,
        chapter: str,
        starts_at: datetime,
        *,
        status: str = "published",
        causes: tuple[int, ...] = (),
        program_id: uuid.UUID | None = None,
    ) -> Event:
        event = Event(
            chapter_id=self.tree[chapter].id,
            program_id=program_id,
            title=f"Event {next(_seq)}",
            default_language="en",
            format="in_person",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            timezone="Europe/Paris",
            language="en",
            status=status,
        )
        self.session.add(event)
        await self.session.flush()
        for cause in causes:
            self.session.add(EventCause(event_id=event.id, cause=cause))
        await self.session.flush()
        return event

    async def attend(self, event: Event, person_id: uuid.UUID, status: str = "attended") -> None:
        self.session.add(
            Registration(
                event_id=event.id, person_id=person_id, status=status, queued_at=event.starts_at
            )
        )
        await rollup.refresh_people(self.session, [person_id])

    async def attends(self, chapter: str, starts_at: datetime, *people: uuid.UUID) -> Event:
        event = await self.event(chapter, starts_at)
        for person_id in people:
            await self.attend(event, person_id)
        return event

    async def contribution(
        self,
        chapter: str,
        person_id: uuid.UUID,
        status: str,
        at: datetime,
        *,
        hours: float | None = None,
        causes: tuple[int, ...] = (),
    ) -> None:
        n = next(_seq)
        project = Project(
            slug=f"impact-project-{n}",
            title=f"Project {n}",
            default_language="fr",
            home_chapter_id=self.tree[chapter].id,
            status="published",
        )
        self.session.add(project)
        await self.session.flush()
        need = Need(project_id=project.id, skill="design", title="Design")
        self.session.add(need)
        self.session.add_all(ProjectCause(project_id=project.id, cause=c) for c in causes)
        await self.session.flush()
        self.session.add(
            Contribution(
                need_id=need.id,
                person_id=person_id,
                status=status,
                hours=hours,
                created_at=at,
                updated_at=at,
                answered_at=at if status in ("accepted", "done") else None,
            )
        )
        await rollup.refresh_people(self.session, [person_id])

    async def enrolment(
        self,
        program_id: uuid.UUID,
        person_id: uuid.UUID,
        chapter: str,
        status: str,
        completed_at: datetime | None = None,
    ) -> None:
        self.session.add(
            Enrolment(
                program_id=program_id,
                person_id=person_id,
                chapter_id=self.tree[chapter].id,
                status=status,
                completed_at=completed_at,
            )
        )
        await rollup.refresh_people(self.session, [person_id])


@pytest.fixture
async def tree(factory: Factory) -> dict[str, ChapterView]:
    return await factory.tree()


@pytest.fixture
def world(session: AsyncSession, tree: dict[str, ChapterView]) -> World:
    return World(session, tree)


async def people(factory: Factory, n: int) -> list[uuid.UUID]:
    return [await factory.person() for _ in range(n)]


async def report(ctx: Ctx, chapter: ChapterView, **kw: Any) -> ImpactReport:
    return await impact.report(ctx, {"chapter_id": chapter.id, **H1_2026, "detail": True, **kw})


def by_slug(r: ImpactReport, index: int = 0) -> dict[str, int]:
    return {c.slug: c.people for c in r.periods[index].by_chapter or []}


# -- periods (pure) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "kind", "label"),
    [
        (utc(2026, 6, 30, 23, 59, 59), PeriodKind.SEMESTER, "2026-H1"),
        (utc(2026, 7, 1), PeriodKind.SEMESTER, "2026-H2"),
        (utc(2026, 12, 31, 23, 59, 59), PeriodKind.SEMESTER, "2026-H2"),
        (utc(2027, 1, 1), PeriodKind.SEMESTER, "2027-H1"),
        # 1 July 01:00 in Paris is still 30 June in UTC.
        (
            datetime(2026, 7, 1, 1, tzinfo=timezone(timedelta(hours=2))),
            PeriodKind.SEMESTER,
            "2026-H1",
        ),
        (
            datetime(2026, 6, 30, 20, tzinfo=timezone(timedelta(hours=-5))),
            PeriodKind.SEMESTER,
            "2026-H2",
        ),
        (utc(2026, 3, 31, 23, 59, 59), PeriodKind.QUARTER, "2026-Q1"),
        (utc(2026, 4, 1), PeriodKind.QUARTER, "2026-Q2"),
        (utc(2026, 12, 1), PeriodKind.QUARTER, "2026-Q4"),
        (utc(2026, 2, 28, 23), PeriodKind.MONTH, "2026-02"),
        (utc(2026, 12, 31, 23), PeriodKind.MONTH, "2026-12"),
        (utc(2031, 12, 31, 23, 59, 59), PeriodKind.YEAR, "2031"),
    ],
)
def test_period_of(instant: datetime, kind: PeriodKind, label: str) -> None:
    period = period_of(kind, instant)
    assert period.label == label
    assert instant in period
    assert period.start.tzinfo is UTC and period.end.tzinfo is UTC


def test_periods_are_half_open_and_contiguous() -> None:
    h1 = period_of(PeriodKind.SEMESTER, utc(2026, 2, 1))
    assert (h1.start, h1.end) == (utc(2026, 1, 1), utc(2026, 7, 1))
    assert utc(2026, 7, 1) not in h1 and utc(2026, 1, 1) in h1
    december = period_of(PeriodKind.MONTH, utc(2026, 12, 5))
    assert december.end == utc(2027, 1, 1)
    months = periods_between(PeriodKind.MONTH, utc(2026, 1, 1), utc(2027, 1, 1))
    assert len(months) == 12
    assert all(a.end == b.start for a, b in itertools.pairwise(months))


def test_periods_between_returns_whole_overlapping_periods() -> None:
    got = periods_between(PeriodKind.SEMESTER, utc(2026, 5, 15), utc(2026, 8, 1))
    assert [p.label for p in got] == ["2026-H1", "2026-H2"]
    exact = periods_between(PeriodKind.SEMESTER, utc(2026, 1, 1), utc(2026, 7, 1))
    assert [p.label for p in exact] == ["2026-H1"]
    tiny = periods_between(PeriodKind.YEAR, utc(2026, 6, 30), utc(2026, 6, 30, 0, 0, 1))
    assert tiny == [Period(PeriodKind.YEAR, utc(2026, 1, 1), utc(2027, 1, 1))]
    quarters = periods_between(PeriodKind.QUARTER, utc(2025, 11, 1), utc(2026, 4, 1))
    assert [p.label for p in quarters] == ["2025-Q4", "2026-Q1"]
    with pytest.raises(ValueError, match="after"):
        periods_between(PeriodKind.MONTH, utc(2026, 1, 1), utc(2026, 1, 1))
    with pytest.raises(ValueError, match="more than"):
        periods_between(PeriodKind.MONTH, utc(2000, 1, 1), utc(2030, 1, 1))


def test_periods_left_and_pace() -> None:
    deadline = utc(2031, 12, 31, 23, 59, 59)
    assert periods_left(PeriodKind.SEMESTER, NOW, deadline) == 11  # 2026-H2 … 2031-H2
    assert periods_left(PeriodKind.MONTH, NOW, deadline) == 62  # Nov 2026 … Dec 2031
    assert periods_left(PeriodKind.YEAR, NOW, deadline) == 6
    assert periods_left(PeriodKind.SEMESTER, deadline, deadline) == 1
    assert periods_left(PeriodKind.SEMESTER, deadline + timedelta(seconds=1), deadline) == 0
    assert pace(100, 3) == 34
    assert pace(0, 3) == 0
    assert pace(-5, 3) == 0
    assert pace(100, 0) is None


# -- who counts -----------------------------------------------------------------------------


async def test_one_person_in_two_cities_counts_once_for_their_country(
    system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    (alice,) = await people(factory, 1)
    await world.attends("paris", utc(2026, 2, 10), alice)
    await world.attends("lyon", utc(2026, 3, 10), alice)
    france = await report(system, tree["france"])
    assert france.periods[0].mobilised == 1
    # Each child counts its own subtree: the children's sum exceeds the total, as it should.
    assert by_slug(france) == {"lyon": 1, "paris": 1}
    root = await report(system, tree["root"])
    assert root.periods[0].mobilised == 1 and by_slug(root) == {"africa": 0, "europe": 1}
    paris = await report(system, tree["paris"])
    assert paris.periods[0].mobilised == 1 and by_slug(paris) == {"batignolles": 0}


async def test_three_events_in_one_semester_count_once(
    system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    bob, carl = await people(factory, 2)
    for day in (1, 2, 3):
        await world.attends("batignolles", utc(2026, 4, day), bob)
    await world.attends("paris", utc(2026, 4, 4), carl)
    figures = (await report(system, tree["paris"])).periods[0]
    assert (figures.mobilised, figures.events_held, figures.attended) == (2, 4, 4)
    assert by_slug(await report(system, tree["paris"])) == {"batignolles": 1}


async def test_only_attendance_counts_not_registration_or_no_show(
    system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    event = await world.event("paris", utc(2026, 5, 1))
    for status in ("no_show", "registered", "waitlisted", "cancelled"):
        await world.attend(event, await factory.person(), status)
    figures = (await report(system, tree["paris"])).periods[0]
    assert figures.mobilised == 0
    assert (figures.attended, figures.no_shows, figures.attendance_rate) == (0, 1, 0.0)


async def test_semesters_split_at_utc_boundaries(
    system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    last_second, first_second, paris_night = await people(factory, 3)
    await world.attends("paris", utc(2026, 6, 30, 23, 59, 59), last_second)
    await world.attends("paris", utc(2026, 7, 1), first_second)
    paris_time = timezone(timedelta(hours=2))
    await world.attends("paris", datetime(2026, 7, 1, 1, tzinfo=paris_time), paris_night)
    got = await impact.report(system, {"chapter_id": tree["paris"].id, **Y2026})
    assert [(p.label, p.start, p.end) for p in got.periods] == [
        ("2026-H1", utc(2026, 1, 1), utc(2026, 7, 1)),
        ("2026-H2", utc(2026, 7, 1), utc(2027, 1, 1)),
    ]
    assert [(p.mobilised, p.events_held) for p in got.periods] == [(2, 2), (1, 1)]
    quarters = await impact.report(
        system, {"chapter_id": tree["paris"].id, **Y2026, "period": "quarter"}
    )
    assert [p.mobilised for p in quarters.periods] == [0, 2, 1, 0]
    months = await impact.report(
        system, {"chapter_id": tree["paris"].id, **Y2026, "period": "month"}
    )
    assert [p.mobilised for p in months.periods][5:7] == [2, 1]
    # The same person active in both semesters counts in each, and once in the year.
    await world.attends("lyon", utc(2026, 9, 1), last_second)
    year = await impact.report(system, {"chapter_id": tree["france"].id, **Y2026, "period": "year"})
    assert [p.mobilised for p in year.periods] == [3]
    halves = await impact.report(system, {"chapter_id": tree["france"].id, **Y2026})
    assert [p.mobilised for p in halves.periods] == [2, 2]


async def test_accepted_and_done_contributions_count_offered_and_declined_do_not(
    system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    accepted, done, offered, declined, later = await people(factory, 5)
    await world.contribution("paris", accepted, "accepted", utc(2026, 3, 1), hours=3)
    await world.contribution("batignolles", done, "done", utc(2026, 4, 1), hours=4.5)
    await world.contribution("paris", offered, "offered", utc(2026, 4, 2))
    await world.contribution("paris", declined, "declined", utc(2026, 4, 3), hours=2)
    await world.contribution("paris", later, "done", utc(2026, 8, 1), hours=2)
    got = await impact.report(system, {"chapter_id": tree["france"].id, **Y2026})
    assert [p.mobilised for p in got.periods] == [2, 1]
    # Hours are those of contributions done, dated by when they were answered.
    assert [p.volunteer_hours for p in got.periods] == [4.5, 2.0]
    lagos = await impact.report(system, {"chapter_id": tree["lagos"].id, **Y2026})
    assert [(p.mobilised, p.volunteer_hours) for p in lagos.periods] == [(0, 0.0), (0, 0.0)]


async def test_completed_enrolments_count_enrolled_and_dropped_do_not(
    system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    program = await factory.program(tree["france"])
    done, enrolled, dropped, last_year = await people(factory, 4)
    await world.enrolment(program.id, done, "lyon", "completed", utc(2026, 3, 7))
    await world.enrolment(program.id, enrolled, "paris", "enrolled")
    await world.enrolment(program.id, dropped, "paris", "dropped")
    await world.enrolment(
        program.id, last_year, "france", "completed", utc(2025, 12, 31, 23, 59, 59)
    )
    france = await report(system, tree["france"])
    assert france.periods[0].mobilised == 1
    # Counted in the enrolment's chapter, not the organizing one alone.
    assert by_slug(france) == {"lyon": 1, "paris": 0}
    earlier = await impact.report(
        system, {"chapter_id": tree["france"].id, "start": utc(2025, 7, 1), "end": utc(2026, 1, 1)}
    )
    assert earlier.periods[0].mobilised == 1


async def test_a_person_active_through_every_source_counts_once(
    system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    program = await factory.program(tree["france"])
    (dana,) = await people(factory, 1)
    await world.attends("paris", utc(2026, 2, 1), dana)
    await world.contribution("lyon", dana, "done", utc(2026, 3, 1), hours=1)
    await world.enrolment(program.id, dana, "france", "completed", utc(2026, 4, 1))
    france = await report(system, tree["france"])
    assert france.periods[0].mobilised == 1
    assert by_slug(france) == {"lyon": 1, "paris": 1}
    europe = await report(system, tree["europe"])
    assert europe.periods[0].mobilised == 1


async def test_cause_breakdown_counts_a_person_once_per_cause(
    system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    rose, sam, tom = await people(factory, 3)
    climate = await world.event("paris", utc(2026, 2, 1), causes=(13, 4))
    await world.attend(climate, rose)
    again = await world.event("lyon", utc(2026, 2, 8), causes=(13,))
    await world.attend(again, rose)
    await world.attend(again, sam)
    await world.contribution("lyon", rose, "accepted", utc(2026, 3, 1), causes=(13, 6))
    plain = await world.event("paris", utc(2026, 3, 1))
    await world.attend(plain, tom)
    figures = (await report(system, tree["france"])).periods[0]
    assert figures.mobilised == 3
    assert [(c.cause, c.people) for c in figures.by_cause or []] == [(4, 1), (6, 1), (13, 2)]


async def test_events_held_and_attendance_rate(
    system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    held = await world.event("paris", utc(2026, 2, 1))
    for person_id in await people(factory, 3):
        await world.attend(held, person_id)
    await world.attend(held, await factory.person(), "no_show")
    await world.attend(held, await factory.person(), "registered")
    await world.event("paris", utc(2026, 2, 2), status="cancelled")
    await world.event("paris", utc(2026, 2, 3), status="draft")
    await world.event("lagos", utc(2026, 2, 4))
    await world.event("paris", utc(2026, 7, 4))
    got = await impact.report(system, {"chapter_id": tree["france"].id, **Y2026, "detail": True})
    first, second = got.periods
    assert (first.events_held, first.attended, first.no_shows) == (1, 3, 1)
    assert first.attendance_rate == 0.75
    assert (second.events_held, second.attendance_rate) == (1, None)


async def test_program_report_counts_linked_events_and_enrolments(
    system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    program = await factory.program(tree["france"], chapter_ids=[tree["lagos"].id])
    ada, ben, cy, outsider = await people(factory, 4)
    linked_paris = await world.event("paris", utc(2026, 3, 2), program_id=program.id, causes=(13,))
    await world.attend(linked_paris, ada)
    linked_lagos = await world.event("lagos", utc(2026, 3, 3), program_id=program.id)
    await world.attend(linked_lagos, ben)
    await world.enrolment(program.id, ben, "lagos", "completed", utc(2026, 3, 8))
    await world.enrolment(program.id, cy, "lagos", "completed", utc(2026, 3, 8))
    await world.attends("paris", utc(2026, 3, 4), outsider)
    await world.contribution("paris", outsider, "done", utc(2026, 3, 5), hours=9)
    got = await impact.report(system, {"program_id": program.id, **H1_2026, "detail": True})
    figures = got.periods[0]
    assert (figures.mobilised, figures.events_held, figures.volunteer_hours) == (3, 2, 0.0)
    assert by_slug(got) == {"france": 1, "lagos": 2}
    assert [(c.cause, c.people) for c in figures.by_cause or []] == [(13, 1)]


# -- who may read what ----------------------------------------------------------------------


async def test_totals_are_public_and_breakdowns_need_impact_read(
    session: AsyncSession, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    await world.attends("paris", utc(2026, 2, 1), *(await people(factory, 2)))
    anon = Ctx.of(session, Principal.anonymous())
    public = await impact.report(anon, {"chapter_id": tree["france"].id, **H1_2026})
    figures = public.periods[0]
    assert (public.detailed, figures.mobilised, figures.events_held) == (False, 2, 1)
    assert (figures.by_chapter, figures.by_cause, figures.attendance_rate) == (None, None, None)
    with pytest.raises(Unauthenticated):
        await report(anon, tree["france"])
    france_member = await factory.member(tree["france"])
    without = as_person(session, france_member, scopes={"events:read", "programs:read"})
    with pytest.raises(MissingScope):
        await report(without, tree["france"])
    scoped = as_person(session, france_member, scopes={"impact:read"})
    assert (await report(scoped, tree["france"])).detailed
    # Plain membership counts in its own chapter only; organizers' roles carry down the tree.
    with pytest.raises(Forbidden):
        await report(scoped, tree["paris"])
    france_organizer = await factory.member(tree["france"], "organizer")
    assert (await report(as_person(session, france_organizer), tree["paris"])).detailed
    paris_member = as_person(session, await factory.member(tree["paris"]))
    assert (await report(paris_member, tree["paris"])).periods[0].mobilised == 2
    with pytest.raises(Forbidden):
        await report(paris_member, tree["france"])
    partner = await factory.partner()
    await factory.grant(partner.id, tree["france"], "impact:read")
    funder = Ctx.of(session, Principal.partner(partner.id, {"impact:read"}))
    assert by_slug(await report(funder, tree["france"])) == {"lyon": 0, "paris": 2}
    with pytest.raises(Forbidden):
        await report(funder, tree["lagos"])


async def test_reach_restricts_reports_to_the_tokens_subtree(
    session: AsyncSession, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    await world.attends("lagos", utc(2026, 2, 1), *(await people(factory, 1)))
    admin = await factory.member(tree["root"], "admin")
    lagos_only = as_person(session, admin, reach=frozenset({tree["lagos"].id}))
    assert (await report(lagos_only, tree["lagos"])).periods[0].mobilised == 1
    for chapter in ("france", "root"):
        with pytest.raises(NotFound):
            await impact.report(lagos_only, {"chapter_id": tree[chapter].id, **H1_2026})
    africa_only = as_person(session, admin, reach=frozenset({tree["africa"].id}))
    assert by_slug(await report(africa_only, tree["africa"])) == {"lagos": 1}
    draft = await factory.program(tree["france"], publish=False)
    with pytest.raises(NotFound):
        await impact.report(
            Ctx.of(session, Principal.anonymous()), {"program_id": draft.id, **H1_2026}
        )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": utc(2026, 7, 1), "end": utc(2026, 1, 1)}, "end"),
        ({"start": utc(2000, 1, 1), "end": utc(2030, 1, 1), "period": "month"}, "end"),
        ({"start": datetime(2026, 1, 1), "end": utc(2026, 7, 1)}, "start"),
        ({**H1_2026, "period": "week"}, "period"),
        ({**H1_2026, "program_id": uuid.UUID(int=1)}, "chapter_id"),
    ],
)
async def test_invalid_report_queries(
    system: Ctx, tree: dict[str, ChapterView], query: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        await impact.report(system, {"chapter_id": tree["france"].id, **query})
    assert field in [e.field for e in err.value.errors]


# -- goals ----------------------------------------------------------------------------------


async def test_network_goal_progress_and_pace(
    session: AsyncSession, system: Ctx, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    goal = await impact.set_goal(
        system,
        {
            "chapter_id": tree["root"].id,
            "target": 180_000_000,
            "starts_at": utc(2022, 1, 1),
            "deadline": utc(2031, 12, 31, 23, 59, 59),
        },
    )
    ann, bo, later = await people(factory, 3)
    await world.attends("paris", utc(2024, 5, 1), ann)
    await world.attends("lagos", utc(2026, 10, 1), ann, bo)
    await world.attends("lagos", utc(2021, 12, 31, 23), later)  # before the goal started
    await world.attends("paris", utc(2026, 12, 1), later)  # after "now"
    anon = Ctx.of(session, Principal.anonymous())
    got = await impact.progress(anon, goal.id, now=NOW)
    assert (got.as_of, got.mobilised, got.remaining) == (NOW, 2, 179_999_998)
    assert got.percent == pytest.approx(2 * 100 / 180_000_000)
    assert (got.semesters_left, got.per_semester) == (11, 16_363_637)
    assert (got.months_left, got.per_month) == (62, 2_903_226)
    # At the next semester's start the pace is spread over one semester fewer.
    later_on = await impact.progress(anon, goal.id, now=utc(2027, 1, 1))
    assert (later_on.mobilised, later_on.semesters_left) == (3, 10)
    assert later_on.per_semester == 18_000_000  # ceil(179_999_997 / 10)
    listed = await impact.list_goals(anon, chapter_id=tree["root"].id)
    assert [g.target for g in listed.items] == [180_000_000]


async def test_goal_past_its_deadline_and_program_goals(
    session: AsyncSession, factory: Factory, world: World, tree: dict[str, ChapterView]
) -> None:
    program = await factory.program(tree["france"])
    organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    goal = await impact.set_goal(
        organizer,
        {
            "program_id": program.id,
            "target": 4,
            "starts_at": utc(2026, 1, 1),
            "deadline": utc(2026, 6, 30),
        },
    )
    ann, bo, cid = await people(factory, 3)
    await world.enrolment(program.id, ann, "paris", "completed", utc(2026, 3, 8))
    linked = await world.event("lyon", utc(2026, 3, 2), program_id=program.id)
    await world.attend(linked, bo)
    await world.attends("lyon", utc(2026, 3, 2), cid)  # not part of the program
    await world.enrolment(program.id, cid, "paris", "completed", utc(2026, 8, 1))  # too late
    got = await impact.progress(organizer, goal.id, now=NOW)
    assert (got.mobilised, got.remaining, got.percent) == (2, 2, 50.0)
    assert (got.semesters_left, got.per_semester, got.months_left, got.per_month) == (
        0,
        None,
        0,
        None,
    )
    before = await impact.progress(organizer, goal.id, now=utc(2025, 12, 1))
    assert (before.mobilised, before.semesters_left, before.per_semester) == (0, 2, 2)
    assert before.per_month == 1  # ceil(4 / 7)


async def test_who_may_set_goals_and_failed_writes_leave_nothing(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    program = await factory.program(tree["france"])
    dates = {"starts_at": utc(2026, 1, 1), "deadline": utc(2031, 12, 31, 23, 59, 59)}
    count = select(func.count()).select_from(Goal)
    before = (await session.exec(count)).one()
    organizer_id = await factory.member(tree["france"], "organizer")
    organizer = as_person(session, organizer_id)
    with pytest.raises(Forbidden):
        await impact.set_goal(organizer, {"chapter_id": tree["france"].id, "target": 10, **dates})
    admin_id = await factory.member(tree["france"], "admin")
    with pytest.raises(MissingScope):
        await impact.set_goal(
            as_person(session, admin_id, scopes={"chapters:write"}),
            {"chapter_id": tree["france"].id, "target": 10, **dates},
        )
    with pytest.raises(Forbidden):
        await impact.set_goal(
            as_person(session, await factory.member(tree["paris"], "organizer")),
            {"program_id": program.id, "target": 10, **dates},
        )
    invalid: list[tuple[dict[str, Any], str]] = [
        (
            {"chapter_id": tree["france"].id, "program_id": program.id, "target": 1, **dates},
            "chapter_id",
        ),
        ({"target": 1, **dates}, "chapter_id"),
        ({"chapter_id": tree["france"].id, "target": 0, **dates}, "target"),
        (
            {
                "chapter_id": tree["france"].id,
                "target": 1,
                "starts_at": dates["deadline"],
                "deadline": dates["starts_at"],
            },
            "deadline",
        ),
        ({"chapter_id": uuid.uuid4(), "target": 1, **dates}, "chapter_id"),
    ]
    admin = as_person(session, admin_id)
    for data, field in invalid:
        with pytest.raises(ValidationFailed) as err:
            await impact.set_goal(admin, data)
        assert err.value.errors[0].field == field
    assert (await session.exec(count)).one() == before
    goal = await impact.set_goal(admin, {"chapter_id": tree["france"].id, "target": 10, **dates})
    program_goal = await impact.set_goal(
        organizer, {"program_id": program.id, "target": 10, **dates}
    )
    changed = await impact.update_goal(admin, goal.id, {"target": 20})
    assert changed.target == 20
    with pytest.raises(ValidationFailed):
        await impact.update_goal(admin, goal.id, {"deadline": utc(2025, 1, 1)})
    assert (await impact.get_goal(admin, goal.id)).deadline == dates["deadline"]
    with pytest.raises(Forbidden):
        await impact.update_goal(organizer, goal.id, {"target": 1})
    # Goals are as visible as their chapter or program.
    lagos_only = as_person(session, admin_id, reach=frozenset({tree["lagos"].id}))
    with pytest.raises(NotFound):
        await impact.get_goal(lagos_only, goal.id)
    anon = Ctx.of(session, Principal.anonymous())
    assert (await impact.get_goal(anon, program_goal.id)).program_id == program.id
