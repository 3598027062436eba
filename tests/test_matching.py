"""Matching: who may ask, which candidates qualify, and the exact order and reasons."""

import uuid
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.kit.errors import (
    Forbidden,
    MissingScope,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.matching import service as matching
from makesense_api.people.models import Person
from makesense_api.projects import contributions
from makesense_api.projects import needs as project_needs
from tests.conftest import as_person
from tests.factories import Factory

PARIS = {"latitude": 48.8566, "longitude": 2.3522}


@pytest.fixture
async def world(factory: Factory) -> dict[str, ChapterView]:
    root = await factory.root(slug="net")
    france = await factory.chapter(root, slug="france", kind="country", name="France")
    paris = await factory.chapter(france, slug="paris", name="Paris", languages=["fr"], **PARIS)
    batignolles = await factory.chapter(
        paris,
        slug="batignolles",
        name="Batignolles",
        kind="neighbourhood",
        latitude=48.8867,
        longitude=2.3170,
    )
    versailles = await factory.chapter(
        france, slug="versailles", name="Versailles", latitude=48.8049, longitude=2.1204
    )
    lyon = await factory.chapter(
        france, slug="lyon", name="Lyon", languages=["fr"], latitude=45.764, longitude=4.8357
    )
    africa = await factory.chapter(root, slug="africa", kind="region", name="Africa")
    lagos = await factory.chapter(
        africa,
        slug="lagos",
        name="Lagos",
        default_language="en",
        languages=["en", "yo"],
        timezone="Africa/Lagos",
        latitude=6.5244,
        longitude=3.3792,
    )
    return {
        "root": root,
        "france": france,
        "paris": paris,
        "batignolles": batignolles,
        "versailles": versailles,
        "lyon": lyon,
        "lagos": lagos,
    }


@pytest.fixture
async def founder(factory: Factory, world: dict[str, ChapterView]) -> uuid.UUID:
    """Owns every project; open to matching with the wanted skill, yet never suggested for it."""
    return await factory.member(world["paris"], skills=["web-design"], open_to_matching=True)


async def erase(session: AsyncSession, person_id: uuid.UUID) -> None:
    person = await session.get(Person, person_id)
    assert person is not None
    person.erased_at = utcnow()
    session.add(person)
    await session.flush()


# -- needs for a person -----------------------------------------------------------------------


@pytest.fixture
async def me(factory: Factory, world: dict[str, ChapterView]) -> uuid.UUID:
    return await factory.member(
        world["paris"],
        home_chapter_id=world["paris"].id,
        languages=["fr", "en"],
        skills=["Web Design", "photography"],
        causes=[13, 4],
    )


@pytest.fixture
async def needs(
    session: AsyncSession,
    factory: Factory,
    world: dict[str, ChapterView],
    founder: uuid.UUID,
    me: uuid.UUID,
) -> dict[str, uuid.UUID]:
    """Four needs that match `me` in different ways, and five that must never be offered."""
    made: dict[str, uuid.UUID] = {}

    async def need(
        key: str,
        chapter: str,
        skill: str,
        owner: uuid.UUID = founder,
        publish: bool = True,
        **project: Any,
    ) -> uuid.UUID:
        p = await factory.project(world[chapter], owner, publish=publish, **project)
        made[key] = (await factory.need(p.id, skill)).id
        return made[key]

    await need("lagos", "lagos", "web-design", causes=[4, 13], default_language="en")
    await need("batignolles", "batignolles", "web-design", causes=[13])
    await need("versailles", "versailles", "photography")
    await need("lyon", "lyon", "accounting", causes=[4])
    await need("unrelated", "lagos", "accounting", default_language="en")
    await need("draft", "paris", "web-design", publish=False, causes=[13])
    await project_needs.fill(factory.ctx, await need("filled", "paris", "web-design"))
    await need("own", "paris", "web-design", owner=me)
    answered = await need("answered", "paris", "web-design")
    await contributions.offer(as_person(session, me, scopes={"projects:write"}), answered)
    return made


async def test_needs_are_ranked_and_explained(
    session: AsyncSession, system: Ctx, me: uuid.UUID, needs: dict[str, uuid.UUID]
) -> None:
    ranked = await matching.needs_for_person(as_person(session, me, scopes={"profile"}), me)
    got = [(m.need.id, m.score, m.reasons) for m in ranked]
    tie = sorted([needs["lagos"], needs["batignolles"]])  # equal scores: by need id
    explained = {
        needs["lagos"]: (15, ["skill: web-design", "causes: 4, 13", "language: en"]),
        needs["batignolles"]: (
            15,
            ["skill: web-design", "causes: 13", "language: fr", "nearby: Batignolles (4 km)"],
        ),
    }
    assert got == [
        *[(i, *explained[i]) for i in tie],
        (
            needs["versailles"],
            13,
            ["skill: photography", "language: fr", "nearby: Versailles (18 km)"],
        ),
        (needs["lyon"], 3, ["causes: 4", "language: fr"]),
    ]
    assert ranked[0].project_slug.startswith("project-")
    assert [m.need.id for m in await matching.needs_for_person(system, me)] == [r[0] for r in got]
    assert [m.need.id for m in await matching.needs_for_person(system, me, limit=2)] == tie


async def test_needs_stay_inside_the_token_reach(
    session: AsyncSession, world: dict[str, ChapterView], me: uuid.UUID, needs: dict[str, uuid.UUID]
) -> None:
    france = as_person(session, me, scopes={"profile"}, reach=frozenset({world["france"].id}))
    ranked = await matching.needs_for_person(france, me)
    assert needs["lagos"] not in [m.need.id for m in ranked]
    assert len(ranked) == 3


async def test_only_local_memberships_count_as_nearby(
    system: Ctx, factory: Factory, world: dict[str, ChapterView], needs: dict[str, uuid.UUID]
) -> None:
    wanderer = await factory.member(world["france"], skills=["photography"], languages=["de"])
    ranked = await matching.needs_for_person(system, wanderer)
    assert [(m.need.id, m.reasons) for m in ranked] == [
        (needs["versailles"], ["skill: photography"])
    ]
    nobody = await factory.person()
    assert await matching.needs_for_person(system, nobody) == []


async def test_needs_are_matched_for_oneself_only(
    session: AsyncSession,
    factory: Factory,
    world: dict[str, ChapterView],
    me: uuid.UUID,
    needs: dict[str, uuid.UUID],
) -> None:
    with pytest.raises(Unauthenticated):
        await matching.needs_for_person(Ctx.of(session, Principal.anonymous()), me)
    with pytest.raises(MissingScope):
        await matching.needs_for_person(as_person(session, me, scopes={"projects:read"}), me)
    stranger = await factory.member(world["lagos"])
    with pytest.raises(NotFound):
        await matching.needs_for_person(as_person(session, stranger, scopes={"profile"}), me)
    organizer = await factory.member(world["paris"], "organizer")
    with pytest.raises(Forbidden):  # sees the member, but matches only for themself
        await matching.needs_for_person(
            as_person(session, organizer, scopes={"profile", "people:read"}), me
        )
    with pytest.raises(ValidationFailed):
        await matching.needs_for_person(as_person(session, me, scopes={"profile"}), me, limit=0)
    await erase(session, me)
    with pytest.raises(NotFound):
        await matching.needs_for_person(as_person(session, me, scopes={"profile"}), me)


# -- people for a need -------------------------------------------------------------------------


@pytest.fixture
async def need(factory: Factory, world: dict[str, ChapterView], founder: uuid.UUID) -> Any:
    project = await factory.project(world["paris"], founder, causes=[13])
    return await factory.need(project.id, "web-design")


async def test_people_are_ranked_and_explained(
    session: AsyncSession, factory: Factory, world: dict[str, ChapterView], need: Any
) -> None:
    def member(chapter: str, **kw: Any) -> Any:
        return factory.member(world[chapter], home_chapter_id=world[chapter].id, **kw)

    near = await member(
        "paris", skills=["web-design"], causes=[13], languages=["fr"], open_to_matching=True
    )
    far = await member("lagos", skills=["web-design"], languages=["en"], open_to_matching=True)
    cause = await member("versailles", causes=[13], languages=["fr-CA"], open_to_matching=True)
    await member("paris", skills=["web-design"], causes=[13])  # not open to matching
    await erase(session, await member("paris", skills=["web-design"], open_to_matching=True))
    await member("paris", skills=["cooking"], causes=[1], open_to_matching=True)
    answered = await member("paris", skills=["web-design"], open_to_matching=True)
    await contributions.offer(as_person(session, answered, scopes={"projects:write"}), need.id)

    organizer = await factory.member(world["paris"], "organizer")
    ctx = as_person(session, organizer, scopes={"people:read"})
    ranked = await matching.people_for_need(ctx, need.id)
    assert [(m.person_id, m.score, m.reasons) for m in ranked] == [
        (near, 15, ["skill: web-design", "causes: 13", "language: fr", "nearby: Paris (0 km)"]),
        (far, 10, ["skill: web-design"]),
        (cause, 5, ["causes: 13", "language: fr", "nearby: Paris (18 km)"]),
    ]
    person = await session.get(Person, near)
    assert person is not None
    assert ranked[0].display_name == person.display_name
    assert [m.person_id for m in await matching.people_for_need(ctx, need.id, limit=1)] == [near]


async def test_people_for_a_need_are_for_its_chapter_organizers(
    session: AsyncSession,
    factory: Factory,
    world: dict[str, ChapterView],
    founder: uuid.UUID,
    need: Any,
) -> None:
    paris_org = await factory.member(world["paris"], "organizer")
    lagos_org = await factory.member(world["lagos"], "organizer")
    assert await matching.people_for_need(as_person(session, paris_org), need.id) == []
    with pytest.raises(Forbidden):
        await matching.people_for_need(as_person(session, lagos_org), need.id)
    with pytest.raises(Forbidden):  # owning the project is not reading members' data
        await matching.people_for_need(as_person(session, founder), need.id)
    with pytest.raises(MissingScope):
        await matching.people_for_need(
            as_person(session, paris_org, scopes={"projects:write"}), need.id
        )
    with pytest.raises(Unauthenticated):
        await matching.people_for_need(Ctx.of(session, Principal.anonymous()), need.id)
    draft = await factory.project(world["paris"], founder, publish=False)
    draft_need = await factory.need(draft.id)
    with pytest.raises(NotFound):
        await matching.people_for_need(Ctx.of(session, Principal.anonymous()), draft_need.id)
    with pytest.raises(NotFound):
        await matching.people_for_need(as_person(session, paris_org), uuid.uuid4())


# -- candidates come through the indexes --------------------------------------------------------


async def test_candidate_queries_use_the_skill_and_cause_indexes(
    session: AsyncSession,
    connection: AsyncConnection,
    system: Ctx,
    me: uuid.UUID,
    needs: dict[str, uuid.UUID],
) -> None:
    if connection.dialect.name != "sqlite":
        pytest.skip("query plans are read from SQLite's EXPLAIN QUERY PLAN")
    statements: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        statements.append((args[2], args[3]))

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        await matching.needs_for_person(system, me)
        await matching.people_for_need(system, needs["batignolles"])
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)
    plans: list[str] = []
    for sql, params in statements:
        rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        plans.append(" | ".join(str(row[-1]) for row in rows))
    for index in (
        "ix_need_skill_status",
        "ix_project_cause_cause",
        "ix_person_skill_skill",
        "ix_person_cause_cause",
    ):
        assert any(index in plan for plan in plans), index
    assert not [plan for plan in plans if "SCAN " in plan]  # every step is an index search
