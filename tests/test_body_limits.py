"""413 before parsing: declared (Content-Length) and streamed (chunked) bodies over the limit,
on the OAuth endpoints (`max_body_bytes`), REST (`rest_max_body_bytes`) and GraphQL
(`graphql_max_body_bytes`)."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from makesense_api.app import create_app
from makesense_api.config import Settings
from makesense_api.kit.db import Database

LIMIT = 2_000
FORM = "application/x-www-form-urlencoded"


@contextlib.asynccontextmanager
async def serve(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    limits = {"max_body_bytes": LIMIT, "rest_max_body_bytes": LIMIT, "graphql_max_body_bytes": LIMIT}
    app = create_app(settings.model_copy(update=limits), database)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def chunks(total: int, size: int = 500) -> AsyncIterator[bytes]:
    """A body without Content-Length (sent chunked), `total` bytes in all."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"a" * piece


ROUTES = [
    ("/oauth/token", FORM, "application/problem+json"),
    ("/oauth/revoke", FORM, "application/problem+json"),
    ("/v1/chapters", "application/json", "application/problem+json"),
    ("/graphql", "application/json", "application/graphql-response+json"),
]


@pytest.mark.parametrize(("path", "media", "answer"), ROUTES)
async def test_declared_length_over_the_limit_is_413(
    settings: Settings, app_database: Database, path: str, media: str, answer: str
) -> None:
    async with serve(settings, app_database) as client:
        response = await client.post(
            path, content=b"a" * (LIMIT + 1), headers={"content-type": media}
        )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith(answer)
    assert str(LIMIT) in response.text


@pytest.mark.parametrize(("path", "media", "answer"), ROUTES)
async def test_streamed_body_over_the_limit_is_413(
    settings: Settings, app_database: Database, path: str, media: str, answer: str
) -> None:
    async with serve(settings, app_database) as client:
        response = await client.post(
            path, content=chunks(LIMIT * 3), headers={"content-type": media}
        )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith(answer)


async def test_bodies_within_the_limit_reach_the_route(
    settings: Settings, app_database: Database
) -> None:
    body: dict[str, Any] = {"grant_type": "client_credentials"}
    async with serve(settings, app_database) as client:
        token = await client.post("/oauth/token", data=body)
        streamed = await client.post(
            "/oauth/token", content=chunks(LIMIT - 10), headers={"content-type": FORM}
        )
    # The route answered (no client authentication), not the body limit.
    assert token.status_code in (400, 401) and token.json()["error"]
    assert streamed.status_code in (400, 401) and streamed.json()["error"]
