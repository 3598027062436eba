"""`make loadtest`: a bounded mixed workload against two API processes on PostgreSQL.

    python -m makesense_api.loadtest [--duration 60] [--concurrency 24] [--no-append]

1. Makes sure the database (`MAKESENSE_LOADTEST_DATABASE_URL`, default the local server's
   `makesense_loadtest`) exists, is migrated and holds the demo network; then adds this run's
   events (small capacities, so registrations race for the last seats), people with tokens
   and an organizer, committed before the load starts.
2. Starts two `makesense-api serve` processes on loopback ports (rate limits off: every
   request comes from one address; the webhook dispatcher off).
3. Drives the mix from one async httpx generator for `--duration` seconds, alternating
   between the processes: public event listings (REST and GraphQL), event pages,
   registrations, organizer check-ins and impact reports.
4. Reports per operation: requests, req/s, p50/p99 latency, 4xx and 5xx; then checks with SQL
   that no event holds more seated registrations than its capacity, nor a counter that
   disagrees with its rows; appends a dated section to BENCHMARKS.md. Exits 1 on any 5xx or
   oversold event.
"""

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import random
import socket
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from makesense_api.authz.principal import Principal
from makesense_api.cli import migrate_database, seed_demo_if_empty
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.events import service as events
from makesense_api.graphql.relay import to_global_id
from makesense_api.kit.db import Database
from makesense_api.people import service as people
from makesense_api.people.schemas import PersonCreate
from makesense_api.tokens import service as tokens
from makesense_api.tokens.models import TokenKind

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/makesense_loadtest"
BENCHMARKS = Path("BENCHMARKS.md")
CHAPTER = "paris"
EVENTS, CAPACITY, PEOPLE = 20, 25, 600
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
SEATED = ("registered", "attended", "no_show")
# operation -> share of the requests
MIX = {
    "rest.events.list": 20,
    "graphql.events.list": 15,
    "rest.events.get": 25,
    "graphql.eventRegister": 20,
    "graphql.registrationCheckIn": 10,
    "rest.impact.report": 10,
}
REGISTER = """mutation($id: ID!) { eventRegister(input: {eventId: $id}) {
  __typename ... on RegistrationPayload { registration { id } } ... on Error { code } } }"""
CHECK_IN = """mutation($id: ID!) { registrationCheckIn(input: {id: $id}) {
  __typename ... on Error { code } } }"""
LIST = """{ events(first: 20) { edges { node { id title startsAt seatsLeft
  hostChapter { slug name } } } } }"""


@dataclass
class Fixture:
    """What this run's load acts on."""

    chapter_id: uuid.UUID
    event_ids: list[uuid.UUID]
    person_tokens: list[str]
    organizer_token: str
    registrations: list[str] = field(default_factory=list)  # global ids, for check-ins
    run_started: datetime = field(default_factory=lambda: datetime.now(UTC))


async def ensure_database(url: str) -> None:
    """Create the database when missing (connecting to the server's `postgres` database)."""
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False), timeout=10)
    try:
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()


async def prepare(url: str) -> Fixture:
    """Migrate, seed the demo network once, and add this run's events, people and tokens."""
    await ensure_database(url)
    settings = Settings(database_url=url)
    await migrate_database(settings)
    await seed_demo_if_empty(settings)
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session:
            ctx = Ctx.of(session, Principal.system())
            by_slug = sa.text("SELECT id FROM chapter WHERE slug = :s")
            chapter_id = (await session.execute(by_slug, {"s": CHAPTER})).scalar_one()
            starts = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
            event_ids = []
            for n in range(EVENTS):
                view = await events.create(ctx, {
                    "chapter_id": chapter_id, "title": f"Load test {starts:%Y-%m-%d} #{n}",
                    "format": "in_person", "venue_name": "La Ruche", "timezone": "Europe/Paris",
                    "language": "fr", "starts_at": starts, "ends_at": starts + timedelta(hours=2),
                    "capacity": CAPACITY, "waitlist_enabled": n % 2 == 0,
                })
                event_ids.append((await events.publish(ctx, view.id)).id)
            person_tokens = []
            for n in range(PEOPLE):
                person = await people.new_person(ctx, PersonCreate(display_name=f"Load {n}"))
                person_tokens.append(await _token(session, person.id, {"registrations:write"}))
            organizer = await people.new_person(ctx, PersonCreate(display_name="Load organizer"))
            await people.set_role(ctx, chapter_id, organizer.id, "organizer")
            organizer_token = await _token(
                session, organizer.id, {"registrations:write", "registrations:read", "events:read"}
            )
            await session.commit()
    finally:
        await database.dispose()
    return Fixture(chapter_id, event_ids, person_tokens, organizer_token)


