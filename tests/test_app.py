"""The HTTP shell: probes, request ids, and the per-request transaction."""

from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager

from makesense_api.app import create_app
from makesense_api.config import Settings
from makesense_api.kit.db import Database


async def test_livez_and_readyz_when_migrated(client: httpx.AsyncClient) -> None:
    live = await client.get("/livez")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["database"] == "ok"


async def _probe(settings: Settings, path: str) -> httpx.Response:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get(path)


async def test_readyz_is_503_when_migrations_are_behind(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    response = await _probe(settings, "/readyz")
    assert response.status_code == 503
    assert "migrations not at head" in response.json()["database"]
    assert (await _probe(settings, "/livez")).status_code == 200


async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    response = await _probe(settings, "/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "database unreachable"}


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/livez", headers={"X-Request-ID": "abc123-def456"})
    assert given.headers["x-request-id"] == "abc123-def456"
    made = await client.get("/livez", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 16


async def test_unknown_path_is_404(client: httpx.AsyncClient, app_database: Database) -> None:
    assert (await client.get("/nope")).status_code == 404
