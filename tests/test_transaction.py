"""The per-request transaction: committed before a success response, rolled back otherwise."""

import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from makesense_api.kit.db import Database, use_case
from makesense_api.kit.errors import ValidationFailed
from makesense_api.kit.middleware import DatabaseSession, RequestContext
from makesense_api.kit.models import Tombstone


async def write(request: Request) -> JSONResponse:
    session: AsyncSession = request.state.session
    marker = uuid.UUID(request.query_params["id"])
    session.add(Tombstone(entity="probe", entity_id=marker))
    await session.flush()
    if request.query_params.get("fail_use_case"):
        # A use-case that fails after writing: its savepoint must leave nothing behind,
        # even though the request itself goes on and succeeds.
        try:
            async with use_case(session):
                session.add(Tombstone(entity="probe-failed", entity_id=marker))
                await session.flush()
                raise ValidationFailed.on("x", "bad")
        except ValidationFailed:
            pass
    return JSONResponse({}, status_code=int(request.query_params.get("status", "200")))


@pytest.fixture
async def probe(app_database: Database) -> AsyncIterator[httpx.AsyncClient]:
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, object]]:
        yield {"database": app_database}

    app = Starlette(
        routes=[Route("/write", write, methods=["POST"])],
        middleware=[Middleware(RequestContext), Middleware(DatabaseSession)],
        lifespan=lifespan,
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


async def entities(session: AsyncSession, marker: uuid.UUID) -> list[str]:
    rows = await session.exec(select(Tombstone.entity).where(Tombstone.entity_id == marker))
    return sorted(rows.all())


@pytest.mark.parametrize(("status", "kept"), [(200, True), (201, True), (422, False), (503, False)])
async def test_commit_only_for_success(
    probe: httpx.AsyncClient, session: AsyncSession, status: int, kept: bool
) -> None:
    marker = uuid.uuid4()
    response = await probe.post("/write", params={"id": str(marker), "status": status})
    assert response.status_code == status
    assert await entities(session, marker) == (["probe"] if kept else [])


async def test_failed_use_case_leaves_nothing_while_the_request_commits(
    probe: httpx.AsyncClient, session: AsyncSession
) -> None:
    marker = uuid.uuid4()
    response = await probe.post("/write", params={"id": str(marker), "fail_use_case": "1"})
    assert response.status_code == 200
    assert await entities(session, marker) == ["probe"]
