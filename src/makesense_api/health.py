"""Liveness and readiness probes."""

import asyncio
import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from makesense_api.kit.db import Database
from makesense_api.migrate import current_revision, head_revision

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 2.0


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
