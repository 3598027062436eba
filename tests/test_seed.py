"""Seed data: the demo network's shape and invariants, and the large bulk loader."""

import contextlib
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import ALL_SCOPES, Principal
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter, ChapterClosure, ChapterKind
from makesense_api.chapters.service import ChapterFilter
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.events import registrations
from makesense_api.events import service as events
from makesense_api.events.models import Event, EventCause, EventSeries, Registration
from makesense_api.impact import service as impact
from makesense_api.impact.models import Goal
from makesense_api.kit import clock
from makesense_api.kit.db import Database, make_sessionmaker
from makesense_api.kit.errors import NotFound
from makesense_api.kit.validation import (
    country_error,
    language_error,
    slug_error,
    timezone_error,
)
from makesense_api.migrate import upgrade_connection
from makesense_api.partners.models import PartnerGrant, PartnerOrganisation
from makesense_api.people import service as people
from makesense_api.people.models import Membership, Person, PersonCause, PersonSkill, Role
from makesense_api.programs.models import Enrolment, Program, ProgramChapter
from makesense_api.projects.models import (
    Contribution,
    ContributionStatus,
    Need,
    NeedStatus,
    Project,
    ProjectCause,
    ProjectOwner,
    ProjectStatus,
)
from makesense_api.seed import large
from makesense_api.seed.activity import next_dst_change
from makesense_api.seed.demo import DemoSummary, has_data, seed_demo
from makesense_api.seed.large import SeedStep, plan, seed_large
from tests.conftest import as_person

# -- databases of their own -----------------------------------------------------------------


@contextlib.asynccontextmanager
async def scratch_database(database_url: str, tmp_path: Path, name: str) -> AsyncIterator[Database]:
    """A migrated database of its own, for seeds that commit: a temporary SQLite file, or a
    throw-away schema when the suite runs on PostgreSQL."""
    if not database_url.startswith("postgresql"):
        db = Database.from_settings(
            Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/{name}.db")
        )
        async with db.engine.connect() as conn:
            await upgrade_connection(conn)
            await conn.commit()
        try:
            yield db
        finally:
            await db.dispose()
        return
    schema = f"{name}_{os.getpid()}"
    admin = create_async_engine(database_url)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine = create_async_engine(
        database_url, connect_args={"server_settings": {"search_path": schema}}
    )
    db = Database(engine, make_sessionmaker(engine))
    try:
        async with db.engine.connect() as conn:
            await upgrade_connection(conn)
            await conn.commit()
        yield db
    finally:
        await db.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await admin.dispose()


# -- the demo network ----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def demo_database(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Database, DemoSummary]]:
    """The demo, seeded once for the module's read-only tests (each test rolls back)."""
    async with scratch_database(database_url, tmp_path_factory.mktemp("demo"), "seed_demo") as db:
        async with db.sessionmaker() as session:
            assert not await has_data(session)
            summary = await seed_demo(Ctx.of(session, Principal.system()))
            await session.commit()
        yield db, summary


@pytest.fixture
def demo(demo_database: tuple[Database, DemoSummary]) -> DemoSummary:
    return demo_database[1]


@pytest.fixture
async def demo_session(
    demo_database: tuple[Database, DemoSummary],
) -> AsyncIterator[AsyncSession]:
    async with demo_database[0].sessionmaker() as session:
        try:
            yield session
        finally:
            await session.rollback()


@pytest.fixture
def demo_system(demo_session: AsyncSession) -> Ctx:
    return Ctx.of(demo_session, Principal.system())


async def _count(session: AsyncSession, model: type, *where: sa.ColumnElement[bool]) -> int:
    stmt = select(func.count()).select_from(model).where(*where)
    return (await session.exec(stmt)).one()


async def _chapter(session: AsyncSession, slug: str) -> Chapter:
    return (await session.exec(select(Chapter).where(Chapter.slug == slug))).one()


async def test_demo_summary_matches_the_rows(demo_session: AsyncSession, demo: DemoSummary) -> None:
    assert demo.chapters == await _count(demo_session, Chapter) >= 15
    assert demo.people == await _count(demo_session, Person) == 150
    assert demo.memberships == await _count(demo_session, Membership)
    assert demo.partners == await _count(demo_session, PartnerOrganisation) == 2
    assert demo.grants == await _count(demo_session, PartnerGrant)
    assert demo.projects == await _count(demo_session, Project) == 20
    assert demo.needs == await _count(demo_session, Need) > demo.projects
    assert demo.contributions == await _count(demo_session, Contribution) > 0
    assert demo.events == await _count(demo_session, Event) >= 60
    assert demo.series == await _count(demo_session, EventSeries) == 1
    assert demo.registrations == await _count(demo_session, Registration) >= 300
    assert demo.programs == await _count(demo_session, Program) == 2
    assert demo.enrolments == await _count(demo_session, Enrolment) >= 60
    assert demo.goals == await _count(demo_session, Goal) == 1 + 5 + 2
    assert await has_data(demo_session)


