"""GraphQL throughput next to a raw-SQL baseline, over loopback HTTP. A benchmark, never a test.

    python -m makesense_api.bench_graphql [--rounds 3] [--seconds 10] [--concurrency 32]

`make bench` runs it (as `graphql.events`, so `--only graphql.events` runs it alone) after the
in-process benchmarks of `bench`, on the same database (the large seed, loaded once). The
question, for an anonymous caller: the next 50 upcoming published events in France, each with
its host chapter's name and city and its seats taken.

1. Two servers start on free loopback ports, one uvicorn worker each:
   - the API as production runs it (`makesense-api serve`: JSON request logs, every
     middleware, `MAKESENSE_ENVIRONMENT=production`), asked `POST /graphql` with `QUERY`;
     rate limits off (`MAKESENSE_RATELIMIT_ENABLED=false`): one anonymous client asking
     thousands of times a second would otherwise be answered 429, measuring the limiter;
   - `bench_raw`: one asyncpg pool, one hand-written statement with the same visibility rules,
     orjson, asked `POST /events`.
   Both answers are fetched once and compared: the same events, fields and values.
2. Database round trips per request are counted on the wire: each app runs in this process
   against a small counting proxy in front of PostgreSQL (simple queries, and extended-protocol
   `Sync`s, each one a round trip), after a warm-up so prepared-statement caches are warm.
3. Load: `wrk` (Debian's package) with one thread and `--concurrency` keep-alive connections,
   `--seconds` per run, alternating GraphQL and raw for `--rounds` rounds after a short warm-up
   of each. Without `wrk`, a bounded Python load generator runs in a separate process.
   Per run: req/s, p50 and p99 latency, the server's RSS (`VmRSS`, and the peak `VmHWM`), and
   the server's CPU time per request (from /proc/<pid>/stat): on a shared machine throughput
   follows whatever else runs, CPU per request much less.
4. The summary takes the median round of each, and the ratio of their throughputs.
"""

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.engine import make_url

QUERY = """query UpcomingInCountry($country: String!, $first: Int!) {
  events(filter: {country: $country}, first: $first) {
    edges { node { title startsAt hostChapter { name city } seatsTaken } }
  }
}"""
COUNTRY = "FR"
FIRST = 50
GRAPHQL_BODY = orjson.dumps(
    {"query": QUERY, "variables": {"country": COUNTRY, "first": FIRST}}
)
RAW_BODY = orjson.dumps({"country": COUNTRY, "first": FIRST})
GRAPHQL_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/graphql-response+json",
}
RAW_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
TARGET_RATIO = 0.5
# Production settings demand an issuer and a key for webhook secrets; neither is used here.
BENCH_SECRET_KEY = secrets.token_urlsafe(32)
TARGET_RSS_MB = 150.0


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    body: bytes
    headers: dict[str, str]


GRAPHQL = Target("graphql", "/graphql", GRAPHQL_BODY, GRAPHQL_HEADERS)
RAW = Target("raw", "/events", RAW_BODY, RAW_HEADERS)


