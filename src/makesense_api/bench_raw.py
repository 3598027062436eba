"""The raw baseline of the GraphQL throughput benchmark (`bench_graphql`): the smallest honest
server for the same question, to tell what the API's layers cost on top of the database.

    POST /events  {"country": "FR", "first": 50}

answers the same data as

    events(filter: {country: "FR"}, first: 50) {
      edges { node { title startsAt hostChapter { name city } seatsTaken } } }

for an anonymous caller, in the same JSON shape: one asyncpg pool, one hand-written statement
applying the same visibility rules (events: announced and public; host chapters: not closed),
start times in the event's own zone, orjson. No authentication, sessions, logging or GraphQL.

Serve it with `uvicorn --factory makesense_api.bench_raw:app_from_env`; the DSN comes from
`MAKESENSE_BENCH_RAW_DSN` (a plain `postgresql://` URL), the pool size from
`MAKESENSE_BENCH_RAW_POOL` (default 10, the API's `db_pool_size`).
"""

import contextlib
import os
from collections.abc import AsyncIterator
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg  # type: ignore[import-untyped]
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# Anonymous visibility, as `events.access.visible_clause` and `chapters.service.visible_clause`
# build it for a caller without a token: events that are announced (not drafts) and public,
# host chapters that are not closed (a closed host reads as null, the event stays listed).
# The filter is the API's default: published, starting from now on, in one country.
UPCOMING_IN_COUNTRY = """
SELECT e.title, e.starts_at, e.timezone, e.seats_taken, c.name, c.city, c.id IS NOT NULL
FROM event AS e
LEFT JOIN chapter AS c ON c.id = e.chapter_id AND c.status <> 'closed'
WHERE e.status <> 'draft' AND e.visibility = 'public'
  AND e.country_code = $1 AND e.starts_at >= now() AND e.status = 'published'
ORDER BY e.starts_at, e.id
LIMIT $2
"""


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local(at: datetime, zone: str) -> str:
    return at.astimezone(_zone(zone)).isoformat()


def _node(row: asyncpg.Record) -> dict[str, Any]:
    title, starts_at, zone, seats_taken, name, city, has_host = row
    return {
        "title": title,
        "startsAt": _local(starts_at, zone),
        "hostChapter": {"name": name, "city": city} if has_host else None,
        "seatsTaken": seats_taken,
    }


def create_app(dsn: str, pool_size: int = 10) -> Starlette:
    pool: asyncpg.Pool | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        try:
            yield
        finally:
            await pool.close()

    async def events(request: Request) -> Response:
        params = orjson.loads(await request.body())
        country = str(params.get("country", "FR")).upper()
        first = min(max(int(params.get("first", 20)), 1), 100)
        assert pool is not None
        rows = await pool.fetch(UPCOMING_IN_COUNTRY, country, first)
        body = {"data": {"events": {"edges": [{"node": _node(r)} for r in rows]}}}
        return Response(orjson.dumps(body), media_type="application/json")

    return Starlette(routes=[Route("/events", events, methods=["POST"])], lifespan=lifespan)


def app_from_env() -> Starlette:
    dsn = os.environ["MAKESENSE_BENCH_RAW_DSN"]
    return create_app(dsn, int(os.environ.get("MAKESENSE_BENCH_RAW_POOL", "10")))
