"""Prometheus metrics at GET /metrics: requests by route template, GraphQL operations by
bounded name, rate-limit rejections, pool and outbox gauges; multiprocess aggregation."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from makesense_api.config import Settings
from makesense_api.kit.db import Database
from makesense_api.ops import metrics
from tests.factories import Factory
from tests.test_ratelimit import serve


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_requests_are_counted_by_route_template(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    root = await factory.root()
    event = await factory.event(await factory.chapter(root))
    route = "/v1/events/{event_id:uuid}"
    labels = {"method": "GET", "route": route}
    before = value("makesense_http_requests_total", status="200", **labels)
    timed = value("makesense_http_request_duration_seconds_count", **labels)
    assert (await client.get(f"/v1/events/{event.id}")).status_code == 200
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    exposed = samples(response.text)
    key = ("makesense_http_requests_total", tuple(sorted({**labels, "status": "200"}.items())))
    assert exposed[key] == before + 1
    assert value("makesense_http_request_duration_seconds_count", **labels) == timed + 1
    assert not any(str(event.id) in line for line in response.text.splitlines())
    pool = [k for k in exposed if k[0] == "makesense_db_pool_checked_out"]
    assert pool and exposed[pool[0]] >= 0


async def test_graphql_operations_are_counted_by_name_and_outcome(
    client: httpx.AsyncClient,
) -> None:
    ok = value("makesense_graphql_operations_total", operation="Typename", outcome="ok")
    failed = value("makesense_graphql_operations_total", operation="Broken", outcome="error")
    await client.post("/graphql", json={"query": "query Typename { __typename }"})
    await client.post("/graphql", json={"query": "query Broken { nope }"})
    assert value("makesense_graphql_operations_total", operation="Typename", outcome="ok") == ok + 1
    assert (
        value("makesense_graphql_operations_total", operation="Broken", outcome="error")
        == failed + 1
    )


def test_operation_names_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_operations", {f"Known{i}" for i in range(metrics.MAX_OPERATIONS)})
    assert metrics.operation_label("Known1") == "Known1"
    assert metrics.operation_label("Unseen") == "other"
    assert metrics.operation_label(None) == "anonymous"
    monkeypatch.setattr(metrics, "_operations", set())
    assert metrics.operation_label("a b; drop") == "other"
    assert metrics.operation_label("x" * 65) == "other"
    assert metrics.operation_label("Fresh") == "Fresh"


async def test_rate_limit_rejections_are_counted(
    settings: Settings, app_database: Database
) -> None:
    before = value("makesense_ratelimit_rejections_total", budget="ip")
    async with serve(settings, app_database, ratelimit_anonymous="1/minute") as client:
        await client.get("/openapi.json")
        assert (await client.get("/openapi.json")).status_code == 429
        # /metrics is exempt from the limits.
        exposed = samples((await client.get("/metrics")).text)
    assert exposed[("makesense_ratelimit_rejections_total", (("budget", "ip"),))] == before + 1


async def test_outbox_lag_is_measured_at_scrape_time(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    root = await factory.root()
    await factory.event(await factory.chapter(root))  # writes domain events
    exposed = samples((await client.get("/metrics")).text)
    assert exposed[("makesense_outbox_pending_events", ())] >= 1
    assert exposed[("makesense_outbox_lag_seconds", ())] >= 0
    assert ("makesense_webhook_failures_total", (("reason", "timeout"),)) not in exposed


async def test_metrics_are_for_allowed_networks_only(
    settings: Settings, app_database: Database
) -> None:
    async with serve(settings, app_database, "203.0.113.9") as outsider:
        assert (await outsider.get("/metrics")).status_code == 404
    allowed = {"metrics_allowed_networks": ["203.0.113.0/24"]}
    async with serve(settings, app_database, "203.0.113.9", **allowed) as scraper:
        assert (await scraper.get("/metrics")).status_code == 200


WORKER = """
from makesense_api.ops import metrics
metrics.HTTP_REQUESTS.labels("GET", "/livez", "200").inc({n})
metrics.WEBHOOK_FAILURES.labels("timeout").inc()
"""


def test_several_worker_processes_are_aggregated(tmp_path: Path) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", WORKER.format(n=n)], env=env, check=True)  # noqa: S603
    scrape = "from makesense_api.ops import metrics; print(metrics.exposition().decode())"
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", scrape], env=env, check=True, capture_output=True, text=True
    ).stdout
    exposed = samples(out)
    labels = (("method", "GET"), ("route", "/livez"), ("status", "200"))
    assert exposed[("makesense_http_requests_total", labels)] == 5
    assert exposed[("makesense_webhook_failures_total", (("reason", "timeout"),))] == 2