@dataclass(frozen=True)
class Run:
    """One load run against one server."""

    target: str
    round: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mb: float
    peak_rss_mb: float
    cpu_s: float  # CPU time the server used during the run

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request, in ms: what the code costs, whatever else runs."""
        return self.cpu_s * 1000 / self.requests if self.requests else 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def asyncpg_dsn(url: str) -> str:
    """The plain libpq URL of an SQLAlchemy `postgresql+asyncpg://` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    found = {"VmRSS": 0.0, "VmHWM": 0.0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in found:
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def post(base: str, target: Target, timeout: float = 10.0) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - our own loopback servers
        base + target.path, data=target.body, headers=target.headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_ready(server: Server, target: Target, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        with contextlib.suppress(OSError):
            status, _ = post(server.base, target, timeout=5.0)
            if status == 200:
                return
        time.sleep(0.3)
    tail = server.log.read_text(errors="replace")[-3000:]
    raise SystemExit(f"{server.name} did not become ready on port {server.port}:\n{tail}")


@contextlib.contextmanager
def servers(url: str, workdir: Path) -> Iterator[tuple[Server, Server]]:
    """The API and the raw baseline, each one uvicorn worker on a loopback port."""
    started: list[Server] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKESENSE_")}
    try:
        api_port = free_port()
        api_log = workdir / "api.log"
        api_env = {
            **env,
            "MAKESENSE_DATABASE_URL": url,
            "MAKESENSE_ENVIRONMENT": "production",
            "MAKESENSE_HOST": "127.0.0.1",
            "MAKESENSE_PORT": str(api_port),
            "MAKESENSE_RATELIMIT_ENABLED": "false",
            "MAKESENSE_OAUTH_ISSUER": f"http://127.0.0.1:{api_port}",
            "MAKESENSE_WEBHOOKS_SECRET_KEY": BENCH_SECRET_KEY,
        }
        with api_log.open("wb") as out:
            api = subprocess.Popen(
                [sys.executable, "-m", "makesense_api.cli", "serve", "--workers", "1"],
                env=api_env, stdout=out, stderr=subprocess.STDOUT,
            )
        started.append(Server("api", api_port, api, api_log))
        raw_port = free_port()
        raw_log = workdir / "raw.log"
        raw_env = {**env, "MAKESENSE_BENCH_RAW_DSN": asyncpg_dsn(url)}
        with raw_log.open("wb") as out:
            raw = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "uvicorn", "--factory",
                 "makesense_api.bench_raw:app_from_env", "--host", "127.0.0.1",
                 "--port", str(raw_port), "--workers", "1", "--no-access-log",
                 "--log-level", "warning"],
                env=raw_env, stdout=out, stderr=subprocess.STDOUT,
            )
        started.append(Server("raw", raw_port, raw, raw_log))
        wait_ready(started[0], GRAPHQL)
        wait_ready(started[1], RAW)
        yield started[0], started[1]
    finally:
        for server in started:
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGINT)
        for server in started:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def compare_answers(api: Server, raw: Server) -> int:
    """Both servers answer the same events; the number of events."""
    status, body = post(api.base, GRAPHQL)
    if status != 200:
        raise SystemExit(f"GraphQL answered {status}: {body[:500]!r}")
    answer = orjson.loads(body)
    if answer.get("errors"):
        raise SystemExit(f"GraphQL answered errors: {answer['errors']}")
    graphql_nodes = [e["node"] for e in answer["data"]["events"]["edges"]]
    status, body = post(raw.base, RAW)
    if status != 200:
        raise SystemExit(f"the raw baseline answered {status}: {body[:500]!r}")
    raw_nodes = [e["node"] for e in orjson.loads(body)["data"]["events"]["edges"]]
    if graphql_nodes != raw_nodes:
        for index, (a, b) in enumerate(zip(graphql_nodes, raw_nodes, strict=False)):
            if a != b:
                raise SystemExit(f"answers differ at event {index}: {a} != {b}")
        raise SystemExit(f"answers differ: {len(graphql_nodes)} vs {len(raw_nodes)} events")
    return len(graphql_nodes)


# -- load ----------------------------------------------------------------------------------

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT %d %d %d %d %d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _lua_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def wrk_script(target: Target, workdir: Path) -> Path:
    headers = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in target.headers.items()
    )
    path = workdir / f"{target.name}.lua"
    path.write_text(WRK_SCRIPT.format(body=_lua_string(target.body.decode()), headers=headers))
    return path


def run_wrk(
    base: str, target: Target, script: Path, seconds: float, concurrency: int
) -> tuple[int, float, float, float, int]:
    """(requests, seconds, p50 ms, p99 ms, errors) of one wrk run."""
    command = [
        "wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(script), base + target.path,
    ]
    done = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            requests, duration_us, p50_us, p99_us, errors = (int(x) for x in line.split()[1:])
            return requests, duration_us / 1e6, p50_us / 1e3, p99_us / 1e3, errors
    raise SystemExit(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")


def run_python_load(
    base: str, target: Target, seconds: float, concurrency: int
) -> tuple[int, float, float, float, int]:
    """The same measurement with `loadgen` below, in a separate process."""
    command = [
        sys.executable, "-m", "makesense_api.bench_graphql", "loadgen", base + target.path,
        "--seconds", str(seconds), "--concurrency", str(concurrency),
        "--body", target.body.decode(), "--headers", json.dumps(target.headers),
    ]
    done = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"load generator failed: {done.stderr}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return (found["requests"], found["seconds"], found["p50_ms"], found["p99_ms"],
            found["errors"])


async def _loadgen(
    url: str, seconds: float, concurrency: int, body: bytes, headers: dict[str, str]
) -> dict[str, Any]:
    """Keep-alive HTTP/1.1 clients posting `body` in a loop until `seconds` have passed."""
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"POST {parsed.path} HTTP/1.1\r\nHost: {host}:{port}\r\n{head}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - began)
                if b" 200 " not in status_line:
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1e3,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3,
        "errors": errors,
    }


# -- round trips -----------------------------------------------------------------------------


