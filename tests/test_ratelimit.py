"""Rate limits: budgets per client, per anonymous address and per chapter; GraphQL by cost;
memory by default, Redis shared between app instances, and the fallback when Redis fails."""

import asyncio
import contextlib
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from makesense_api.app import create_app
from makesense_api.config import Settings
from makesense_api.kit.db import Database
from makesense_api.ops.ratelimit import Budget, RateLimiter
from makesense_api.tokens import service as tokens
from makesense_api.tokens.models import TokenKind
from tests.factories import Factory

REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_HINT = "needs Redis on 127.0.0.1:6379: run `redis-server --daemonize yes` (.ci/run does)"
EVENTS = "{ events(first: 10) { edges { node { id title } } } }"


@contextlib.asynccontextmanager
async def serve(
    settings: Settings, database: Database, address: str = "127.0.0.1", **limits: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=limits), database)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def client_token(factory: Factory, **owner: Any) -> str:
    """An access token issued to a new OAuth client of `owner` (a chapter or a partner)."""
    if "chapter" in owner:
        created = await factory.oauth_client(chapter=owner["chapter"])
        subject: dict[str, Any] = {"person_id": await factory.person()}
    else:
        created = await factory.oauth_client(
            partner_id=owner["partner_id"],
            client_type="confidential",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["events:read"],
        )
        subject = {"partner_id": owner["partner_id"]}
    issued = await tokens.issue(
        factory.ctx.session,
        kind=TokenKind.ACCESS,
        scopes={"events:read"},
        ttl=timedelta(hours=1),
        client_id=created.view.client_id,
        **subject,
    )
    return issued.token


async def test_requests_are_charged_one_and_refused_past_the_budget(
    settings: Settings, app_database: Database
) -> None:
    async with serve(settings, app_database, ratelimit_anonymous="3/minute") as client:
        answered = [await client.get("/openapi.json") for _ in range(3)]
        refused = await client.get("/openapi.json")
        exempt = [await client.get("/livez") for _ in range(5)]
    assert [r.status_code for r in answered] == [200, 200, 200]
    assert [r.headers["ratelimit-remaining"] for r in answered] == ["2", "1", "0"]
    assert all(r.headers["ratelimit-limit"] == "3" for r in answered)
    assert 0 < int(answered[0].headers["ratelimit-reset"]) <= 60
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429 and "ip rate limit" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert all(r.status_code == 200 and "ratelimit-limit" not in r.headers for r in exempt)


async def test_anonymous_addresses_have_budgets_of_their_own(
    settings: Settings, app_database: Database
) -> None:
    async with serve(settings, app_database, "10.0.0.1", ratelimit_anonymous="1/minute") as one:
        assert (await one.get("/openapi.json")).status_code == 200
        assert (await one.get("/openapi.json")).status_code == 429
    async with serve(settings, app_database, "10.0.0.2", ratelimit_anonymous="1/minute") as two:
        assert (await two.get("/openapi.json")).status_code == 200


async def test_chapter_sites_and_partners_never_share_a_budget(
    settings: Settings, app_database: Database, factory: Factory
) -> None:
    root = await factory.root()
    paris = await factory.chapter(root)
    site = await client_token(factory, chapter=paris)
    app = await client_token(factory, chapter=paris)  # another client of the same chapter
    partner = await factory.partner()
    crm = await client_token(factory, partner_id=partner.id)
    limits = {"ratelimit_client": "5/minute", "ratelimit_chapter": "3/minute"}
    async with serve(settings, app_database, **limits) as client:
        # The partner exhausts its own budget; the chapter's site is untouched.
        partner_answers = [
            (await client.get("/v1/events", headers=bearer(crm))).status_code for _ in range(6)
        ]
        site_answers = [
            (await client.get("/v1/events", headers=bearer(site))).status_code for _ in range(4)
        ]
        # The chapter's budget is shared by every client it owns...
        other_app = await client.get("/v1/events", headers=bearer(app))
        # ...and not by the partner's, whose refusals came from its client budget.
        refused = await client.get("/v1/events", headers=bearer(site))
    assert partner_answers == [200] * 5 + [429]
    assert site_answers == [200] * 3 + [429]
    assert other_app.status_code == 429
    assert "chapter rate limit" in refused.json()["detail"]
    assert refused.headers["ratelimit-limit"] == "3"


