"""Prometheus metrics (prometheus-client), served at `GET /metrics`.

    makesense_http_requests_total{method,route,status}            requests answered
    makesense_http_request_duration_seconds{method,route}         latency histogram
    makesense_graphql_operations_total{operation,outcome}         GraphQL operations (ok, error,
                                                                  refused)
    makesense_graphql_operation_duration_seconds{operation}       their latency
    makesense_ratelimit_rejections_total{budget}                  429s by budget (client, ip,
                                                                  chapter)
    makesense_db_pool_checked_out{process}                        connections in use
    makesense_db_pool_size{process}                               connections the pool keeps
    makesense_outbox_pending_events                               domain events not yet fanned out
    makesense_outbox_lag_seconds                                  age of the oldest of them
    makesense_webhook_failures_total{reason}                      failed webhook deliveries

Labels are bounded: `route` is the route template (`/v1/events/{event_id}`; `unmatched` when
no route matched), `operation` a GraphQL operation name among the first MAX_OPERATIONS seen
by the process (`anonymous` without a name, `other` past the cap or when malformed).

Several worker processes: set `PROMETHEUS_MULTIPROC_DIR` to an empty directory shared by the
workers (`serve` empties it at start); each process writes its samples there and `/metrics`
aggregates them, so any worker answers for all. Only clients in `metrics_allowed_networks`
(loopback by default) may read `/metrics`; others get 404.
"""

import ipaddress
import logging
import os
import re
import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from makesense_api.kit.clock import as_utc, utcnow
from makesense_api.kit.db import Database, write_intent
from makesense_api.kit.models import DomainEvent

log = logging.getLogger(__name__)

MAX_OPERATIONS = 200
_OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_REQUESTS = Counter(
    "makesense_http_requests", "HTTP requests answered.", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "makesense_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
GRAPHQL_OPERATIONS = Counter(
    "makesense_graphql_operations", "GraphQL operations by outcome.", ["operation", "outcome"]
)
GRAPHQL_DURATION = Histogram(
    "makesense_graphql_operation_duration_seconds",
    "Time to answer a GraphQL operation.",
    ["operation"],
    buckets=_LATENCY_BUCKETS,
)
RATELIMIT_REJECTIONS = Counter(
    "makesense_ratelimit_rejections", "Requests refused by a rate limit.", ["budget"]
)
DB_POOL_CHECKED_OUT = Gauge(
    "makesense_db_pool_checked_out",
    "Database connections in use.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "makesense_db_pool_size", "Database connections kept by the pool.", multiprocess_mode="livesum"
)
OUTBOX_PENDING = Gauge(
    "makesense_outbox_pending_events",
    "Domain events not yet fanned out to webhooks (counted up to OUTBOX_COUNT_CAP).",
    multiprocess_mode="mostrecent",
)
OUTBOX_LAG = Gauge(
    "makesense_outbox_lag_seconds",
    "Age of the oldest domain event not yet fanned out to webhooks (0 when none).",
    multiprocess_mode="mostrecent",
)
WEBHOOK_FAILURES = Counter(
    "makesense_webhook_failures",
    "Webhook delivery attempts that failed (reason: timeout, connection, status, refused).",
    ["reason"],
)

OUTBOX_COUNT_CAP = 100_000
_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    """A bounded label for a client-chosen GraphQL operation name."""
    if not name:
        return "anonymous"
    if name in _operations:
        return name
    if not _OPERATION_NAME.fullmatch(name) or len(_operations) >= MAX_OPERATIONS:
        return "other"
    _operations.add(name)
    return name


def route_label(scope: Scope) -> str:
    """The template of the route that answered (`unmatched` when none did)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return "unmatched"
    return f"{scope.get('root_path', '')}{path}" or "/"


def observe_graphql(operation: str | None, outcome: str, seconds: float) -> None:
    label = operation_label(operation)
    GRAPHQL_OPERATIONS.labels(label, outcome).inc()
    GRAPHQL_DURATION.labels(label).observe(seconds)


def observe_pool(database: Database | None) -> None:
    pool: Any = getattr(getattr(database, "engine", None), "pool", None)
    if pool is None or not hasattr(pool, "checkedout"):
        return
    DB_POOL_CHECKED_OUT.set(pool.checkedout())
    DB_POOL_SIZE.set(pool.size())


class Metrics:
    """Count and time every HTTP request by route template, method and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = route_label(scope)
            if route != "/metrics":
                method = scope["method"] if scope["method"] in _METHODS else "other"
                HTTP_REQUESTS.labels(method, route, str(status)).inc()
                HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
                observe_pool(scope.get("state", {}).get("database"))


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


async def _observe_outbox(database: Database) -> None:
    """Count pending domain events at scrape time: one query on a partial index."""
    pending = (
        select(DomainEvent.created_at)
        .where(col(DomainEvent.webhooks_at).is_(None))
        .limit(OUTBOX_COUNT_CAP)
        .subquery()
    )
    stmt = select(sa.func.count(), sa.func.min(pending.c.created_at))
    token = write_intent.set(False)
    try:
        async with database.sessionmaker() as session:
            count, oldest = (await session.exec(stmt)).one()
    except Exception:
        log.warning("could not measure the outbox", exc_info=True)
        return
    finally:
        write_intent.reset(token)
    OUTBOX_PENDING.set(count)
    OUTBOX_LAG.set(_age(oldest))


def _age(oldest: Any) -> float:
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):  # SQLite returns the text it stored
        oldest = datetime.fromisoformat(oldest)
    return max(0.0, (utcnow() - as_utc(oldest)).total_seconds())


def allowed(client: str | None, networks: list[str]) -> bool:
    if client is None:
        return False
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


def exposition() -> bytes:
    """The samples of this process, or of every worker in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


async def endpoint(request: Request) -> Response:
    """GET /metrics: Prometheus text exposition, for allowed networks only."""
    settings = request.state.settings
    client = request.client.host if request.client else None
    if not allowed(client, settings.metrics_allowed_networks):
        return Response(status_code=404)
    database: Database = request.state.database
    observe_pool(database)
    await _observe_outbox(database)
    return Response(exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
