"""Proof under faults: a real `makesense-api serve` whose PostgreSQL (or Redis) is cut off
mid-load by a TCP proxy (tests/faults.py), then given back.

While PostgreSQL is away: `/livez` stays 200, `/readyz` answers 503, and requests fail fast
with 503 (REST: problem+json; GraphQL: `SERVICE_UNAVAILABLE`) and `Retry-After`, never 500 and
never hanging; no registration is half made. When it returns, the same process serves again.
While Redis is away: rate limits are counted in process memory and requests are never refused
for it; when it returns, the shared budgets are used again.

The server tests need PostgreSQL (`make test-postgres`) and, for the Redis case, Redis on
127.0.0.1:6379; `.ci/run` provides both. The in-process tests first check the same answers
with an engine pointed at a port where nothing listens, on any machine.
"""

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from asgi_lifespan import LifespanManager
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from makesense_api.app import create_app
from makesense_api.cli import migrate_database
from makesense_api.config import Settings
from makesense_api.graphql.subscriptions import TRY_AGAIN_LATER
from makesense_api.kit.db import Database, unavailable
from tests.faults import Proxy, Served, answers, proxy_to, serve
from tests.live import LiveServer, free_port, scratch_database
from tests.test_subscriptions import REGISTER, SEATS, gid, gql
from tests.test_subscriptions import socket as ws_socket

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs PostgreSQL: run `make test-postgres` (.ci/run does)"
)

FAIL_FAST_S = 6.0  # bound on any answer while the database is away (pool timeout 2 s)
RECOVER_S = 20.0
EVENTS_QUERY = "{ events(first: 5) { edges { node { id title } } } }"


@dataclass
class World:
    served: Served
    proxy: Proxy
    database_url: str
    event_id: uuid.UUID
    tokens: list[str]