async def _token(session: object, person_id: uuid.UUID, scopes: set[str]) -> str:
    issued = await tokens.issue(
        session,  # type: ignore[arg-type]
        kind=TokenKind.ACCESS, person_id=person_id, partner_id=None, scopes=scopes, reach=None,
        ttl=timedelta(hours=2),
    )
    return issued.token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def two_processes(url: str, log_dir: Path) -> AsyncIterator[list[str]]:
    """Two `makesense-api serve` processes on loopback, stopped (SIGTERM) at the end."""
    env = {
        **os.environ,
        "MAKESENSE_DATABASE_URL": url,
        "MAKESENSE_LOG_LEVEL": "WARNING",
        "MAKESENSE_RATELIMIT_ENABLED": "false",
        "MAKESENSE_WEBHOOKS_DISPATCHER": "false",
    }
    processes, urls = [], []
    try:
        for _ in range(2):
            port = _free_port()
            log = (log_dir / f"loadtest-{port}.log").open("wb")
            processes.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "makesense_api", "serve", "--host", "127.0.0.1",
                "--port", str(port), env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log,
            ))
            urls.append(f"http://127.0.0.1:{port}")
        await asyncio.gather(*(_ready(u) for u in urls))
        yield urls
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()


async def _ready(base_url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{base_url} did not become ready")


@dataclass
class Stats:
    latencies_ms: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: defaultdict[str, defaultdict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    errors: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))


Op = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def operations(fx: Fixture) -> dict[str, Op]:
    """One request of each kind, with its arguments drawn at random."""
    tokens = itertools.cycle(fx.person_tokens)
    now = datetime.now(UTC)

    def gql(query: str, token: str | None = None, **variables: object) -> Op:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body = {"query": query, "variables": variables}
        return lambda http: http.post("/graphql", json=body, headers=headers)

    async def register(http: httpx.AsyncClient) -> httpx.Response:
        event = to_global_id("Event", random.choice(fx.event_ids))  # noqa: S311
        response = await gql(REGISTER, next(tokens), id=event)(http)
        with contextlib.suppress(Exception):
            payload = response.json()["data"]["eventRegister"]
            if payload["__typename"] == "RegistrationPayload":
                fx.registrations.append(payload["registration"]["id"])
        return response

    async def check_in(http: httpx.AsyncClient) -> httpx.Response:
        if not fx.registrations:
            return await http.get("/v1/events", params={"limit": 1})
        registration = random.choice(fx.registrations)  # noqa: S311
        return await gql(CHECK_IN, fx.organizer_token, id=registration)(http)

    report = {
        "chapter_id": str(fx.chapter_id), "start": (now - timedelta(days=365)).isoformat(),
        "end": now.isoformat(),
    }
    return {
        "rest.events.list": lambda http: http.get("/v1/events", params={"limit": 20}),
        "graphql.events.list": gql(LIST),
        "rest.events.get": lambda http: http.get(
            f"/v1/events/{random.choice(fx.event_ids)}"  # noqa: S311
        ),
        "graphql.eventRegister": register,
        "graphql.registrationCheckIn": check_in,
        "rest.impact.report": lambda http: http.get("/v1/impact/report", params=report),
    }


async def drive(urls: list[str], fx: Fixture, duration_s: float, concurrency: int) -> Stats:
    """`concurrency` loops, each sending one request at a time until the time is up."""
    stats = Stats()
    ops = operations(fx)
    names, weights = list(MIX), list(MIX.values())
    deadline = time.monotonic() + duration_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = [
        httpx.AsyncClient(base_url=u, timeout=REQUEST_TIMEOUT_S, limits=limits) for u in urls
    ]

    async def loop(n: int) -> None:
        http = clients[n % len(clients)]
        while time.monotonic() < deadline:
            name = random.choices(names, weights)[0]  # noqa: S311
            started = time.perf_counter()
            try:
                response = await ops[name](http)
            except httpx.HTTPError:
                stats.errors[name] += 1
                continue
            stats.latencies_ms[name].append((time.perf_counter() - started) * 1000)
            stats.statuses[name][response.status_code] += 1

    try:
        await asyncio.gather(*(loop(n) for n in range(concurrency)))
    finally:
        for client in clients:
            await client.aclose()
    return stats