async def test_demo_tree_spans_continents_and_languages(
    demo_session: AsyncSession, demo: DemoSummary
) -> None:
    rows = (await demo_session.exec(select(Chapter))).all()
    kinds = {kind: [c for c in rows if c.kind == kind] for kind in ChapterKind}
    assert len(kinds[ChapterKind.NETWORK]) == 1
    assert len(kinds[ChapterKind.REGION]) >= 4
    assert len(kinds[ChapterKind.COUNTRY]) >= 8
    assert len(kinds[ChapterKind.CITY]) >= 10
    assert {c.slug for c in kinds[ChapterKind.NEIGHBOURHOOD]} == {
        "paris-belleville", "paris-goutte-d-or",
    }
    languages = {tag.split("-")[0] for c in rows for tag in c.languages}
    assert {"fr", "en", "es", "pt", "ar"} <= languages
    assert len(languages) >= 5
    for c in rows:
        assert slug_error("slug", c.slug) is None
        assert timezone_error("timezone", c.timezone) is None
        assert language_error("default_language", c.default_language) is None
        assert all(language_error("languages", tag) is None for tag in c.languages)
        if c.country_code is not None:
            assert country_error("country_code", c.country_code) is None
        assert c.latitude is not None and c.longitude is not None
        assert {contact["kind"] for contact in c.contacts} == {"email", "whatsapp", "video"}
        assert any(contact["private"] for contact in c.contacts)
        assert all("example.org" in contact["value"] for contact in c.contacts)
        if c.kind in (ChapterKind.CITY, ChapterKind.NEIGHBOURHOOD):
            assert c.country_code is not None and c.city is not None
    assert sum(1 for c in rows if c.translations) >= 5


async def test_demo_subtree_queries_follow_the_tree(demo_system: Ctx, demo: DemoSummary) -> None:
    france = await _chapter(demo_system.session, "france")
    page = await chapters.list_chapters(demo_system, ChapterFilter(subtree=france.id), limit=100)
    assert {c.slug for c in page.items} == {
        "france", "paris", "paris-belleville", "paris-goutte-d-or", "lyon",
    }
    belleville = await _chapter(demo_system.session, "paris-belleville")
    chain = await chapters.ancestors(demo_system, belleville.id)
    assert [c.slug for c in chain] == ["makesense", "europe", "france", "paris"]
    root = await _chapter(demo_system.session, "makesense")
    everything = await chapters.count_chapters(demo_system, ChapterFilter(subtree=root.id))
    assert everything == demo.chapters


async def test_demo_memberships_cover_every_role(demo_session: AsyncSession, demo: DemoSummary) -> None:
    roles = set((await demo_session.exec(select(Membership.role).distinct())).all())
    assert roles == {Role.MEMBER, Role.ORGANIZER, Role.ADMIN}
    root = await _chapter(demo_session, "makesense")
    assert await _count(
        demo_session, Membership, Membership.chapter_id == root.id, Membership.role == Role.ADMIN
    ) >= 1
    cities = (await demo_session.exec(select(Chapter).where(Chapter.kind == ChapterKind.CITY))).all()
    for city in cities:
        admins = await _count(
            demo_session, Membership, Membership.chapter_id == city.id, Membership.role == Role.ADMIN
        )
        assert admins == 1, city.slug
    for region in (await demo_session.exec(
        select(Chapter).where(Chapter.kind == ChapterKind.REGION)
    )).all():
        assert await _count(
            demo_session, Membership, Membership.chapter_id == region.id, Membership.role == Role.ADMIN
        ) == 1
    # Everyone belongs to their home chapter.
    homeless = select(Person.id).where(
        ~sa.exists().where(
            Membership.person_id == Person.id, Membership.chapter_id == Person.home_chapter_id
        )
    )
    assert (await demo_session.exec(homeless)).all() == []