@pytest.fixture
async def unreachable(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process, its engine pointed at a loopback port where nothing listens."""
    settings = Settings(
        database_url=f"postgresql+asyncpg://app@127.0.0.1:{free_port()}/gone",
        db_pool_timeout=1.0,
        environment="test",
    )
    database = Database.from_settings(settings)
    app = create_app(settings, database)
    try:
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client
    finally:
        await database.dispose()


async def test_an_unreachable_database_gives_503_with_retry_after_not_500(
    unreachable: httpx.AsyncClient,
) -> None:
    assert (await unreachable.get("/livez")).status_code == 200
    assert (await unreachable.get("/readyz")).status_code == 503
    rest, _ = await _timed(unreachable.get("/v1/events"))
    _assert_unavailable(rest)
    assert rest.headers["content-type"] == "application/problem+json"
    assert rest.json()["code"] == "service_unavailable"
    for media in ("application/json", "application/graphql-response+json"):
        query = await unreachable.post(
            "/graphql", json={"query": EVENTS_QUERY}, headers={"accept": media}
        )
        _assert_unavailable(query)
        [error] = query.json()["errors"]
        assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE", "retryAfter": 5}


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (PoolTimeout("no connection"), True),
        (TimeoutError(), True),
        (IntegrityError("INSERT", {}, Exception("duplicate")), False),
        (ValueError("bad"), False),
    ],
)
def test_unavailable_tells_outages_from_statement_errors(
    exc: BaseException, expected: bool
) -> None:
    assert unavailable(exc) is expected
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = exc
    assert unavailable(wrapped) is expected


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with scratch_database(tmp_path) as database_url:
        await migrate_database(Settings(database_url=database_url))
        live = LiveServer("", database_url, tmp_path / "seed.log")
        async with live.seed() as factory:
            tree = await factory.tree()
            event = await factory.event(tree["paris"], capacity=40)
            tokens = []
            for _ in range(30):
                person_id = await factory.person()
                tokens.append(await factory.token(person_id, {"registrations:write", "profile"}))
        async with (
            proxy_to(database_url, 5432) as proxy,
            serve(
                tmp_path,
                database_url=proxy.url(database_url),
                db_pool_timeout="2",
                webhooks_dispatcher="false",
            ) as served,
        ):
            yield World(served, proxy, database_url, event.id, tokens)


async def _seats(database_url: str, event_id: uuid.UUID) -> tuple[int, int]:
    """The event's counter and its seated registrations, read directly."""
    database = Database.from_settings(Settings(database_url=database_url))
    try:
        async with database.engine.connect() as conn:
            taken = (
                await conn.execute(
                    sa.text("SELECT seats_taken FROM event WHERE id = :id"), {"id": event_id}
                )
            ).scalar_one()
            seated = (
                await conn.execute(
                    sa.text(
                        "SELECT count(*) FROM registration WHERE event_id = :id "
                        "AND status IN ('registered', 'attended', 'no_show')"
                    ),
                    {"id": event_id},
                )
            ).scalar_one()
            return int(taken), int(seated)
    finally:
        await database.dispose()


async def _timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await call
    return response, time.perf_counter() - started


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0


async def _reads(http: httpx.AsyncClient, stop: asyncio.Event, seen: list[tuple[int, float]]) -> None:
    """Public reads in a loop (REST and GraphQL), recording each status and duration."""
    while not stop.is_set():
        for call in (
            lambda: http.get("/v1/events", params={"limit": 5}),
            lambda: http.post("/graphql", json={"query": EVENTS_QUERY}),
        ):
            response, took = await _timed(call())
            seen.append((response.status_code, took))
        await asyncio.sleep(0.02)


async def _wait_status(http: httpx.AsyncClient, path: str, status: int, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        answer = (await http.get(path)).status_code
        if answer == status:
            return
        assert time.monotonic() < deadline, f"{path} still {answer} after {within} s"
        await asyncio.sleep(0.2)


@pytest.mark.postgres
@pytest.mark.processes
@needs_postgres
async def test_postgres_outage_fails_fast_with_503_and_recovers_without_restart(
    world: World,
) -> None:
    event = gid("Event", world.event_id)
    seen: list[tuple[int, float]] = []
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=world.served.base_url, timeout=30) as http:

        async def register(token: str) -> tuple[httpx.Response, float]:
            return await _timed(
                http.post(
                    "/graphql",
                    json={"query": REGISTER, "variables": {"id": event}},
                    headers={"authorization": f"Bearer {token}"},
                )
            )

        load = asyncio.create_task(_reads(http, stop, seen))
        await asyncio.sleep(0.5)
        before = [await register(token) for token in world.tokens[:5]]
        assert all(r.json()["data"]["eventRegister"]["__typename"] == "RegistrationPayload"
                   for r, _ in before)

        await world.proxy.cut()
        assert (await http.get("/livez")).status_code == 200
        await _wait_status(http, "/readyz", 503, FAIL_FAST_S)
        during = [await register(token) for token in world.tokens[5:15]]
        rest, rest_s = await _timed(http.get("/v1/events", params={"limit": 5}))
        query, query_s = await _timed(http.post("/graphql", json={"query": EVENTS_QUERY}))
        assert (await http.get("/livez")).status_code == 200

        for response, took in [*during, (rest, rest_s), (query, query_s)]:
            _assert_unavailable(response)
            assert took < FAIL_FAST_S, f"took {took:.1f} s"
        assert rest.headers["content-type"] == "application/problem+json"
        assert rest.json()["code"] == "service_unavailable"
        error = query.json()["errors"][0]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        # A bearer token is looked up before GraphQL runs: that refusal is a problem, as
        # authentication refusals are.
        assert during[0][0].headers["content-type"] == "application/problem+json"

        await world.proxy.restore()
        await _wait_status(http, "/readyz", 200, RECOVER_S)
        after = [await register(token) for token in world.tokens[15:20]]
        stop.set()
        await load

    assert all(r.json()["data"]["eventRegister"]["__typename"] == "RegistrationPayload"
               for r, _ in after)
    # No partial write: only the registrations that were answered with success exist, and the
    # event's seat counter agrees with its rows.
    assert await _seats(world.database_url, world.event_id) == (10, 10)
    statuses = {status for status, _ in seen}
    assert statuses <= {200, 503}, statuses
    assert 503 in statuses and 200 in statuses
    assert max(took for _, took in seen) < FAIL_FAST_S
    assert "Traceback" not in world.served.log() or "database unavailable" in world.served.log()


needs_redis = pytest.mark.skipif(
    not answers("127.0.0.1", 6379) and os.environ.get("CI", "") == "",
    reason="needs Redis: start `redis-server --port 6379` (.ci/run does), or set TEST_REDIS_URL",
)


@pytest.mark.redis
@pytest.mark.processes
@needs_redis
async def test_redis_outage_falls_back_to_local_limits_and_recovers(tmp_path: Path) -> None:
    """Rate limits go on in process memory; subscriptions are closed with 1013 (try again
    later); once Redis is back, budgets are shared and live changes flow again."""
    async with (
        scratch_database(tmp_path) as database_url,
        proxy_to(REDIS_URL, 6379) as proxy,
    ):
        await migrate_database(Settings(database_url=database_url))
        async with LiveServer("", database_url, tmp_path / "seed.log").seed() as factory:
            tree = await factory.tree()
            event = gid("Event", (await factory.event(tree["paris"], capacity=5)).id)
            person = await factory.token(await factory.person(), {"registrations:write"})
        async with serve(
            tmp_path,
            database_url=database_url,
            redis_url=proxy.url(REDIS_URL),
            live_channel=f"test:faults:{uuid.uuid4().hex[:8]}",
            ratelimit_anonymous="1000/minute",
            ratelimit_redis_retry_s="1",
            webhooks_dispatcher="false",
        ) as served, httpx.AsyncClient(base_url=served.base_url, timeout=30) as http:

            async def remaining() -> int:
                response = await http.get("/v1/events", params={"limit": 1})
                assert response.status_code == 200, response.text
                return int(response.headers["ratelimit-remaining"])

            shared = [await remaining() for _ in range(3)][-1]
            async with ws_socket(served.base_url) as ws:
                await ws.init()
                op = await ws.subscribe(SEATS, id=event)
                assert (await ws.next(op))["data"]["eventSeats"]["seatsTaken"] == 0
                await proxy.cut()
                assert await ws.closed() == TRY_AGAIN_LATER
            degraded = [await remaining() for _ in range(3)]
            assert (await http.get("/readyz")).status_code == 200
            await proxy.restore()
            await asyncio.sleep(2.5)  # the rate limiter's retry interval, the broker's pause
            back = await remaining()
            async with ws_socket(served.base_url) as ws:
                await ws.init()
                op = await ws.subscribe(SEATS, id=event)
                assert (await ws.next(op))["data"]["eventSeats"]["seatsTaken"] == 0
                await gql(served.base_url, REGISTER, person, id=event)
                assert (await ws.next(op))["data"]["eventSeats"]["seatsTaken"] == 1

    # In memory, the window starts afresh (a local budget); back on Redis, the shared
    # counter goes on from where it was.
    assert degraded[0] > shared
    assert degraded == sorted(degraded, reverse=True)
    assert back < shared