class CountingProxy:
    """A loopback TCP proxy in front of PostgreSQL that counts the client's round trips:
    simple queries (`Q`) and extended-protocol batches (each ends with one `Sync`)."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.simple = 0
        self.syncs = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    @property
    def round_trips(self) -> int:
        return self.simple + self.syncs

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(ConnectionError, OSError):
                dst.close()

        async def client_to_server() -> None:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                # Untyped messages first: an optional SSLRequest, then the StartupMessage.
                while True:
                    size = int.from_bytes(await reader.readexactly(4), "big")
                    payload = await reader.readexactly(size - 4)
                    up_writer.write(size.to_bytes(4, "big") + payload)
                    await up_writer.drain()
                    if payload[:4] != (80877103).to_bytes(4, "big"):  # not an SSLRequest
                        break
                    # The server answers one byte ('N': no SSL) before the startup message.
                while True:
                    kind = await reader.readexactly(1)
                    size = int.from_bytes(await reader.readexactly(4), "big")
                    payload = await reader.readexactly(size - 4)
                    if kind == b"Q":
                        self.simple += 1
                    elif kind == b"S":
                        self.syncs += 1
                    up_writer.write(kind + size.to_bytes(4, "big") + payload)
                    await up_writer.drain()
            with contextlib.suppress(ConnectionError, OSError):
                up_writer.close()

        await asyncio.gather(client_to_server(), pipe(up_reader, writer))


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
    """Run an ASGI app's lifespan in this process; yields the state it sets up."""
    state: dict[str, Any] = {}
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": state},
            inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise SystemExit(f"lifespan failed: {started}")
    try:
        yield state
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def call(app: Any, state: dict[str, Any], target: Target) -> tuple[int, bytes]:
    """One in-process HTTP request through the whole ASGI app."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": target.path, "raw_path": target.path.encode(),
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80), "state": dict(state),
        "headers": [(k.lower().encode(), v.encode()) for k, v in target.headers.items()],
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": target.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def round_trips(url: str, warmup: int = 20, counted: int = 20) -> dict[str, float]:
    """Database round trips per request, steady state, for the API and the raw baseline."""
    from makesense_api import bench_raw
    from makesense_api.app import create_app
    from makesense_api.config import Settings
    from makesense_api.kit.db import Database

    parsed = make_url(url)
    proxy = CountingProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    through = parsed.set(host="127.0.0.1", port=proxy.port)
    result: dict[str, float] = {}
    try:
        settings = Settings(database_url=through.render_as_string(hide_password=False),
                            environment="production", oauth_issuer="http://127.0.0.1",
                            webhooks_secret_key=BENCH_SECRET_KEY)
        database = Database.from_settings(settings)
        apps: list[tuple[str, Any, Target]] = [
            ("graphql", create_app(settings, database), GRAPHQL),
            ("raw", bench_raw.create_app(asyncpg_dsn(str(through.render_as_string(False)))),
             RAW),
        ]
        for name, app, target in apps:
            async with lifespan(app) as state:
                for _ in range(warmup):
                    status, body = await call(app, state, target)
                    if status != 200:
                        raise SystemExit(f"{name} answered {status}: {body[:300]!r}")
                before = proxy.round_trips
                for _ in range(counted):
                    await call(app, state, target)
                result[name] = (proxy.round_trips - before) / counted
        await database.dispose()
    finally:
        await proxy.stop()
    return result


# -- the benchmark ---------------------------------------------------------------------------


HEADER = (f"{'server':<8} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'RSS MB':>8} {'peak MB':>9}"
          f" {'CPU ms/req':>11} {'errors':>7}")


def _fmt(run: Run) -> str:
    return (f"{run.round:>6}  {run.target:<8} {run.rps:>9.0f} {run.p50_ms:>9.1f}"
            f" {run.p99_ms:>9.1f} {run.rss_mb:>8.1f} {run.peak_rss_mb:>9.1f} {run.cpu_ms:>11.2f}"
            f" {run.errors:>7}")


def _median_run(runs: Sequence[Run]) -> Run:
    ordered = sorted(runs, key=lambda r: r.rps)
    return ordered[len(ordered) // 2]


def throughput(
    url: str, rounds: int = 3, seconds: float = 10.0, concurrency: int = 32,
    warmup_s: float = 3.0,
) -> dict[str, Any]:
    """Run the whole comparison; prints a table and returns the summary figures."""
    tool = "wrk" if shutil.which("wrk") else "python"
    print(f"\nGraphQL throughput: upcoming published events in {COUNTRY}, first {FIRST}, "
          f"anonymous; {rounds} rounds x {seconds:g} s per server, {concurrency} connections, "
          f"load by {tool}, {os.cpu_count()} CPUs")
    trips = asyncio.run(round_trips(url))
    print("database round trips per request: " + ", ".join(
        f"{name} {value:g}" for name, value in trips.items()))
    with tempfile.TemporaryDirectory(prefix="bench-graphql-") as tmp:
        workdir = Path(tmp)
        with servers(url, workdir) as (api, raw):
            events = compare_answers(api, raw)
            print(f"both answer the same {events} events")
            pairs = ((api, GRAPHQL), (raw, RAW))
            scripts = {t.name: wrk_script(t, workdir) for t in (GRAPHQL, RAW)}

            def load(server: Server, target: Target, span: float) -> tuple[Any, ...]:
                if tool == "wrk":
                    return run_wrk(server.base, target, scripts[target.name], span, concurrency)
                return run_python_load(server.base, target, span, concurrency)

            for server, target in pairs:
                load(server, target, warmup_s)
            print(f"{'round':>6}  {HEADER}")
            runs: list[Run] = []
            for number in range(1, rounds + 1):
                for server, target in pairs:
                    used = cpu_seconds(server.process.pid)
                    requests, span, p50, p99, errors = load(server, target, seconds)
                    used = cpu_seconds(server.process.pid) - used
                    rss, peak = rss_mb(server.process.pid)
                    run = Run(target.name, number, requests, span, p50, p99, errors, rss, peak,
                              used)
                    runs.append(run)
                    print(_fmt(run), flush=True)
    summary: dict[str, Any] = {"round_trips": trips}
    for name in ("graphql", "raw"):
        mine = [r for r in runs if r.target == name]
        middle = _median_run(mine)
        summary[name] = {
            "rps": statistics.median(r.rps for r in mine),
            "p50_ms": middle.p50_ms,
            "p99_ms": middle.p99_ms,
            "rss_mb": max(r.rss_mb for r in mine),
            "peak_rss_mb": max(r.peak_rss_mb for r in mine),
            "cpu_ms": statistics.median(r.cpu_ms for r in mine),
            "errors": sum(r.errors for r in mine),
        }
    ratio = summary["graphql"]["rps"] / summary["raw"]["rps"] if summary["raw"]["rps"] else 0.0
    summary["ratio"] = ratio
    print(f"{'median':>6}  {HEADER}")
    for name in ("graphql", "raw"):
        s = summary[name]
        print(f"{'':>6}  {name:<8} {s['rps']:>9.0f} {s['p50_ms']:>9.1f} {s['p99_ms']:>9.1f}"
              f" {s['rss_mb']:>8.1f} {s['peak_rss_mb']:>9.1f} {s['cpu_ms']:>11.2f}"
              f" {s['errors']:>7}")
    met = ratio >= TARGET_RATIO and summary["graphql"]["peak_rss_mb"] <= TARGET_RSS_MB
    print(f"GraphQL/raw throughput: {ratio:.2f} (target >= {TARGET_RATIO}, RSS <= "
          f"{TARGET_RSS_MB:.0f} MB: {'met' if met else 'not met'})")
    return summary


NAME = "graphql.events"


def after_bench(url: str, only: set[str]) -> None:
    """Run from `bench.main` once the database is prepared: unless `--only` names others."""
    if not only or NAME in only:
        throughput(url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m makesense_api.bench_graphql",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    loadgen = sub.add_parser("loadgen", help="the fallback load generator (one run)")
    loadgen.add_argument("url")
    loadgen.add_argument("--seconds", type=float, default=10.0)
    loadgen.add_argument("--concurrency", type=int, default=32)
    loadgen.add_argument("--body", default="{}")
    loadgen.add_argument("--headers", default="{}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="large seed scale, used only when the database is empty")
    args = parser.parse_args(argv)
    if args.command == "loadgen":
        found = asyncio.run(_loadgen(args.url, min(args.seconds, 120.0), args.concurrency,
                                     args.body.encode(), json.loads(args.headers)))
        print(json.dumps(found))
        return 0
    from makesense_api import bench

    url = os.environ.get("MAKESENSE_BENCH_DATABASE_URL") or bench.DEFAULT_URL
    if not url.startswith("postgresql"):
        print("bench: MAKESENSE_BENCH_DATABASE_URL must name a PostgreSQL database")
        return 2
    asyncio.run(bench.prepare(url, args.scale))
    throughput(url, max(1, args.rounds), max(1.0, min(args.seconds, 120.0)),
               max(1, min(args.concurrency, 512)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