async def test_demo_network_admin_manages_the_whole_tree(
    demo_session: AsyncSession, demo: DemoSummary
) -> None:
    root = await _chapter(demo_session, "makesense")
    admin_id = (await demo_session.exec(select(Membership.person_id).where(
        Membership.chapter_id == root.id, Membership.role == Role.ADMIN
    ))).first()
    assert admin_id is not None
    admin = as_person(demo_session, admin_id)
    manila = await _chapter(demo_session, "manila")
    members = await people.list_members(admin, manila.id, limit=100)
    assert len(members.items) >= 12
    # A Lagos member sees Lagos' private contacts, not Paris members' personal data.
    lagos = await _chapter(demo_session, "lagos")
    other = aliased(Membership)
    plain_members = select(Membership.person_id).where(
        Membership.chapter_id == lagos.id,
        ~sa.exists().where(
            other.person_id == Membership.person_id, other.role > Role.MEMBER
        ),
    )
    member_id = (await demo_session.exec(plain_members)).first()
    assert member_id is not None
    member = as_person(demo_session, member_id)
    view = await chapters.get_by_slug(member, "lagos")
    assert any(c.private for c in view.contacts)
    paris = await _chapter(demo_session, "paris")
    parisian = (await demo_session.exec(
        select(Person.id).where(Person.home_chapter_id == paris.id)
    )).first()
    assert parisian is not None
    with pytest.raises(NotFound):
        await people.get(member, parisian)


async def test_demo_people_are_plausible_and_fictitious(
    demo_session: AsyncSession, demo: DemoSummary
) -> None:
    rows = (await demo_session.exec(select(Person))).all()
    assert len({p.display_name for p in rows}) == len(rows)
    assert len({p.city for p in rows}) >= 10
    languages = {tag.split("-")[0] for p in rows for tag in p.languages}
    assert len(languages) >= 5
    assert 0 < sum(p.open_to_matching for p in rows) < len(rows)
    emails = [p.email for p in rows if p.email]
    assert emails and all(e.endswith("@example.org") for e in emails)
    assert len(set(emails)) == len(emails)
    phones = [p.phone for p in rows if p.phone]
    assert phones and all(re.fullmatch(r"\+33 6 00 00 00 \d\d", ph) for ph in phones)
    skills = (await demo_session.exec(select(PersonSkill.skill).distinct())).all()
    assert {"web-design", "fundraising", "legal", "facilitation"} <= set(skills)
    assert all(people.normalize_skill(s) == s for s in skills)
    causes = set((await demo_session.exec(select(PersonCause.cause).distinct())).all())
    assert causes <= set(range(1, 18)) and len(causes) >= 10
    without_skills = select(Person.id).where(
        ~sa.exists().where(PersonSkill.person_id == Person.id)
    )
    assert (await demo_session.exec(without_skills)).all() == []


async def test_demo_partners_hold_one_grant_per_scope(
    demo_session: AsyncSession, demo: DemoSummary
) -> None:
    for partner in (await demo_session.exec(select(PartnerOrganisation))).all():
        grants = (await demo_session.exec(
            select(PartnerGrant).where(PartnerGrant.partner_id == partner.id)
        )).all()
        assert len(grants) >= 3
        assert len({g.scope for g in grants}) == len(grants)
        assert {g.scope for g in grants} <= ALL_SCOPES
        assert len({g.chapter_id for g in grants}) == 1
        chapter = await demo_session.get(Chapter, grants[0].chapter_id)
        assert chapter is not None and chapter.kind == ChapterKind.REGION
        assert all(g.granted_by_id is not None for g in grants)
        assert partner.website is not None and partner.website.endswith(".example.org")


async def test_demo_projects_keep_their_invariants(
    demo_session: AsyncSession, demo: DemoSummary
) -> None:
    projects = (await demo_session.exec(select(Project))).all()
    assert len({p.home_chapter_id for p in projects}) >= 8
    assert {p.stage for p in projects} == {"idea", "launch", "growth", "scale"}
    assert {p.status for p in projects} == {"draft", "published", "archived"}
    all_causes: set[int] = set()
    for project in projects:
        assert slug_error("slug", project.slug) is None
        owners = set((await demo_session.exec(
            select(ProjectOwner.person_id).where(ProjectOwner.project_id == project.id)
        )).all())
        assert 1 <= len(owners) <= 2
        causes = set((await demo_session.exec(
            select(ProjectCause.cause).where(ProjectCause.project_id == project.id)
        )).all())
        assert causes and causes <= set(range(1, 18))
        all_causes |= causes
        needs = (await demo_session.exec(select(Need).where(Need.project_id == project.id))).all()
        assert needs
        for need in needs:
            assert need.skill == people.normalize_skill(need.skill)
            contributions = (await demo_session.exec(
                select(Contribution).where(Contribution.need_id == need.id)
            )).all()
            assert len({c.person_id for c in contributions}) == len(contributions)
            assert not owners & {c.person_id for c in contributions}
            for c in contributions:
                assert c.status in set(ContributionStatus)
                if c.status not in (ContributionStatus.DONE, ContributionStatus.ACCEPTED):
                    assert c.hours is None
                if c.status == ContributionStatus.DONE:
                    assert c.hours is not None and c.hours > 0
            if project.status == ProjectStatus.DRAFT:
                assert need.status == NeedStatus.OPEN and not contributions
            if need.status == NeedStatus.FILLED:
                assert any(c.status in ("accepted", "done") for c in contributions)
    assert len(all_causes) >= 12
    statuses = set((await demo_session.exec(select(Contribution.status).distinct())).all())
    assert statuses == {"offered", "accepted", "declined", "done"}
    assert set((await demo_session.exec(select(Need.status).distinct())).all()) == {"open", "filled"}


