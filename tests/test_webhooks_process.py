"""The dispatcher as processes: `makesense-api worker` killed mid-delivery and restarted, two
workers sharing PostgreSQL, and the dispatcher inside `makesense-api serve`.

Each test has a database of its own (a temporary SQLite file, or a scratch PostgreSQL database
under `make test-postgres`), committed for real, and a receiver on 127.0.0.1 that
de-duplicates by `webhook-id`.
"""

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from makesense_api.authz.principal import Principal
from makesense_api.cli import migrate_database
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.kit.db import Database
from makesense_api.webhooks import service as webhooks
from makesense_api.webhooks.models import WebhookDelivery
from tests.factories import Factory
from tests.live import live_server, scratch_database
from tests.test_webhooks import loopback, receiving

__all__ = ["loopback"]

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
WAIT_S = 30.0
pytestmark = pytest.mark.processes


def worker_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MAKESENSE_DATABASE_URL": database_url,
        "MAKESENSE_ENVIRONMENT": "test",
        "MAKESENSE_LOG_LEVEL": "WARNING",
        "MAKESENSE_WEBHOOKS_ALLOW_LOOPBACK": "true",
        "MAKESENSE_WEBHOOKS_TIMEOUT_S": "1",
        "MAKESENSE_WEBHOOKS_POLL_INTERVAL_S": "0.2",
        "MAKESENSE_WEBHOOKS_RETRY_BASE_S": "0.1",
        **extra,
    }


@contextlib.asynccontextmanager
async def worker(
    env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`makesense-api worker` in a subprocess; stopped (SIGTERM, then SIGKILL) at the end."""
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "makesense_api", "worker", env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-3000:] if log and log.exists() else ""


async def until(check: Callable[[], bool], what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{tail(log)}")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def committed(database_url: str) -> AsyncIterator[Factory]:
    database = Database.from_settings(Settings(database_url=database_url))
    try:
        async with database.sessionmaker() as session:
            yield Factory(Ctx.of(session, Principal.system()))
            await session.commit()
    finally:
        await database.dispose()


async def arrange(database_url: str, url: str) -> Any:
    """A tree, and an endpoint of paris for published events; returns the tree."""
    async with committed(database_url) as factory:
        tree = await factory.tree()
        admin = await factory.member(tree["paris"], "admin")
        ctx = Ctx.of(factory.ctx.session, Principal.person(admin))
        await webhooks.create(ctx, {"url": url, "event_types": ["event.published"],
                                    "chapter_id": tree["paris"].id})
    return tree


async def delivery_states(database_url: str) -> list[tuple[str, str, int]]:
    database = Database.from_settings(Settings(database_url=database_url))
    try:
        async with database.sessionmaker() as session:
            rows = (await session.exec(select(WebhookDelivery))).all()
            return [(r.msg_id, r.status, r.attempts) for r in rows]
    finally:
        await database.dispose()


async def test_a_worker_killed_mid_delivery_is_replaced_and_nothing_is_lost(
    tmp_path: Path, loopback: None
) -> None:
    log = tmp_path / "worker.log"
    async with scratch_database(tmp_path) as database_url:
        await migrate_database(Settings(database_url=database_url))
        with receiving([("sleep", 3.0)]) as receiver:
            tree = await arrange(database_url, receiver.url)
            # The change commits while no dispatcher runs: nothing is sent, nothing is lost.
            async with committed(database_url) as factory:
                event = await factory.event(tree["paris"])
            await asyncio.sleep(0.3)
            assert receiver.requests == []
            env = worker_env(database_url)
            async with worker(env, log) as first:
                await until(lambda: len(receiver.requests) == 1, "the first attempt", log)
                first.kill()  # SIGKILL while the receiver still holds the request
                await first.wait()
            async with worker(env, log):
                await until(lambda: len(receiver.effects) == 1
                            and len(receiver.requests) == 2, "the redelivery", log)
            msg_ids = {r["headers"]["webhook-id"] for r in receiver.requests}
            assert len(msg_ids) == 1  # the same webhook-id: the receiver's de-duplication holds
            [effect] = receiver.effects.values()
            assert effect["data"]["id"] == str(event.id)
        states = await delivery_states(database_url)
        assert [(s, n) for _, s, n in states] == [("succeeded", 2)]


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL: run `make test-postgres`")
async def test_two_workers_never_send_the_same_delivery_at_once(
    tmp_path: Path, loopback: None
) -> None:
    log = tmp_path / "workers.log"
    count = 30
    async with scratch_database(tmp_path) as database_url:
        await migrate_database(Settings(database_url=database_url))
        with receiving(delay_s=0.05) as receiver:
            tree = await arrange(database_url, receiver.url)
            async with committed(database_url) as factory:
                for _ in range(count):
                    await factory.event(tree["paris"])
            env = worker_env(database_url, MAKESENSE_WEBHOOKS_BATCH_SIZE="4")
            async with worker(env, log), worker(env, log):
                await until(lambda: len(receiver.effects) == count, "every delivery", log)
                await asyncio.sleep(0.5)  # a duplicate, if any, would arrive meanwhile
            assert receiver.overlaps == 0
            assert len(receiver.requests) == count
        states = await delivery_states(database_url)
        assert sorted(n for _, _, n in states) == [1] * count
        assert {s for _, s, _ in states} == {"succeeded"}


async def test_serve_runs_the_dispatcher_and_a_commit_wakes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback: None
) -> None:
    # A long poll interval: only the wake-up after the request's commit explains a quick send.
    for name, value in worker_env("", MAKESENSE_WEBHOOKS_POLL_INTERVAL_S="60").items():
        if name.startswith("MAKESENSE_WEBHOOKS_"):
            monkeypatch.setenv(name, value)
    with receiving() as receiver:
        async with live_server(tmp_path) as server:
            tree = await arrange(server.database_url, receiver.url)
            async with server.seed() as factory:
                organizer = await factory.member(tree["paris"], "organizer")
                draft = await factory.event(tree["paris"], publish=False)
                token = await factory.token(organizer, {"events:write"})
            await asyncio.sleep(0.5)  # the dispatcher's first pass is over: it now sleeps
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
                answer = await http.post(f"/v1/events/{draft.id}/publish",
                                         headers={"Authorization": f"Bearer {token}"})
                assert answer.status_code == 200, answer.text
            started = time.monotonic()
            await until(lambda: len(receiver.effects) == 1, "the delivery", server.log_path)
            assert time.monotonic() - started < 5
            [effect] = receiver.effects.values()
            assert effect["type"] == "event.published"
            assert effect["data"]["id"] == str(draft.id)
