"""Test fixtures: one migrated database per run, each test inside a rolled-back transaction.

The database is SQLite in a temporary file unless `TEST_DATABASE_URL` names another one
(`make test-postgres` points it at PostgreSQL). Tests never call `create_all`: the schema is
the one Alembic builds.
"""

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.app import create_app
from makesense_api.authz.principal import Principal
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.kit.db import Database, SerialSession, make_sessionmaker
from makesense_api.migrate import upgrade_connection
from tests.factories import Factory


def pytest_report_header() -> str:
    return f"database: {os.environ.get('TEST_DATABASE_URL') or 'sqlite (temporary file)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    path: Path = tmp_path_factory.mktemp("db") / "test.db"
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, environment="test")


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database.from_settings(settings)
    if db.dialect == "postgresql" and not (db.engine.url.database or "").startswith("test"):
        raise pytest.UsageError("TEST_DATABASE_URL must name a database whose name starts with "
                                "'test': the suite drops and recreates its public schema")
    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
            await conn.commit()
        await upgrade_connection(conn)
        await conn.commit()
    yield db
    await db.dispose()


@pytest.fixture
async def connection(database: Database) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with database.engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            await trans.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    async with SerialSession(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as s:
        yield s


@pytest.fixture
def system(session: AsyncSession) -> Ctx:
    """The service itself, for arranging data."""
    return Ctx.of(session, Principal.system())


@pytest.fixture
def factory(system: Ctx) -> Factory:
    return Factory(system)


def as_person(session: AsyncSession, person_id: uuid.UUID, **kwargs: object) -> Ctx:
    return Ctx.of(session, Principal.person(person_id, **kwargs))  # type: ignore[arg-type]


@pytest.fixture
async def app_database(database: Database, connection: AsyncConnection) -> Database:
    """The app's database view inside the test transaction: request commits become savepoints."""
    return Database(
        database.engine,
        make_sessionmaker(connection, join_transaction_mode="create_savepoint"),  # type: ignore[arg-type]
    )


@pytest.fixture
async def client(settings: Settings, app_database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, app_database)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def pytest_configure(config: pytest.Config) -> None:
    from tests import logscan

    logscan.install(config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests import logscan

    logscan.finish(session)