# -- the demo's activity -------------------------------------------------------------------

SEATED = ("registered", "attended", "no_show")


def _seated_count() -> sa.ScalarSelect[int]:
    return (
        select(func.count())
        .select_from(Registration)
        .where(Registration.event_id == Event.id, col(Registration.status).in_(SEATED))
        .scalar_subquery()
    )


async def test_demo_events_are_past_and_upcoming_everywhere(
    demo_session: AsyncSession, demo: DemoSummary
) -> None:
    now = clock.utcnow()
    rows = (await demo_session.exec(select(Event))).all()
    past = [e for e in rows if e.ends_at < now and e.status == "published"]
    upcoming = [e for e in rows if e.starts_at > now and e.status == "published"]
    assert len(past) >= 20 and len(upcoming) >= 20
    assert {e.status for e in rows} == {"draft", "published", "cancelled"}
    for group in (past, upcoming):
        assert {e.format for e in group} == {"in_person", "online", "hybrid"}
        assert len({e.chapter_id for e in group}) >= 10
        assert len({e.timezone for e in group}) >= 6
    assert len({e.language for e in rows}) >= 8
    assert {"fr", "en", "es", "ar", "pt-BR", "id"} <= {e.language for e in rows}
    assert sum(1 for e in rows if e.visibility == "members") >= 2
    assert sum(1 for e in rows if e.project_id is not None) >= 10
    for e in rows:
        if e.format != "online":
            assert e.venue_name and e.latitude is not None
        if e.format != "in_person":
            assert e.online_url and e.online_url.startswith("https://meet.example.org/")
        if e.status != "draft":
            assert e.published_at is not None and e.check_in_code
            assert e.published_at < e.starts_at
    causes = (await demo_session.exec(select(EventCause.cause).distinct())).all()
    assert len(causes) >= 10
    # Anyone browsing the public API sees upcoming events.
    anonymous = Ctx.of(demo_session, Principal.anonymous())
    page = await events.list_events(anonymous, limit=50)
    assert len(page.items) >= 15
    assert all(v.starts_at > now for v in page.items)


async def test_demo_series_keeps_its_wall_clock_time_across_dst(
    demo_session: AsyncSession, demo: DemoSummary
) -> None:
    series = (await demo_session.exec(select(EventSeries))).one()
    assert (series.frequency, series.timezone, series.local_start) == (
        "weekly", "Europe/Paris", "19:00",
    )
    occurrences = (await demo_session.exec(
        select(Event).where(Event.series_id == series.id).order_by(col(Event.starts_at))
    )).all()
    paris = ZoneInfo("Europe/Paris")
    local = [e.starts_at.astimezone(paris) for e in occurrences]
    assert {t.time() for t in local} == {time(19, 0)}
    assert {t.weekday() for t in local} == {1}
    assert len({t.utcoffset() for t in local}) == 2  # winter and summer time
    assert len({e.starts_at.astimezone(UTC).time() for e in occurrences}) == 2
    assert all(e.ends_at - e.starts_at == timedelta(minutes=120) for e in occurrences)
    now = clock.utcnow()
    assert any(e.ends_at < now for e in occurrences)
    assert any(e.starts_at > now for e in occurrences)
    assert {e.status for e in occurrences} == {"published"}


