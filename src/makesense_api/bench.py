"""`make bench`: performance measurements against PostgreSQL. A benchmark, never a test.

    python -m makesense_api.bench [--runs N] [--warmup N] [--scale S] [--only NAME ...]

1. The database named by `MAKESENSE_BENCH_DATABASE_URL` (default
   `postgresql+asyncpg://postgres@127.0.0.1:5432/makesense_bench`) is created when missing and
   migrated to the newest revision.
2. The large seed (`seed.large`, with its activity steps) is loaded once; later runs find it
   and skip it. A partial load (an interrupted seed) is refused: drop the database to start over.
3. Each benchmark of `BENCHMARKS` runs `--warmup` times unmeasured, then `--runs` times; the
   table gives min, p50 and p99 in milliseconds (p99 is the slowest run below 100 runs).

Benchmarks, in the order they run (each an `async def measure(database) -> Sample`):

- `impact.network`: the network-wide semester impact report (last two years, detail on);
- `impact.city`: the same report for the city hosting the most events;
- to come, over HTTP against a served app: GraphQL event search, a chapter page with its
  upcoming events, and the impact report through `POST /graphql`, each next to a raw-SQL
  baseline; they go in `BENCHMARKS` as further entries built the same way.
"""

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from makesense_api import bench_graphql, bench_impact
from makesense_api.config import Settings
from makesense_api.kit.db import Database
from makesense_api.models import metadata

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/makesense_bench"
COUNTED = ("chapter", "person", "project", "event", "registration", "enrolment")


@dataclass(frozen=True)
class Sample:
    """One measured call: milliseconds, and a short note on what it returned."""

    ms: float
    note: str


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    prepare: Callable[[Database], Awaitable[Callable[[], Awaitable[Sample]]]]


# -- benchmarks ----------------------------------------------------------------------------


def _impact(
    pick: Callable[[Database], Awaitable[bench_impact.Subject]],
) -> Callable[[Database], Awaitable[Callable[[], Awaitable[Sample]]]]:
    async def prepare(database: Database) -> Callable[[], Awaitable[Sample]]:
        subject = await pick(database)

        async def measure() -> Sample:
            ms, report = await bench_impact.report_once(database, subject)
            people = sum(p.mobilised for p in report.periods)
            return Sample(ms, f"{subject.label}: {len(report.periods)} semesters, "
                              f"{people:,} mobilised in all")

        return measure

    return prepare


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("impact.network", "network-wide semester impact report, 2 years, detail",
              _impact(bench_impact.network)),
    Benchmark("impact.city", "city semester impact report, 2 years, detail",
              _impact(bench_impact.busiest_city)),
    # GraphQL over HTTP benchmarks go here (see the module docstring).
)


# -- the database --------------------------------------------------------------------------


async def ensure_database(url: str) -> None:
    """Create the database named by `url` when the server does not have it."""
    target = make_url(url)
    name = target.database
    if not name:
        raise SystemExit("the benchmark URL names no database")
    admin = create_async_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with admin.connect() as conn:
            found = (await conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )).first()
            if found is None:
                print(f"creating database {name}")
                await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


async def counts(database: Database) -> dict[str, int]:
    """Rows in the main tables."""
    async with database.engine.connect() as conn:
        return {
            name: int((await conn.execute(
                sa.select(sa.func.count()).select_from(metadata.tables[name])
            )).scalar_one())
            for name in COUNTED
        }


async def prepare(url: str, scale: float) -> dict[str, int]:
    """Create, migrate and seed the benchmark database once; the row counts it holds."""
    from makesense_api.cli import migrate_database, seed_large_data

    await ensure_database(url)
    settings = Settings(database_url=url)
    await migrate_database(settings)
    database = Database.from_settings(settings)
    try:
        found = await counts(database)
    finally:
        await database.dispose()
    if found["chapter"] and not found["registration"]:
        raise SystemExit(f"{make_url(url).database} holds a partial seed; drop it and rerun")
    if not found["chapter"]:
        print(f"loading the large seed (scale {scale}) once; later runs reuse it")
        began = time.perf_counter()
        await seed_large_data(settings, scale)
        print(f"large seed loaded in {time.perf_counter() - began:.0f} s")
        database = Database.from_settings(settings)
        try:
            async with database.engine.connect() as conn:
                await conn.execute(sa.text("ANALYZE"))
                await conn.commit()
            found = await counts(database)
        finally:
            await database.dispose()
    return found


# -- running -------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


async def run(url: str, scale: float, runs: int, warmup: int, only: set[str]) -> None:
    found = await prepare(url, scale)
    print("data: " + ", ".join(f"{n:,} {t}" for t, n in found.items()))
    database = Database.from_settings(Settings(database_url=url))
    try:
        print(f"{'benchmark':<16} {'runs':>5} {'min ms':>9} {'p50 ms':>9} {'p99 ms':>9}  result")
        for bench in BENCHMARKS:
            if only and bench.name not in only:
                continue
            measure = await bench.prepare(database)
            for _ in range(warmup):
                await measure()
            samples = [await measure() for _ in range(runs)]
            times = [s.ms for s in samples]
            print(
                f"{bench.name:<16} {runs:>5} {min(times):>9.1f} {statistics.median(times):>9.1f}"
                f" {percentile(times, 99):>9.1f}  {samples[-1].note}"
            )
    finally:
        await database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m makesense_api.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="measured runs per benchmark")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured runs first")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="large seed scale, used only when the database is empty")
    parser.add_argument("--only", nargs="*", default=[], help="benchmark names to run")
    args = parser.parse_args(argv)
    url = os.environ.get("MAKESENSE_BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgresql"):
        print("bench: MAKESENSE_BENCH_DATABASE_URL must name a PostgreSQL database")
        return 2
    asyncio.run(run(url, args.scale, max(1, args.runs), max(0, args.warmup), set(args.only)))
    bench_graphql.after_bench(url, set(args.only))  # GraphQL vs raw over HTTP (bench_graphql.py)
    return 0


if __name__ == "__main__":
    sys.exit(main())
