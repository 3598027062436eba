"""Subscriptions across replicas: two `makesense-api serve` processes on one PostgreSQL
database, sharing live changes through Redis.

A registration made over HTTP on replica A reaches a subscriber connected to replica B, and
an event created on A reaches a chapter subscriber on B. The Redis broker is also tested
alone: what one broker publishes, every broker on the channel hears.

Needs Redis on 127.0.0.1:6379 (`TEST_REDIS_URL` to change it) and, for the replicas,
PostgreSQL through `TEST_DATABASE_URL` (`make test-postgres`); `.ci/run` starts both.
"""

import asyncio
import contextlib
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from makesense_api.cli import migrate_database
from makesense_api.config import Settings
from makesense_api.live.changes import EVENTS_TOPIC, Change, event_topic
from makesense_api.live.redis_broker import RedisBroker
from tests.live import CLI, LiveServer, _stop, _wait_ready, free_port, scratch_database
from tests.test_subscriptions import (
    CHAPTER,
    REGISTER,
    SEATS,
    WAIT_S,
    gid,
    gql,
    seed,
)
from tests.test_subscriptions import (
    socket as ws_socket,
)

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _redis_answers() -> bool:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1):
            return True
    except OSError:
        return False


ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
needs_redis = pytest.mark.skipif(
    not _redis_answers() and not IN_CI,
    reason="needs Redis: start `redis-server --port 6379` (.ci/run does), or set TEST_REDIS_URL",
)
needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="two replicas need PostgreSQL: run `make test-postgres` with Redis up (.ci/run does)",
)
pytestmark = [pytest.mark.redis, needs_redis]


def channel() -> str:
    """A channel of this test's own, so that runs sharing a Redis never hear each other."""
    return f"test:live:{secrets.token_hex(6)}"


@needs_redis
async def test_every_broker_on_the_channel_hears_what_one_publishes() -> None:
    name = channel()
    a, b = RedisBroker(REDIS_URL, name), RedisBroker(REDIS_URL, name)
    await a.start()
    await b.start()
    try:
        change = Change("registration.created", uuid.uuid4(), uuid.uuid4())
        assert change.event_id is not None
        with (
            a.listen(event_topic(change.event_id)) as mine,
            b.listen(event_topic(change.event_id)) as theirs,
            b.listen(EVENTS_TOPIC) as unrelated,
        ):
            a.publish([change])
            assert await asyncio.wait_for(theirs.get(), WAIT_S) == change
            assert await asyncio.wait_for(mine.get(), WAIT_S) == change
            assert unrelated.drain() == []
    finally:
        await a.stop()
        await b.stop()


# -- two replicas --------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def replica(database_url: str, directory: Path, live_channel: str) -> AsyncIterator[str]:
    """`makesense-api serve` on a free loopback port, sharing `database_url` and Redis."""
    port = free_port()
    env = {
        **os.environ,
        "MAKESENSE_DATABASE_URL": database_url,
        "MAKESENSE_ENVIRONMENT": "test",
        "MAKESENSE_LOG_LEVEL": "WARNING",
        "MAKESENSE_REDIS_URL": REDIS_URL,
        "MAKESENSE_LIVE_CHANNEL": live_channel,
    }
    log_path = directory / f"replica-{port}.log"
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *CLI, "serve", "--host", "127.0.0.1", "--port", str(port),
            env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
        )
        try:
            await _wait_ready(process, base_url, log_path)
            yield base_url
        finally:
            await _stop(process)


@pytest.fixture(scope="module")
async def replicas(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[LiveServer, str]]:
    directory = tmp_path_factory.mktemp("live-replicas")
    name = channel()
    async with scratch_database(directory) as database_url:
        await migrate_database(Settings(database_url=database_url))
        async with (
            replica(database_url, directory, name) as a,
            replica(database_url, directory, name) as b,
        ):
            yield LiveServer(a, database_url, directory / "a.log"), b


@needs_postgres
async def test_a_registration_on_one_replica_reaches_a_subscriber_on_the_other(
    replicas: tuple[LiveServer, str],
) -> None:
    a, b = replicas
    async with a.seed() as factory:
        seeded = await seed(factory)
    event = gid("Event", seeded.event_id)
    async with ws_socket(b) as ws:
        await ws.init()
        op = await ws.subscribe(SEATS, id=event)
        assert (await ws.next(op))["data"]["eventSeats"]["seatsLeft"] == 2
        result = await gql(a.base_url, REGISTER, seeded.people[0], id=event)
        assert result["eventRegister"]["__typename"] == "RegistrationPayload"
        seats = (await ws.next(op))["data"]["eventSeats"]
        assert (seats["seatsTaken"], seats["seatsLeft"]) == (1, 1)

        chapter = await ws.subscribe(CHAPTER, slug="france")
        await ws.settle()
        await gql(a.base_url, "mutation($id: ID!) { eventCancel(input: {id: $id}) "
                  "{ __typename } }", seeded.organizer, id=event)
        for _ in range(2):  # the cancellation reaches both subscriptions, in either order
            message = await ws.receive()
            assert message["type"] == "next", message
            data = message["payload"]["data"]
            if message["id"] == op:
                assert data["eventSeats"]["status"] == "CANCELLED"
            else:
                assert message["id"] == chapter
                assert data["chapterEvents"]["kind"] == "CANCELLED"
                assert data["chapterEvents"]["event"]["id"] == event