async def test_demo_full_event_has_a_waitlist(demo_system: Ctx, demo: DemoSummary) -> None:
    session = demo_system.session
    full = (await session.exec(select(Event).where(
        col(Event.capacity).is_not(None),
        col(Event.seats_taken) == col(Event.capacity),
        col(Event.starts_at) > clock.utcnow(),
    ))).all()
    assert len(full) == 1
    event = full[0]
    assert event.waitlist_enabled and event.status == "published"
    rows = (await session.exec(
        select(Registration).where(Registration.event_id == event.id)
    )).all()
    by_status = {s: [r for r in rows if r.status == s] for s in ("registered", "waitlisted",
                                                                    "cancelled")}
    assert len(by_status["registered"]) == event.capacity
    assert len(by_status["waitlisted"]) >= 3
    assert len(by_status["cancelled"]) == 1
    promoted = [r for r in by_status["registered"] if r.promoted_at is not None]
    assert len(promoted) == 1
    # The one promoted had waited longest; everyone still waiting queued after them.
    assert all(promoted[0].queued_at <= r.queued_at for r in by_status["waitlisted"])
    # Whoever registers now joins the end of the waitlist: capacity holds.
    newcomer = (await session.exec(select(Person.id).where(
        col(Person.id).not_in([r.person_id for r in rows])
    ))).first()
    assert newcomer is not None
    late = await registrations.register(demo_system, event.id, newcomer)
    assert late.status == "waitlisted"
    assert late.waitlist_position == len(by_status["waitlisted"]) + 1
    assert await registrations.seats_left(demo_system, event.id) == 0


async def test_demo_past_events_record_who_came(
    demo_system: Ctx, demo: DemoSummary
) -> None:
    session = demo_system.session
    now = clock.utcnow()
    # Seat counters hold for every event, and never exceed the capacity.
    wrong = (await session.exec(
        select(func.count()).select_from(Event).where(col(Event.seats_taken) != _seated_count())
    )).one()
    assert wrong == 0
    over = await _count(session, Event, col(Event.capacity).is_not(None),
                        col(Event.seats_taken) > col(Event.capacity))
    assert over == 0
    rows = (await session.exec(
        select(Registration, Event).join(Event, col(Event.id) == Registration.event_id)
    )).all()
    statuses = {r.status for r, _ in rows}
    assert statuses == {"registered", "waitlisted", "cancelled", "attended", "no_show"}
    for r, e in rows:
        assert r.queued_at < e.starts_at
        if r.status in ("attended", "no_show"):
            assert e.ends_at < now
        if r.status == "attended":
            assert r.checked_in_at is not None
            assert e.starts_at - timedelta(hours=1) <= r.checked_in_at <= e.ends_at
        if r.status == "cancelled":
            assert r.cancelled_at is not None and r.queued_at <= r.cancelled_at
    attended = sum(1 for r, _ in rows if r.status == "attended")
    no_shows = sum(1 for r, _ in rows if r.status == "no_show")
    assert attended >= 100 and 0.1 <= no_shows / (attended + no_shows) <= 0.3
    # The network's impact report counts them.
    root = await _chapter(session, "makesense")
    report = await impact.report(demo_system, {
        "chapter_id": root.id, "start": now - timedelta(days=120), "end": now, "detail": True,
    })
    assert sum(p.mobilised for p in report.periods) >= 100
    assert sum(p.attended or 0 for p in report.periods) == sum(
        1 for r, e in rows if r.status == "attended" and e.starts_at >= report.periods[0].start
    )


async def test_demo_programs_have_enrolments(demo_session: AsyncSession, demo: DemoSummary) -> None:
    programs = {p.slug: p for p in (await demo_session.exec(select(Program))).all()}
    assert set(programs) == {"climate-week", "zero-waste-challenge"}
    week, challenge = programs["climate-week"], programs["zero-waste-challenge"]
    assert set(week.channels) == {"whatsapp", "zoom"}
    assert week.ends_at - week.starts_at == timedelta(days=7)
    assert week.ends_at < clock.utcnow() and week.status == "archived"
    assert challenge.channels == ["email"] and challenge.status == "published"
    assert challenge.ends_at - challenge.starts_at >= timedelta(days=365)
    assert challenge.starts_at < clock.utcnow() < challenge.ends_at
    for program, chapters_at_least in ((week, 8), (challenge, 4)):
        taking_part = await _count(
            demo_session, ProgramChapter, ProgramChapter.program_id == program.id
        )
        assert taking_part >= chapters_at_least
        enrolled = (await demo_session.exec(
            select(Enrolment).where(Enrolment.program_id == program.id)
        )).all()
        assert len(enrolled) >= 30
        assert {e.status for e in enrolled} == {"enrolled", "completed", "dropped"}
        for e in enrolled:
            if e.status == "completed":
                assert e.completed_at is not None
                assert program.starts_at <= e.completed_at <= min(program.ends_at,
                                                                  clock.utcnow())
            else:
                assert e.completed_at is None
    linked = await _count(demo_session, Event, Event.program_id == week.id)
    assert linked >= 4


