"""Scale-out: two `makesense-api serve` processes on one PostgreSQL database and one Redis
behave as one service.

- registrations split across both never oversell an event;
- a rate-limit budget is one budget, whichever process is asked;
- an automatic persisted query registered through one process is found through the other.

That a subscription on one replica hears a change made through the other is proved by
tests/test_subscriptions_multi.py. Needs PostgreSQL (`make test-postgres`) and Redis on
127.0.0.1:6379 (`TEST_REDIS_URL`); `.ci/run` provides both. The processes use a Redis
database index of their own (`SCALE_REDIS_DB`), so budgets counted by other runs sharing the
server do not interfere.
"""

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from makesense_api.cli import migrate_database
from makesense_api.config import Settings
from tests.faults import answers, serve
from tests.live import LiveServer, scratch_database
from tests.test_faults import _seats
from tests.test_subscriptions import REGISTER, gid

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SCALE_REDIS_DB = 11
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ANONYMOUS_BUDGET = 40
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.processes,
    pytest.mark.skipif(
        not ON_POSTGRES, reason="needs PostgreSQL and Redis: run `make test-postgres` (.ci/run)"
    ),
    pytest.mark.skipif(
        not answers("127.0.0.1", 6379) and not IN_CI,
        reason="needs Redis: start `redis-server --port 6379` (.ci/run does)",
    ),
]


@dataclass
class Pair:
    a: str
    b: str
    database_url: str


def _redis_url() -> str:
    return make_url(REDIS_URL).set(database=str(SCALE_REDIS_DB)).render_as_string(
        hide_password=False
    )


async def _flush_budgets() -> None:
    """Empty the Redis database index of these tests (rate-limit windows of earlier runs)."""
    client = aioredis.from_url(_redis_url())
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
async def pair(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Pair]:
    directory = tmp_path_factory.mktemp("scale-out")
    settings = {
        "redis_url": _redis_url(),
        "live_channel": f"test:scale:{uuid.uuid4().hex[:8]}",
        "ratelimit_anonymous": f"{ANONYMOUS_BUDGET}/hour",
        "webhooks_dispatcher": "false",
    }
    await _flush_budgets()
    async with scratch_database(directory) as database_url:
        await migrate_database(Settings(database_url=database_url))
        async with (
            serve(directory, database_url=database_url, **settings) as a,
            serve(directory, database_url=database_url, **settings) as b,
        ):
            yield Pair(a.base_url, b.base_url, database_url)


async def test_registrations_split_across_processes_never_oversell(pair: Pair) -> None:
    async with LiveServer("", pair.database_url, Path("seed.log")).seed() as factory:
        tree = await factory.tree()
        event = await factory.event(tree["paris"], capacity=10, waitlist_enabled=False)
        tokens = [
            await factory.token(await factory.person(), {"registrations:write"})
            for _ in range(40)
        ]
    body = {"query": REGISTER, "variables": {"id": gid("Event", event.id)}}
    async with (
        httpx.AsyncClient(base_url=pair.a, timeout=60) as a,
        httpx.AsyncClient(base_url=pair.b, timeout=60) as b,
    ):
        responses = await asyncio.gather(*(
            (a if i % 2 else b).post(
                "/graphql", json=body, headers={"authorization": f"Bearer {token}"}
            )
            for i, token in enumerate(tokens)
        ))
    outcomes = [r.json()["data"]["eventRegister"] for r in responses]
    assert all(r.status_code == 200 for r in responses)
    seated = [o for o in outcomes if o["__typename"] == "RegistrationPayload"]
    refused = [o for o in outcomes if o["__typename"] != "RegistrationPayload"]
    assert len(seated) == 10
    assert {o["code"] for o in refused} == {"capacity_full"}
    assert await _seats(pair.database_url, event.id) == (10, 10)


async def test_a_persisted_query_registered_through_one_process_is_found_through_the_other(
    pair: Pair,
) -> None:
    query = "{ chapters(first: 1) { edges { node { slug } } } } # " + uuid.uuid4().hex
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    hash_only = {"extensions": orjson.dumps(extensions).decode()}
    async with (
        httpx.AsyncClient(base_url=pair.a, timeout=30) as a,
        httpx.AsyncClient(base_url=pair.b, timeout=30) as b,
    ):
        miss = (await b.get("/graphql", params=hash_only)).json()
        assert miss["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registered = await a.post("/graphql", json={"query": query, "extensions": extensions})
        assert registered.status_code == 200, registered.text
        found = await b.get("/graphql", params=hash_only)
    assert found.status_code == 200, found.text
    assert "errors" not in found.json()
    assert found.json()["data"] == registered.json()["data"]


async def test_a_rate_limit_budget_is_shared_by_the_processes(pair: Pair) -> None:
    remaining: list[int] = []
    statuses: list[int] = []
    async with (
        httpx.AsyncClient(base_url=pair.a, timeout=30) as a,
        httpx.AsyncClient(base_url=pair.b, timeout=30) as b,
    ):
        for i in range(ANONYMOUS_BUDGET + 4):
            response = await (a if i % 2 else b).get("/v1/chapters", params={"limit": 1})
            statuses.append(response.status_code)
            if response.status_code == 200:
                remaining.append(int(response.headers["ratelimit-remaining"]))
    # One counter: each answer, from either process, has less left than the one before.
    assert remaining == sorted(remaining, reverse=True)
    assert len(set(remaining)) == len(remaining)
    assert statuses.count(200) <= ANONYMOUS_BUDGET
    assert statuses[-2:] == [429, 429]  # both processes refuse once the budget is spent
    await _flush_budgets()
