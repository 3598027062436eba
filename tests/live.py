"""A real server for black-box tests: `makesense-api serve` in a subprocess on a free loopback
port, against a freshly migrated database of its own.

The database is a temporary SQLite file, or, when `TEST_DATABASE_URL` names a PostgreSQL
server, a database created for the server (`test_live_<pid>_<n>`) and dropped afterwards; the
database named in `TEST_DATABASE_URL` is only connected to, never changed. Data is arranged
in the test process through the real services (`LiveServer.seed`), committed before the
server is asked anything.

Everything is bounded: the server must answer `/readyz` within `START_TIMEOUT_S`, and it is
always stopped (SIGTERM, then SIGKILL after `STOP_TIMEOUT_S`) when the context ends. Its output
goes to a log file, shown when it fails to start.
"""

import asyncio
import contextlib
import itertools
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from makesense_api.authz.principal import Principal
from makesense_api.cli import migrate_database
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.kit.db import Database
from tests.factories import Factory

CLI = [sys.executable, "-m", "makesense_api"]
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
PG_TIMEOUT_S = 10.0
_databases = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


async def _pg_admin(url: str, statement: str) -> None:
    """Run one statement outside a transaction on the server of `url` (CREATE/DROP DATABASE)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=PG_TIMEOUT_S)
    try:
        await conn.execute(statement, timeout=PG_TIMEOUT_S)
    finally:
        await conn.close(timeout=PG_TIMEOUT_S)


@contextlib.asynccontextmanager
async def scratch_database(directory: Path) -> AsyncIterator[str]:
    """The URL of an empty database that lives as long as the context."""
    server = _postgres_url()
    if server is None:
        yield f"sqlite+aiosqlite:///{directory / 'live.db'}"
        return
    name = f"test_live_{os.getpid()}_{next(_databases)}"
    await _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _pg_admin(server, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        await _pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    database_url: str
    log_path: Path

    @contextlib.asynccontextmanager
    async def seed(self) -> AsyncIterator[Factory]:
        """A factory acting as the service on the server's database; committed on exit."""
        database = Database.from_settings(Settings(database_url=self.database_url))
        try:
            async with database.sessionmaker() as session:
                yield Factory(Ctx.of(session, Principal.system()))
                await session.commit()
        finally:
            await database.dispose()


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)


async def _wait_ready(process: asyncio.subprocess.Process, base_url: str, log: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as http:
        while loop.time() < deadline:
            if process.returncode is not None:
                break
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server at {base_url} did not become ready:\n{_tail(log)}")


def _tail(log: Path, size: int = 4000) -> str:
    return log.read_text(errors="replace")[-size:]


@contextlib.asynccontextmanager
async def live_server(directory: Path) -> AsyncIterator[LiveServer]:
    """Migrate a scratch database and serve it on 127.0.0.1 until the context ends."""
    async with scratch_database(directory) as database_url:
        await migrate_database(Settings(database_url=database_url))
        port = free_port()
        env = {
            **os.environ,
            "MAKESENSE_DATABASE_URL": database_url,
            "MAKESENSE_ENVIRONMENT": "test",
            "MAKESENSE_LOG_LEVEL": "WARNING",
        }
        # Plain http is accepted on loopback addresses only, as in production.
        env.pop("AUTHLIB_INSECURE_TRANSPORT", None)
        log_path = directory / f"server-{port}.log"
        base_url = f"http://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *CLI, "serve", "--host", "127.0.0.1", "--port", str(port),
                env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )
            try:
                await _wait_ready(process, base_url, log_path)
                yield LiveServer(base_url, database_url, log_path)
            finally:
                await _stop(process)
