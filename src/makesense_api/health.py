"""Liveness and readiness probes, and readiness during a graceful shutdown.

Shutdown under uvicorn (`makesense-api serve`), on SIGTERM or SIGINT:

    0 s        /readyz turns 503 ("shutting down"); everything else is served as before
    drain_s    uvicorn takes the signal: it stops accepting connections, lets requests in
               flight finish (up to `shutdown_grace_s`), closes WebSockets (1012, service
               restart: clients reconnect elsewhere), then the app stops its dispatcher
A second signal during the drain stops at once. Outbox rows (webhooks) are committed with
their change and delivered by whichever dispatcher runs next, so none is lost.
"""

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from makesense_api.kit.db import Database
from makesense_api.migrate import current_revision, head_revision

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 2.0


SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _served_by_uvicorn(handler: Any) -> bool:
    owner = getattr(handler, "__self__", None)
    return type(owner).__module__.startswith("uvicorn")


def drain_on_signals(shutting_down: asyncio.Event, drain_s: float) -> Callable[[], None]:
    """Under uvicorn, turn not-ready as soon as a stop signal arrives and hand the signal to
    uvicorn `drain_s` seconds later, so load balancers stop routing here before the listener
    closes. Returns the function that puts uvicorn's handlers back. Does nothing when
    `drain_s` is 0 or the process is not served by uvicorn (tests, other servers)."""
    if drain_s <= 0 or threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    if not all(_served_by_uvicorn(handler) for handler in previous.values()):
        return lambda: None
    loop = asyncio.get_running_loop()

    def hand_over(sig: int, frame: FrameType | None) -> None:
        handler = previous[signal.Signals(sig)]
        assert callable(handler)
        handler(sig, frame)

    def on_signal(sig: int, frame: FrameType | None) -> None:
        if shutting_down.is_set():  # a second signal: stop now
            hand_over(sig, frame)
            return
        log.warning("stop signal received: not ready; draining", extra={"drain_s": drain_s})
        loop.call_soon_threadsafe(shutting_down.set)
        loop.call_soon_threadsafe(loop.call_later, drain_s, hand_over, sig, None)

    for sig in SIGNALS:
        signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


async def livez(_: Request) -> JSONResponse:
    """The process is up and serving; says nothing of its dependencies."""
    return JSONResponse({"status": "ok"})


async def _database_state(database: Database) -> tuple[bool, str]:
    async with database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        current = await current_revision(conn)
        await conn.rollback()
    head = head_revision()
    if current != head:
        return False, f"migrations not at head (database {current}, code {head})"
    return True, "ok"


async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers within two seconds and its schema is at head."""
    database: Database = request.state.database
    if request.state.shutting_down.is_set():
        return JSONResponse({"status": "unavailable", "database": "shutting down"}, 503)
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            ok, detail = await _database_state(database)
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("readiness check failed", extra={"error": type(exc).__name__})
        ok, detail = False, "database unreachable"
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "database": detail}, 200 if ok else 503
    )
