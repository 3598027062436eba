"""SIGTERM with work in flight, against a real `makesense-api serve`.

Readiness flips first (`/readyz` 503 during `MAKESENSE_SHUTDOWN_DRAIN_S` while requests are
still served), a request in flight finishes and commits, an open subscription is closed with
a code clients retry on, the process exits cleanly, and the webhook its request announced is
delivered by the next dispatcher (the outbox row outlived the process).

Runs on SQLite, and on PostgreSQL under `make test-postgres`.
"""

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from makesense_api.authz.principal import Principal
from makesense_api.cli import migrate_database
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.webhooks import service as webhooks
from tests.faults import serve
from tests.live import scratch_database
from tests.test_subscriptions import REGISTER, SEATS, gid
from tests.test_subscriptions import socket as ws_socket
from tests.test_webhooks import loopback, receiving
from tests.test_webhooks_process import committed, until, worker, worker_env

__all__ = ["loopback"]
pytestmark = pytest.mark.processes

DRAIN_S = 3.0
UPLOAD_S = 4.0  # the in-flight request's body trickles in for this long
SERVICE_RESTART = 1012  # RFC 6455: clients reconnect (elsewhere)


async def _trickle(body: bytes, pieces: int) -> AsyncIterator[bytes]:
    """A request body sent slowly, so the request is in flight when the signal arrives."""
    size = -(-len(body) // pieces)
    for start in range(0, len(body), size):
        yield body[start : start + size]
        await asyncio.sleep(UPLOAD_S / pieces)


async def test_sigterm_drains_then_finishes_in_flight_work_and_loses_no_webhook(
    tmp_path: Path, loopback: None
) -> None:
    async with scratch_database(tmp_path) as database_url:
        await migrate_database(Settings(database_url=database_url))
        with receiving() as receiver:
            async with committed(database_url) as factory:
                tree = await factory.tree()
                admin = await factory.member(tree["paris"], "admin")
                await webhooks.create(
                    Ctx.of(factory.ctx.session, Principal.person(admin)),
                    {"url": receiver.url, "event_types": ["registration.created"],
                     "chapter_id": tree["paris"].id},
                )
                event = await factory.event(tree["paris"], capacity=5)
                token = await factory.token(await factory.person(), {"registrations:write"})
            payload = orjson.dumps({"query": REGISTER, "variables": {"id": gid("Event", event.id)}})
            async with (
                serve(
                    tmp_path,
                    database_url=database_url,
                    shutdown_drain_s=str(DRAIN_S),
                    shutdown_grace_s="15",
                    webhooks_allow_loopback="true",
                ) as served,
                httpx.AsyncClient(base_url=served.base_url, timeout=30) as http,
                ws_socket(served.base_url) as ws,
            ):
                await ws.init()
                op = await ws.subscribe(SEATS, id=gid("Event", event.id))
                assert (await ws.next(op))["data"]["eventSeats"]["seatsTaken"] == 0
                in_flight = asyncio.create_task(
                    http.post(
                        "/graphql",
                        content=_trickle(payload, 8),
                        headers={"content-type": "application/json",
                                 "authorization": f"Bearer {token}"},
                    )
                )
                await asyncio.sleep(0.5)
                signalled = time.monotonic()
                served.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.3)
                # Draining: not ready, still alive and serving.
                assert (await http.get("/readyz")).status_code == 503
                assert (await http.get("/livez")).status_code == 200
                assert (await http.get("/v1/events", params={"limit": 1})).status_code == 200
                response = await in_flight
                assert response.status_code == 200, response.text
                assert response.json()["data"]["eventRegister"]["__typename"] == (
                    "RegistrationPayload"
                )
                # Open subscriptions are closed with a code clients reconnect on.
                assert await ws.closed() == SERVICE_RESTART
                # uvicorn re-raises the signal once it has shut down gracefully.
                exit_code = await asyncio.wait_for(served.process.wait(), 20)
                assert exit_code in (0, -signal.SIGTERM), served.log()
                assert "Traceback" not in served.log(), served.log()
                assert time.monotonic() - signalled >= DRAIN_S
            # The dispatcher stopped with the signal; the next one delivers what was committed.
            log = tmp_path / "worker.log"
            async with worker(worker_env(database_url), log):
                await until(lambda: len(receiver.effects) == 1, "the delivery", log)
            [effect] = receiver.effects.values()
            assert effect["type"] == "registration.created"
