"""Seed data: the demo network's shape and invariants, and the large bulk loader."""

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

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
from makesense_api.seed.demo import DemoSummary, has_data, seed_demo
from makesense_api.seed.large import SeedStep, plan, seed_large
from tests.conftest import as_person

# -- the demo network ----------------------------------------------------------------------


@pytest.fixture
async def demo(system: Ctx) -> DemoSummary:
    assert not await has_data(system.session)
    return await seed_demo(system)


async def _count(session: AsyncSession, model: type, *where: sa.ColumnElement[bool]) -> int:
    stmt = select(func.count()).select_from(model).where(*where)
    return (await session.exec(stmt)).one()


async def _chapter(session: AsyncSession, slug: str) -> Chapter:
    return (await session.exec(select(Chapter).where(Chapter.slug == slug))).one()


async def test_demo_summary_matches_the_rows(session: AsyncSession, demo: DemoSummary) -> None:
    assert demo.chapters == await _count(session, Chapter) >= 15
    assert demo.people == await _count(session, Person) == 150
    assert demo.memberships == await _count(session, Membership)
    assert demo.partners == await _count(session, PartnerOrganisation) == 2
    assert demo.grants == await _count(session, PartnerGrant)
    assert demo.projects == await _count(session, Project) == 20
    assert demo.needs == await _count(session, Need) > demo.projects
    assert demo.contributions == await _count(session, Contribution) > 0
    assert await has_data(session)


async def test_demo_tree_spans_continents_and_languages(
    session: AsyncSession, demo: DemoSummary
) -> None:
    rows = (await session.exec(select(Chapter))).all()
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


async def test_demo_subtree_queries_follow_the_tree(system: Ctx, demo: DemoSummary) -> None:
    france = await _chapter(system.session, "france")
    page = await chapters.list_chapters(system, ChapterFilter(subtree=france.id), limit=100)
    assert {c.slug for c in page.items} == {
        "france", "paris", "paris-belleville", "paris-goutte-d-or", "lyon",
    }
    belleville = await _chapter(system.session, "paris-belleville")
    chain = await chapters.ancestors(system, belleville.id)
    assert [c.slug for c in chain] == ["makesense", "europe", "france", "paris"]
    root = await _chapter(system.session, "makesense")
    everything = await chapters.count_chapters(system, ChapterFilter(subtree=root.id))
    assert everything == demo.chapters


async def test_demo_memberships_cover_every_role(session: AsyncSession, demo: DemoSummary) -> None:
    roles = set((await session.exec(select(Membership.role).distinct())).all())
    assert roles == {Role.MEMBER, Role.ORGANIZER, Role.ADMIN}
    root = await _chapter(session, "makesense")
    assert await _count(
        session, Membership, Membership.chapter_id == root.id, Membership.role == Role.ADMIN
    ) >= 1
    cities = (await session.exec(select(Chapter).where(Chapter.kind == ChapterKind.CITY))).all()
    for city in cities:
        admins = await _count(
            session, Membership, Membership.chapter_id == city.id, Membership.role == Role.ADMIN
        )
        assert admins == 1, city.slug
    for region in (await session.exec(
        select(Chapter).where(Chapter.kind == ChapterKind.REGION)
    )).all():
        assert await _count(
            session, Membership, Membership.chapter_id == region.id, Membership.role == Role.ADMIN
        ) == 1
    # Everyone belongs to their home chapter.
    homeless = select(Person.id).where(
        ~sa.exists().where(
            Membership.person_id == Person.id, Membership.chapter_id == Person.home_chapter_id
        )
    )
    assert (await session.exec(homeless)).all() == []


async def test_demo_network_admin_manages_the_whole_tree(
    session: AsyncSession, demo: DemoSummary
) -> None:
    root = await _chapter(session, "makesense")
    admin_id = (await session.exec(select(Membership.person_id).where(
        Membership.chapter_id == root.id, Membership.role == Role.ADMIN
    ))).first()
    assert admin_id is not None
    admin = as_person(session, admin_id)
    manila = await _chapter(session, "manila")
    members = await people.list_members(admin, manila.id, limit=100)
    assert len(members.items) >= 12
    # A Lagos member sees Lagos' private contacts, not Paris members' personal data.
    lagos = await _chapter(session, "lagos")
    other = aliased(Membership)
    plain_members = select(Membership.person_id).where(
        Membership.chapter_id == lagos.id,
        ~sa.exists().where(
            other.person_id == Membership.person_id, other.role > Role.MEMBER
        ),
    )
    member_id = (await session.exec(plain_members)).first()
    assert member_id is not None
    member = as_person(session, member_id)
    view = await chapters.get_by_slug(member, "lagos")
    assert any(c.private for c in view.contacts)
    paris = await _chapter(session, "paris")
    parisian = (await session.exec(
        select(Person.id).where(Person.home_chapter_id == paris.id)
    )).first()
    assert parisian is not None
    with pytest.raises(NotFound):
        await people.get(member, parisian)