async def test_graphql_is_charged_its_cost_before_it_runs(
    settings: Settings, app_database: Database
) -> None:
    async with serve(settings, app_database, ratelimit_anonymous="100/minute") as client:
        first = await client.post("/graphql", json={"query": EVENTS})
        cost = first.json()["extensions"]["cost"]["requested"]
        budget = first.json()["extensions"]["rateLimit"]
        assert first.status_code == 200 and cost > 1
        assert budget["limit"] == 100 and budget["remaining"] == 100 - cost
        assert first.headers["ratelimit-remaining"] == str(100 - cost)
        assert budget["resetAt"].endswith("+00:00")
        for _ in range((100 - cost) // cost):
            assert (await client.post("/graphql", json={"query": EVENTS})).status_code == 200
        refused = await client.post("/graphql", json={"query": EVENTS})
        cheap = await client.post("/graphql", json={"query": "{ __typename }"})
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"] == {"code": "RATE_LIMITED"}
    assert "data" not in refused.json()
    assert int(refused.headers["retry-after"]) >= 1
    # What remains still pays for a cheaper operation.
    remaining = (100 - cost) % cost
    assert cheap.status_code == (200 if remaining >= 1 else 429)


async def test_an_operation_that_cannot_run_costs_one(
    settings: Settings, app_database: Database
) -> None:
    async with serve(settings, app_database, ratelimit_anonymous="50/minute") as client:
        broken = await client.post("/graphql", json={"query": "{ events(first: 10) { nope } }"})
        unparsable = await client.post("/graphql", json={"query": "{ events("})
    assert broken.json()["errors"] and unparsable.json()["errors"]
    assert broken.headers["ratelimit-remaining"] == "49"
    assert unparsable.headers["ratelimit-remaining"] == "48"


# -- Redis ----------------------------------------------------------------------------------


def _redis_answers(host: str = "127.0.0.1", port: int = 6379) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5) as s:
        s.sendall(b"PING\r\n")
        return s.recv(16).startswith(b"+PONG")
    return False


@pytest.fixture
def shared_redis() -> str:
    if not _redis_answers():
        pytest.skip(REDIS_HINT)
    return REDIS_URL


@pytest.mark.redis
async def test_app_instances_sharing_redis_share_one_budget(
    settings: Settings, app_database: Database, shared_redis: str
) -> None:
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"  # a budget of its own
    limits = {"redis_url": shared_redis, "ratelimit_anonymous": "4/minute"}
    async with (
        serve(settings, app_database, address, **limits) as one,
        serve(settings, app_database, address, **limits) as two,
    ):
        answers = []
        for replica in (one, two, one, two, one):
            answers.append((await replica.get("/openapi.json")).status_code)
    assert answers == [200, 200, 200, 200, 429]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_redis(port: int) -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server")
    assert server is not None
    process = subprocess.Popen(  # noqa: S603 - a fixed local binary
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if _redis_answers(port=port):
            return process
        subprocess.run(["sleep", "0.05"], check=True)  # noqa: S607
    process.kill()
    raise RuntimeError("redis-server did not start")


@pytest.mark.redis
async def test_redis_down_falls_back_to_memory_and_recovers(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip(REDIS_HINT)
    port = _free_port()
    server = _start_redis(port)
    limiter = RateLimiter(
        settings.model_copy(
            update={"redis_url": f"redis://127.0.0.1:{port}/0", "ratelimit_redis_retry_s": 0.2}
        )
    )
    budget = [Budget("client", f"test-{uuid.uuid4()}", limiter.client)]
    try:
        assert (await limiter.charge(budget, 1)).allowed  # type: ignore[union-attr]
        assert limiter.backend == "redis"
        server.terminate()
        server.wait()
        # Redis is gone: requests are still answered, counted in memory; logged once.
        for _ in range(3):
            verdict = await limiter.charge(budget, 1)
            assert verdict is not None and verdict.allowed
        assert limiter.backend == "memory"
        warnings = [r for r in caplog.records if "Redis is unreachable" in r.getMessage()]
        assert len(warnings) == 1
        server = _start_redis(port)
        await asyncio.sleep(0.3)
        verdict = await limiter.charge(budget, 1)
        assert limiter.backend == "redis"
        # Counted by the (new, empty) Redis again, not by the memory that saw 3 hits.
        assert verdict is not None and verdict.remaining == verdict.limit - 1
        assert any("through Redis again" in r.getMessage() for r in caplog.records)
    finally:
        await limiter.close()
        server.terminate()
        server.wait()