async def test_demo_goals_lead_to_180_million(demo_system: Ctx, demo: DemoSummary) -> None:
    session = demo_system.session
    root = await _chapter(session, "makesense")
    network = (await session.exec(select(Goal).where(Goal.chapter_id == root.id))).one()
    assert network.target == 180_000_000
    assert network.deadline == datetime(2031, 12, 31, 23, 59, 59, tzinfo=UTC)
    regions = (await session.exec(select(Chapter).where(Chapter.kind == ChapterKind.REGION))).all()
    regional = (await session.exec(
        select(Goal).where(col(Goal.chapter_id).in_([r.id for r in regions]))
    )).all()
    assert len(regional) == len(regions)
    assert sum(g.target for g in regional) == network.target
    assert await _count(session, Goal, col(Goal.program_id).is_not(None)) == 2
    progress = await impact.progress(demo_system, network.id)
    assert progress.mobilised > 0 and progress.semesters_left >= 1
    assert progress.per_semester is not None and progress.per_semester > 0


async def _demo_snapshot(session: AsyncSession) -> list[tuple[str, ...]]:
    chapters_ = (await session.exec(select(Chapter.slug).order_by(col(Chapter.slug)))).all()
    names = (await session.exec(
        select(Person.display_name, Person.city).order_by(col(Person.display_name))
    )).all()
    owners = (await session.exec(
        select(Project.slug, Person.display_name)
        .join(ProjectOwner, col(ProjectOwner.project_id) == Project.id)
        .join(Person, col(Person.id) == ProjectOwner.person_id)
        .order_by(col(Project.slug), col(Person.display_name))
    )).all()
    events_ = (await session.exec(
        select(Event.title, Event.starts_at, Event.status, Event.seats_taken)
        .order_by(col(Event.starts_at), col(Event.title))
    )).all()
    taken = (await session.exec(
        select(Event.title, Person.display_name, Registration.status)
        .join(Event, col(Event.id) == Registration.event_id)
        .join(Person, col(Person.id) == Registration.person_id)
        .order_by(col(Event.starts_at), col(Event.title), col(Person.display_name))
    )).all()
    enrolled = (await session.exec(
        select(Program.slug, Person.display_name, Enrolment.status)
        .join(Program, col(Program.id) == Enrolment.program_id)
        .join(Person, col(Person.id) == Enrolment.person_id)
        .order_by(col(Program.slug), col(Person.display_name))
    )).all()
    return [
        tuple(chapters_), *[(n, c or "") for n, c in names], *[tuple(o) for o in owners],
        *[(t, s.isoformat(), st, str(n)) for t, s, st, n in events_],
        *[tuple(row) for row in taken], *[tuple(row) for row in enrolled],
    ]