async def test_demo_people_are_plausible_and_fictitious(
    session: AsyncSession, demo: DemoSummary
) -> None:
    rows = (await session.exec(select(Person))).all()
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
    skills = (await session.exec(select(PersonSkill.skill).distinct())).all()
    assert {"web-design", "fundraising", "legal", "facilitation"} <= set(skills)
    assert all(people.normalize_skill(s) == s for s in skills)
    causes = set((await session.exec(select(PersonCause.cause).distinct())).all())
    assert causes <= set(range(1, 18)) and len(causes) >= 10
    without_skills = select(Person.id).where(
        ~sa.exists().where(PersonSkill.person_id == Person.id)
    )
    assert (await session.exec(without_skills)).all() == []


async def test_demo_partners_hold_one_grant_per_scope(
    session: AsyncSession, demo: DemoSummary
) -> None:
    for partner in (await session.exec(select(PartnerOrganisation))).all():
        grants = (await session.exec(
            select(PartnerGrant).where(PartnerGrant.partner_id == partner.id)
        )).all()
        assert len(grants) >= 3
        assert len({g.scope for g in grants}) == len(grants)
        assert {g.scope for g in grants} <= ALL_SCOPES
        assert len({g.chapter_id for g in grants}) == 1
        chapter = await session.get(Chapter, grants[0].chapter_id)
        assert chapter is not None and chapter.kind == ChapterKind.REGION
        assert all(g.granted_by_id is not None for g in grants)
        assert partner.website is not None and partner.website.endswith(".example.org")


async def test_demo_projects_keep_their_invariants(
    session: AsyncSession, demo: DemoSummary
) -> None:
    projects = (await session.exec(select(Project))).all()
    assert len({p.home_chapter_id for p in projects}) >= 8
    assert {p.stage for p in projects} == {"idea", "launch", "growth", "scale"}
    assert {p.status for p in projects} == {"draft", "published", "archived"}
    all_causes: set[int] = set()
    for project in projects:
        assert slug_error("slug", project.slug) is None
        owners = set((await session.exec(
            select(ProjectOwner.person_id).where(ProjectOwner.project_id == project.id)
        )).all())
        assert 1 <= len(owners) <= 2
        causes = set((await session.exec(
            select(ProjectCause.cause).where(ProjectCause.project_id == project.id)
        )).all())
        assert causes and causes <= set(range(1, 18))
        all_causes |= causes
        needs = (await session.exec(select(Need).where(Need.project_id == project.id))).all()
        assert needs
        for need in needs:
            assert need.skill == people.normalize_skill(need.skill)
            contributions = (await session.exec(
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
    statuses = set((await session.exec(select(Contribution.status).distinct())).all())
    assert statuses == {"offered", "accepted", "declined", "done"}
    assert set((await session.exec(select(Need.status).distinct())).all()) == {"open", "filled"}


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
    return [tuple(chapters_), *[(n, c or "") for n, c in names], *[tuple(o) for o in owners]]


async def test_demo_is_deterministic(session: AsyncSession, system: Ctx) -> None:
    first_run = await session.begin_nested()
    await seed_demo(system)
    first = await _demo_snapshot(session)
    await first_run.rollback()
    assert not await has_data(session)
    await seed_demo(Ctx.of(session, Principal.system()))
    assert await _demo_snapshot(session) == first


# -- the large network ---------------------------------------------------------------------

SCALE = 0.002


@pytest.fixture
async def empty_database(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database of its own, since the large seed commits: a temporary SQLite
    file, or a throw-away schema when the suite runs on PostgreSQL."""
    if not database_url.startswith("postgresql"):
        db = Database.from_settings(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/l.db"))
        async with db.engine.connect() as conn:
            await upgrade_connection(conn)
            await conn.commit()
        yield db
        await db.dispose()
        return
    schema = f"seed_large_{os.getpid()}"
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
        "projects": True,
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
        large.register_step(SeedStep("events", noop), before="projects")
        assert [s.name for s in large.STEPS][-2:] == ["events", "projects"]
        large.register_step(SeedStep("events", noop))
        assert [s.name for s in large.STEPS].count("events") == 1
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
        snapshots.append((slugs, names, projects))
        await db.dispose()
    assert snapshots[0] == snapshots[1]
