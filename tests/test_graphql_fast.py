"""Hot reads: chapters read as plain rows answer what ORM objects answered, for every caller;
the served app freezes its startup heap out of garbage collection; without a ping per checkout,
a connection the server dropped costs one failed statement and the pool recovers."""

import gc
import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.app import create_app
from makesense_api.authz.principal import Principal
from makesense_api.chapters import service as chapters
from makesense_api.cli import GC_THRESHOLDS, frozen_after_startup
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.kit.db import create_engine
from tests.conftest import as_person
from tests.factories import Factory


async def test_chapters_read_as_rows_match_the_orm_read(
    factory: Factory, session: AsyncSession, system: Ctx
) -> None:
    root = await factory.root(slug="net")
    paris = await factory.chapter(
        root, slug="paris", city="Paris", country_code="FR",
        translations={"en": {"name": "Paris (en)"}},
        contacts=[{"kind": "email", "value": "paris@example.org"},
                  {"kind": "whatsapp", "value": "https://chat.example.org/p", "private": True}],
    )
    closed = await factory.chapter(root, slug="gone", city="Nowhere")
    await session.exec(  # type: ignore[call-overload]
        sa.update(chapters.Chapter).where(chapters.Chapter.id == closed.id).values(status="closed")
    )
    member = await factory.member(paris, "member")
    admin = await factory.member(root, "admin")
    partner = await factory.partner()
    await factory.grant(partner.id, paris, "chapters:read")
    ids = [root.id, paris.id, closed.id, uuid.uuid4()]
    callers = {
        "anonymous": Ctx.of(session, Principal.anonymous()),
        "anonymous, English": Ctx.of(session, Principal.anonymous(), languages=("en",)),
        "member": as_person(session, member, scopes={"chapters:read"}),
        "network admin": as_person(session, admin, scopes={"chapters:read", "chapters:write"}),
        "partner reaching Paris": Ctx.of(
            session,
            Principal.partner(partner.id, scopes={"chapters:read"}, reach=frozenset({paris.id})),
        ),
    }
    seen: dict[str, set[str]] = {}
    for name, ctx in callers.items():
        rows = await chapters.get_many(ctx, ids)
        orm = await chapters._reads.get_many(ctx, ids)
        assert rows == orm, name
        seen[name] = {v.slug for v in rows.values()}
    assert seen["anonymous"] == {"net", "paris"}
    assert seen["network admin"] == {"net", "paris", "gone"}
    assert seen["partner reaching Paris"] == {"paris"}
    anonymous = (await chapters.get_many(callers["anonymous"], [paris.id]))[paris.id]
    english = (await chapters.get_many(callers["anonymous, English"], [paris.id]))[paris.id]
    as_member = (await chapters.get_many(callers["member"], [paris.id]))[paris.id]
    assert [c.kind for c in anonymous.contacts] == ["email"]
    assert [c.kind for c in as_member.contacts] == ["email", "whatsapp"]
    assert english.name == "Paris (en)" and anonymous.name != english.name
    assert await chapters.get_many(callers["anonymous"], []) == {}


@pytest.fixture
def gc_restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("gc_restored")
async def test_the_served_app_freezes_its_startup_heap(
    settings: Settings, app_database: object
) -> None:
    app = frozen_after_startup(create_app(settings, app_database))  # type: ignore[arg-type]
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    async with LifespanManager(app) as manager:
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == GC_THRESHOLDS
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            response = await c.post("/graphql", json={"query": "{ chapters { totalCount } }"})
    assert response.status_code == 200 and "errors" not in response.json()


@pytest.mark.postgres
async def test_a_dropped_connection_costs_one_statement(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: run `make test-postgres` (.ci/run does)")
    engine = create_engine(settings.model_copy(update={"db_pool_size": 2, "db_max_overflow": 0}))
    other = create_engine(settings)
    try:
        async with engine.connect() as first, engine.connect() as second:
            pids = [(await c.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
                    for c in (first, second)]
        # Both pooled connections are ended by the server (a restart, an idle timeout).
        async with other.connect() as killer:
            for pid in pids:
                await killer.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        answers: list[object] = []
        for _ in range(4):
            try:
                async with engine.connect() as conn:
                    answers.append((await conn.execute(sa.text("SELECT 1"))).scalar_one())
            except DBAPIError as error:
                answers.append(("invalidated", error.connection_invalidated))
        # At most the first statement meets a dead connection, which is then discarded with
        # the whole pool, so the other dead connection never serves a statement.
        assert answers[1:] == [1, 1, 1]
        assert answers[0] in (1, ("invalidated", True))
    finally:
        await engine.dispose()
        await other.dispose()