async def test_demo_is_deterministic_given_a_date(
    session: AsyncSession, system: Ctx, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Early September: the weekly series runs across the end of summer time (27 October).
    instant = datetime(2030, 9, 10, 8, 30, tzinfo=UTC)
    monkeypatch.setattr(clock, "utcnow", lambda: instant)
    first_run = await session.begin_nested()
    await seed_demo(system)
    first = await _demo_snapshot(session)
    await first_run.rollback()
    assert not await has_data(session)
    await seed_demo(Ctx.of(session, Principal.system()))
    assert await _demo_snapshot(session) == first
    occurrences = (await session.exec(
        select(Event.starts_at).where(col(Event.series_id).is_not(None))
    )).all()
    utc_hours = {t.astimezone(UTC).hour for t in occurrences}
    assert utc_hours == {17, 18}  # 19:00 in Paris, summer then winter
    assert min(occurrences) < instant < max(occurrences)


def test_next_dst_change() -> None:
    assert next_dst_change(date(2030, 3, 1), "Europe/Paris") == date(2030, 3, 31)
    assert next_dst_change(date(2030, 3, 31), "Europe/Paris") == date(2030, 10, 27)
    with pytest.raises(ValueError, match="no daylight-saving"):
        next_dst_change(date(2030, 1, 1), "Africa/Lagos")


# -- the large network ---------------------------------------------------------------------

SCALE = 0.002


@pytest.fixture
async def empty_database(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database of its own, since the large seed commits."""
    async with scratch_database(database_url, tmp_path, "seed_large") as db:
        yield db


async def _scalar(db: Database, stmt: sa.Select[tuple[int]]) -> int:
    async with db.engine.connect() as conn:
        value = (await conn.execute(stmt)).scalar_one()
        await conn.rollback()
    return int(value)


def _rows(table: type) -> sa.Select[tuple[int]]:
    return sa.select(sa.func.count()).select_from(table)


async def test_plan_scales_every_count() -> None:
    full = plan(1.0)
    assert full.regions == 8 and full.countries == 60
    assert full.chapters == 2_000
    assert full.people == 200_000 and full.projects == 20_000
    small = plan(SCALE)
    assert small == large.LargePlan(1, 1, 3, 1, 400, 40)
    with pytest.raises(ValueError, match="positive"):
        plan(0)


async def test_large_seed_loads_a_consistent_network(empty_database: Database) -> None:
    db = empty_database
    stages: dict[str, tuple[int, int]] = {}

    def progress(stage: str, done: int, total: int) -> None:
        assert 0 <= done <= total
        stages[stage] = (done, total)

    await seed_large(db, scale=SCALE, progress=progress)
    expected = plan(SCALE)
    assert {s: d == t for s, (d, t) in stages.items()} == {
        "chapters": True, "people": True, "memberships": True, "partners": True,
        "projects": True, "programs": True, "events": True, "enrolments": True,
    }
    assert await _scalar(db, _rows(Chapter)) == expected.chapters
    assert await _scalar(db, _rows(Person)) == expected.people
    assert await _scalar(db, _rows(Project)) == expected.projects
    assert await _scalar(db, _rows(PersonSkill)) >= expected.people
    assert await _scalar(db, _rows(PersonCause)) >= expected.people
    assert await _scalar(db, _rows(Membership)) >= expected.people
    assert await _scalar(db, _rows(ProjectOwner)) >= expected.projects
    assert await _scalar(db, _rows(Need)) >= expected.projects
    assert await _scalar(db, _rows(Contribution)) > 0

    # The closure table: a self row per chapter, one row per ancestor, depths consistent.
    closure_rows = await _scalar(db, _rows(ChapterClosure))
    depth_sum = await _scalar(db, sa.select(sa.func.sum(col(Chapter.depth) + 1)))
    assert closure_rows == depth_sum
    self_rows = await _scalar(db, _rows(ChapterClosure).where(
        col(ChapterClosure.ancestor_id) == col(ChapterClosure.descendant_id),
        ChapterClosure.depth == 0,
    ))
    assert self_rows == expected.chapters
    parent_rows = await _scalar(db, _rows(Chapter).join(
        ChapterClosure,
        sa.and_(
            col(ChapterClosure.ancestor_id) == col(Chapter.parent_id),
            col(ChapterClosure.descendant_id) == col(Chapter.id),
            ChapterClosure.depth == 1,
        ),
    ))
    assert parent_rows == expected.chapters - 1
    max_depth = await _scalar(db, sa.select(sa.func.count()).select_from(Chapter).where(
        col(Chapter.depth) != sa.select(sa.func.max(ChapterClosure.depth)).where(
            col(ChapterClosure.descendant_id) == col(Chapter.id)
        ).scalar_subquery()
    ))
    assert max_depth == 0

    # Every person belongs to their home chapter; each home chapter has an admin or organizer.
    homeless = await _scalar(db, _rows(Person).where(~sa.exists().where(
        col(Membership.person_id) == col(Person.id),
        col(Membership.chapter_id) == col(Person.home_chapter_id),
    )))
    assert homeless == 0
    roles = await _scalar(db, sa.select(sa.func.count(sa.distinct(Membership.role))))
    assert roles == 3
    bad_hours = await _scalar(db, _rows(Contribution).where(
        col(Contribution.hours).is_not(None),
        col(Contribution.status).not_in(["accepted", "done"]),
    ))
    assert bad_hours == 0

    # The service reads the bulk-loaded tree like any other.
    async with db.sessionmaker() as session:
        system = Ctx.of(session, Principal.system())
        root = (await session.exec(select(Chapter).where(col(Chapter.parent_id).is_(None)))).one()
        assert await chapters.count_chapters(
            system, ChapterFilter(subtree=root.id)
        ) == expected.chapters
        slugs = (await session.exec(select(Chapter.slug))).all()
        assert all(slug_error("slug", s) is None for s in slugs)
        timestamps = (await session.exec(select(Person.created_at).limit(5))).all()
        assert all(t.tzinfo is not None for t in timestamps)

    with pytest.raises(RuntimeError, match="already holds"):
        await seed_large(db, scale=SCALE)


async def test_large_seed_activity_keeps_seat_counters(empty_database: Database) -> None:
    db = empty_database
    await seed_large(db, scale=0.001)
    assert await _scalar(db, _rows(Event)) == 100
    assert await _scalar(db, _rows(Registration)) == 1_000
    assert await _scalar(db, _rows(EventCause)) >= 100
    statuses = await _scalar(db, sa.select(sa.func.count(sa.distinct(Registration.status))))
    assert statuses == 5  # registered, waitlisted, cancelled, attended, no_show
    # seats_taken is the number of seat-holding registrations, never above the capacity.
    seated = (
        sa.select(sa.func.count())
        .select_from(Registration)
        .where(
            col(Registration.event_id) == col(Event.id),
            col(Registration.status).in_(["registered", "attended", "no_show"]),
        )
        .scalar_subquery()
    )
    assert await _scalar(db, _rows(Event).where(col(Event.seats_taken) != seated)) == 0
    assert await _scalar(db, _rows(Event).where(col(Event.seats_taken) > 0)) > 50
    assert await _scalar(db, _rows(Event).where(
        col(Event.capacity).is_not(None), col(Event.seats_taken) > col(Event.capacity)
    )) == 0
    # Arrivals precede the event; outcomes only at events that took place; drafts are empty.
    joined = _rows(Registration).join(Event, col(Event.id) == Registration.event_id)
    now = clock.utcnow()
    assert await _scalar(db, joined.where(
        col(Registration.queued_at) > col(Event.starts_at)
    )) == 0
    assert await _scalar(db, joined.where(
        col(Registration.status).in_(["attended", "no_show"]),
        sa.or_(col(Event.starts_at) > now, col(Event.status) != "published"),
    )) == 0
    assert await _scalar(db, joined.where(col(Event.status) == "draft")) == 0
    assert await _scalar(db, _rows(Event).where(col(Event.starts_at) > now)) > 5
    assert await _scalar(db, _rows(Event).where(col(Event.starts_at) < now)) > 50
    # Programs with their chapters and enrolments; goals for the network and the programs.
    assert await _scalar(db, _rows(Program)) >= 3
    assert await _scalar(db, _rows(Enrolment)) > 0
    assert await _scalar(db, _rows(Enrolment).where(Enrolment.status == "completed")) > 0
    root = sa.select(col(Chapter.id)).where(col(Chapter.parent_id).is_(None)).scalar_subquery()
    assert await _scalar(db, _rows(Goal).where(
        col(Goal.chapter_id) == root, Goal.target == 180_000_000
    )) == 1


async def test_large_seed_runs_extra_steps(empty_database: Database) -> None:
    seen: list[tuple[int, int, int]] = []

    async def count_state(seed: large.LargeSeed) -> None:
        seen.append((len(seed.chapters), len(seed.people), len(seed.projects)))
        seed.report("extra", 1, 1)

    steps = [*large.STEPS, SeedStep("extra", count_state)]
    await seed_large(empty_database, scale=0.001, steps=steps)
    expected = plan(0.001)
    assert seen == [(expected.chapters, expected.people, expected.projects)]


async def test_register_step_adds_and_replaces() -> None:
    before = list(large.STEPS)

    async def noop(_seed: large.LargeSeed) -> None:
        return None

    try:
        assert [s.name for s in large.STEPS][-3:] == ["programs", "events", "enrolments"]
        large.register_step(SeedStep("extra", noop), before="projects")
        names = [s.name for s in large.STEPS]
        assert names[names.index("extra") + 1] == "projects"
        large.register_step(SeedStep("extra", noop))
        assert [s.name for s in large.STEPS].count("extra") == 1
    finally:
        large.STEPS[:] = before


async def test_large_seed_is_deterministic(tmp_path: Path) -> None:
    snapshots = []
    for name in ("a", "b"):
        db = Database.from_settings(
            Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/{name}.db")
        )
        async with db.engine.connect() as conn:
            await upgrade_connection(conn)
            await conn.commit()
        await seed_large(db, scale=0.001)
        async with db.engine.connect() as conn:
            slugs = (await conn.execute(
                sa.select(col(Chapter.slug)).order_by(col(Chapter.slug))
            )).scalars().all()
            names = (await conn.execute(
                sa.select(col(Person.display_name)).order_by(col(Person.display_name))
            )).scalars().all()
            projects = (await conn.execute(
                sa.select(col(Project.slug)).order_by(col(Project.slug))
            )).scalars().all()
            titles = (await conn.execute(
                sa.select(col(Event.title)).order_by(col(Event.title))
            )).scalars().all()
        snapshots.append((slugs, names, projects, titles))
        await db.dispose()
    assert snapshots[0] == snapshots[1]
