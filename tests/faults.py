"""Faults on demand for tests against real server processes.

`Proxy` is a TCP proxy on a loopback port in front of a server (PostgreSQL, Redis). Servers
under test connect through it, so a test can "stop" the dependency (`cut`: the listener
closes, so new connections are refused, and every open connection is reset) and "start" it
again (`restore`), without touching the server that other tests share.

`serve` starts `makesense-api serve` in a subprocess with the given settings and yields a
`Served` (its URL and process), stopped with SIGTERM (then SIGKILL) when the context ends.
"""

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.live import CLI, _stop, _wait_ready, free_port

CHUNK = 65_536


class Proxy:
    """Forwards connections from `127.0.0.1:port` to `target`; `cut()` and `restore()`."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def for_url(cls, url: str, default_port: int) -> "Proxy":
        parsed = make_url(url)
        return cls(parsed.host or "127.0.0.1", parsed.port or default_port)

    def url(self, url: str) -> str:
        """`url` with its host and port replaced by the proxy's."""
        proxied = make_url(url).set(host="127.0.0.1", port=self.port)
        return proxied.render_as_string(hide_password=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )

    @property
    def up(self) -> bool:
        return self._server is not None

    async def cut(self) -> None:
        """Refuse new connections and reset every open one, as a crashed server would."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1)

    async def restore(self) -> None:
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        await self.cut()
        for task in list(self._tasks):
            task.cancel()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        if self._server is None:  # cut while connecting
            client_w.transport.abort()
            server_w.transport.abort()
            return
        self._links.update((client_w, server_w))
        pipes = [
            asyncio.create_task(self._pipe(client_r, server_w)),
            asyncio.create_task(self._pipe(server_r, client_w)),
        ]
        self._tasks.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._tasks.difference_update(pipes)
            for writer in (client_w, server_w):
                self._links.discard(writer)
                writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()


@contextlib.asynccontextmanager
async def proxy_to(url: str, default_port: int) -> AsyncIterator[Proxy]:
    proxy = Proxy.for_url(url, default_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


@dataclass
class Served:
    """A running `makesense-api serve`."""

    base_url: str
    process: asyncio.subprocess.Process
    log_path: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.asynccontextmanager
async def serve(directory: Path, **settings: str) -> AsyncIterator[Served]:
    """`makesense-api serve` on a free loopback port with `MAKESENSE_<NAME>` = value."""
    port = free_port()
    env = {
        **os.environ,
        "MAKESENSE_ENVIRONMENT": "test",
        "MAKESENSE_LOG_LEVEL": "WARNING",
        **{f"MAKESENSE_{name.upper()}": value for name, value in settings.items()},
    }
    env.pop("AUTHLIB_INSECURE_TRANSPORT", None)
    log_path = directory / f"serve-{port}.log"
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *CLI, "serve", "--host", "127.0.0.1", "--port", str(port),
            env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
        )
        try:
            await _wait_ready(process, base_url, log_path)
            yield Served(base_url, process, log_path, env)
        finally:
            await _stop(process)


def answers(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), 1):
            return True
    except OSError:
        return False