async def oversold(url: str) -> tuple[int, int]:
    """(events with more seated registrations than capacity, events whose counter disagrees)."""
    database = Database.from_settings(Settings(database_url=url))
    counts = sa.text(
        "SELECT e.capacity, e.seats_taken, (SELECT count(*) FROM registration r"
        " WHERE r.event_id = e.id AND r.status IN :seated) AS n FROM event e"
    ).bindparams(sa.bindparam("seated", expanding=True))
    try:
        async with database.engine.connect() as conn:
            rows = (await conn.execute(counts, {"seated": list(SEATED)})).all()
    finally:
        await database.dispose()
    over = sum(1 for cap, _, n in rows if cap is not None and n > cap)
    drift = sum(1 for _, taken, n in rows if taken != n)
    return over, drift


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def report(stats: Stats, duration_s: float, concurrency: int, over: int, drift: int) -> str:
    """A Markdown section: the table per operation and the checks."""
    lines = [
        f"## Load test, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"`make loadtest`: two `serve` processes on PostgreSQL (loopback), {concurrency} "
        f"concurrent clients for {duration_s:.0f} s, one async httpx generator on the same "
        f"machine ({os.cpu_count()} vCPUs, Python {platform.python_version()}); rate limits off.",
        "",
        "| operation | requests | req/s | p50 ms | p99 ms | 4xx | 5xx |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    total = fives = 0
    for name in MIX:
        lat = stats.latencies_ms.get(name, [])
        by_status: dict[int, int] = stats.statuses.get(name, {})
        n4 = sum(c for s, c in by_status.items() if 400 <= s < 500)
        n5 = sum(c for s, c in by_status.items() if s >= 500) + stats.errors.get(name, 0)
        total, fives = total + len(lat), fives + n5
        lines.append(
            f"| `{name}` | {len(lat):,} | {len(lat) / duration_s:.1f} | "
            f"{_pct(lat, 0.5):.0f} | {_pct(lat, 0.99):.0f} | {n4} | {n5} |"
        )
    every = [v for values in stats.latencies_ms.values() for v in values]
    lines.append(
        f"| **all** | {total:,} | {total / duration_s:.1f} | {_pct(every, 0.5):.0f} | "
        f"{_pct(every, 0.99):.0f} | | {fives} |"
    )
    mean = statistics.fmean(every) if every else 0.0
    lines += [
        "",
        f"5xx or transport errors: {fives}. Oversold events (seated > capacity): {over}; "
        f"events whose `seats_taken` disagrees with their rows: {drift}. Mean latency "
        f"{mean:.0f} ms. 4xx are expected refusals (`capacity_full` answers are 200 typed "
        "errors; check-ins of a registration already marked are 200 typed errors too).",
        "",
    ]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    url = os.environ.get("MAKESENSE_LOADTEST_DATABASE_URL", DEFAULT_URL)
    print(f"preparing {make_url(url).render_as_string(hide_password=True)} …", flush=True)
    fx = await prepare(url)
    log_dir = Path(os.environ.get("TMPDIR", "/tmp"))  # noqa: S108
    async with two_processes(url, log_dir) as urls:
        print(f"driving {urls} for {args.duration:.0f} s …", flush=True)
        stats = await drive(urls, fx, args.duration, args.concurrency)
    over, drift = await oversold(url)
    section = report(stats, args.duration, args.concurrency, over, drift)
    print(section)
    if not args.no_append:
        await asyncio.to_thread(_append, section)
    failed = over or drift or any(
        s >= 500 for by in stats.statuses.values() for s in by
    ) or any(stats.errors.values())
    return 1 if failed else 0


def _append(section: str) -> None:
    with BENCHMARKS.open("a") as out:
        out.write("\n" + section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (≤ 600)")
    parser.add_argument("--concurrency", type=int, default=24, help="concurrent clients")
    parser.add_argument("--no-append", action="store_true", help="do not write BENCHMARKS.md")
    args = parser.parse_args()
    args.duration = max(1.0, min(args.duration, 600.0))
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
