"""GraphQL over HTTP: media types, status codes, persisted queries, caching, error masking.

Most tests go through the real app (`client`). Those that need resolvers the API does not have
(one that raises, one that reports the transaction's write intent) use a small schema served
by the same view and middleware (`graphql_app`).
"""

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from asgi_lifespan import LifespanManager
from graphql import get_introspection_query
from sqlalchemy import event, literal, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from strawberry.extensions import SchemaExtension

from makesense_api.config import Settings
from makesense_api.graphql.apq import LruQueryStore
from makesense_api.graphql.context import Info
from makesense_api.graphql.view import GraphQLView
from makesense_api.kit.db import Database, write_intent
from makesense_api.kit.errors import NotFound, ValidationFailed
from makesense_api.kit.middleware import DatabaseSession, RequestContext

GQL = "application/graphql-response+json"
JSON = "application/json"
TYPENAME = {"query": "{ __typename }"}
SECRET = "the password is hunter2"

# -- a small schema for behaviours the API's own schema cannot show -------------------------


async def touch_database(info: Info) -> None:
    # Sibling resolvers run concurrently, and a session serves one statement at a time.
    lock = info.context.loaders.setdefault("database", asyncio.Lock())
    async with lock:
        await info.context.ctx.session.exec(select(literal(1)))  # type: ignore[call-overload]


@strawberry.type
class Item:
    id: int

    @strawberry.field
    async def children(
        self, info: Info, first: int | None = None, last: int | None = None
    ) -> list["Item"]:
        await touch_database(info)
        return [Item(id=self.id * 10 + i) for i in range(min(first or 2, 3))]

    @strawberry.field
    def parent(self) -> "Item":
        return Item(id=self.id // 10)


@strawberry.type
class Query:
    @strawberry.field
    async def items(
        self, info: Info, first: int | None = None, last: int | None = None
    ) -> list[Item]:
        await touch_database(info)
        return [Item(id=i) for i in range(min(first or 2, 3))]

    @strawberry.field
    def boom(self) -> str | None:
        raise RuntimeError(SECRET)

    @strawberry.field
    def missing(self) -> str | None:
        raise NotFound("event", "42")

    @strawberry.field
    def invalid(self) -> str | None:
        raise ValidationFailed.on("title", "too long")

    @strawberry.field
    def writes(self) -> bool:
        return write_intent.get()


@strawberry.type
class Mutation:
    @strawberry.mutation
    def writes(self) -> bool:
        return write_intent.get()

    @strawberry.mutation
    async def touch(self, info: Info) -> bool:
        await touch_database(info)
        return True


def build_test_schema() -> strawberry.Schema:
    return strawberry.Schema(query=Query, mutation=Mutation)


def graphql_app(
    settings: Settings, database: Database | None = None, schema: strawberry.Schema | None = None
) -> Starlette:
    """The app's GraphQL wiring (view, request id, per-request transaction) around any schema."""

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        db = database or Database.from_settings(settings)
        try:
            yield {"database": db, "settings": settings}
        finally:
            if database is None:
                await db.dispose()

    view = GraphQLView(schema or build_test_schema(), settings)
    return Starlette(
        routes=[Route("/graphql", view), WebSocketRoute("/graphql", view)],
        middleware=[Middleware(RequestContext), Middleware(DatabaseSession)],
        lifespan=lifespan,
    )


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


Serve = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


def opener(settings: Settings, database: Database) -> Serve:
    """`async with open_app(**settings_overrides) as client:` the small schema, in `database`."""

    def open_app(**overrides: Any) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        return serve(graphql_app(settings.model_copy(update=overrides), database))

    return open_app


@pytest.fixture
def test_app(settings: Settings, app_database: Database) -> Serve:
    return opener(settings, app_database)


def post(client: httpx.AsyncClient, body: object, accept: str | None = None) -> Any:
    headers = {"accept": accept} if accept else {}
    return client.post("/graphql", json=body, headers=headers)


# -- media types and status codes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, GQL),
        ("*/*", GQL),
        ("application/*", GQL),
        (GQL, GQL),
        (JSON, JSON),
        (f"{GQL}, {JSON};q=0.9", GQL),
        (f"{JSON}, {GQL};q=0.5", JSON),
        (f"{JSON}; charset=utf-8", JSON),
        ("text/html, */*;q=0.1", GQL),
    ],
)
async def test_accept_negotiation(
    client: httpx.AsyncClient, accept: str | None, expected: str
) -> None:
    response = await post(client, TYPENAME, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"
    assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize(
    "accept", ["text/html", "application/xml", f"{JSON}; charset=latin-1", f"{GQL};q=0"]
)
async def test_unacceptable_accept_is_406(client: httpx.AsyncClient, accept: str) -> None:
    response = await post(client, TYPENAME, accept)
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/graphql",
        f"{JSON}; charset=latin-1",
    ],
)
async def test_post_requires_json_content_type(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/graphql", content=json.dumps(TYPENAME), headers=headers)
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_json_with_utf8_charset_is_accepted(client: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json; charset=UTF-8"}
    response = await client.post("/graphql", content=json.dumps(TYPENAME), headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'[{"query": "{ __typename }"}]', "must be a JSON object"),
        (b'"{ __typename }"', "must be a JSON object"),
        (b'{"query": 1}', "`query` parameter must be a string"),
        (
            b'{"query": "{ __typename }", "variables": []}',
            "`variables` parameter must be an object",
        ),
        (b'{"query": "{ __typename }", "operationName": 3}', "`operationName` parameter"),
        (b'{"query": "{ __typename }", "extensions": "x"}', "`extensions` parameter"),
        (b"{}", "no `query`"),
        (
            b'{"query": "query A { __typename }", "operationName": "B"}',
            'Unknown operation named "B"',
        ),
    ],
)
@pytest.mark.parametrize("accept", [GQL, JSON])
async def test_malformed_requests_are_400(
    client: httpx.AsyncClient, body: bytes, message: str, accept: str
) -> None:
    headers = {"content-type": JSON, "accept": accept}
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(accept)
    assert message in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("query", ["{ __typename ", "{ noSuchField }"])
async def test_unexecutable_documents_are_400_without_data(
    client: httpx.AsyncClient, query: str
) -> None:
    response = await post(client, {"query": query})
    assert response.status_code == 400
    assert response.headers["content-type"] == f"{GQL}; charset=utf-8"
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["locations"]


@pytest.mark.parametrize("query", ["{ __typename ", "{ noSuchField }"])
async def test_unexecutable_documents_are_200_under_application_json(
    client: httpx.AsyncClient, query: str
) -> None:
    response = await post(client, {"query": query}, JSON)
    assert response.status_code == 200
    assert "data" not in response.json()
    assert response.json()["errors"]


async def test_variable_coercion_failure_is_a_request_error(test_app: Serve) -> None:
    query = "query($n: Int) { items(first: $n) { id } }"
    async with test_app() as client:
        refused = await post(client, {"query": query, "variables": {"n": "many"}})
        lenient = await post(client, {"query": query, "variables": {"n": "many"}}, JSON)
    assert refused.status_code == 400 and "data" not in refused.json()
    assert "$n" in refused.json()["errors"][0]["message"]
    assert lenient.status_code == 200 and "data" not in lenient.json()


async def test_queries_over_get(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={
            "query": "query Q($x: Boolean!) { __typename @include(if: $x) }",
            "variables": json.dumps({"x": True}),
            "operationName": "Q",
        },
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


async def test_mutations_over_get_are_405(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "mutation { __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    # The same mutation over POST runs.
    assert (await post(client, {"query": "mutation { __typename }"})).status_code == 200


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
async def test_other_methods_are_405(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/graphql")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_subscriptions_are_not_served_over_http(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "subscription { __typename }"})
    assert response.status_code == 400
    assert "WebSocket" in response.json()["errors"][0]["message"]


async def test_oversized_bodies_are_413(test_app: Serve) -> None:
    async with test_app(graphql_max_body_bytes=1_000) as client:
        response = await post(client, {"query": "{ __typename }", "pad": "x" * 2_000})
    assert response.status_code == 413


async def test_every_answer_varies_and_is_not_stored(client: httpx.AsyncClient) -> None:
    for response in (
        await post(client, TYPENAME),
        await post(client, {"query": "{ nope }"}),
        await client.put("/graphql"),
        await post(client, TYPENAME, "text/html"),
    ):
        assert response.headers["vary"] == "Accept, Accept-Language, Authorization"
        assert response.headers["cache-control"] == "no-store"


async def test_field_errors_keep_partial_data_with_200(test_app: Serve) -> None:
    async with test_app() as client:
        response = await post(client, {"query": "{ boom writes }"})
    assert response.status_code == 200
    assert response.json()["data"] == {"boom": None, "writes": False}


# -- write intent -----------------------------------------------------------------------------


async def test_write_intent_follows_the_operation_type(test_app: Serve) -> None:
    async with test_app() as client:
        query = await post(client, {"query": "{ writes }"})
        mutation = await post(client, {"query": "mutation { writes }"})
        get = await client.get("/graphql", params={"query": "{ writes }"})
    assert query.json()["data"] == {"writes": False}
    assert mutation.json()["data"] == {"writes": True}
    assert get.json()["data"] == {"writes": False}


async def test_sqlite_begins_deferred_for_queries_and_immediate_for_mutations(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/intent.db")
    database = Database.from_settings(settings)
    begins: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with serve(graphql_app(settings, database)) as client:
            await post(client, {"query": "{ items { id } }"})
            await post(client, {"query": "mutation { touch }"})
            await client.get("/graphql", params={"query": "{ items { id } }"})
    finally:
        await database.dispose()
    assert begins == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN"]


# -- GraphiQL, introspection, suggestions ---------------------------------------------------


async def test_graphiql_is_off_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 406
    assert not response.headers["content-type"].startswith("text/html")


async def test_graphiql_when_enabled(test_app: Serve) -> None:
    async with test_app(graphiql=True) as client:
        response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_introspection_is_on_by_default_within_the_limits(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": get_introspection_query(descriptions=True)})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_introspection_can_be_turned_off(test_app: Serve) -> None:
    async with test_app(graphql_introspection=False) as client:
        schema = await post(client, {"query": "{ __schema { queryType { name } } }"})
        type_ = await post(client, {"query": '{ __type(name: "Query") { name } }'})
        typename = await post(client, TYPENAME)
    for refused in (schema, type_):
        assert refused.status_code == 400
        assert "introspection has been disabled" in refused.json()["errors"][0]["message"]
    assert typename.status_code == 200


async def test_field_suggestions_are_off_in_production(
    settings: Settings, app_database: Database
) -> None:
    from makesense_api.app import create_app

    query = {"query": "{ chapterz { totalCount } }"}
    for environment, suggests in (("development", True), ("production", False)):
        app = create_app(settings.model_copy(update={"environment": environment}), app_database)
        async with serve(app) as client:
            response = await post(client, query)
        assert response.status_code == 400
        assert ("Did you mean" in response.json()["errors"][0]["message"]) is suggests


# -- error masking ----------------------------------------------------------------------------


async def test_unexpected_errors_are_masked_and_logged_once(
    test_app: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with test_app() as client:
        response = await post(client, {"query": "{ boom }"})
    assert response.status_code == 200
    assert SECRET not in response.text and "Traceback" not in response.text
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error"
    assert error["path"] == ["boom"]
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "request_id": response.headers["x-request-id"],
    }
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[1] is not None]
    assert len(logged) == 1
    assert logged[0].name == "makesense_api.graphql"
    assert str(logged[0].exc_info[1]) == SECRET  # type: ignore[index]
    assert not [r for r in caplog.records if r.name.startswith("strawberry")]


class Exploding(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        raise RuntimeError(SECRET)
        yield


async def test_failures_before_execution_are_masked_500s(
    settings: Settings, app_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    schema = strawberry.Schema(query=Query, extensions=[Exploding])
    async with serve(graphql_app(settings, app_database, schema)) as client:
        response = await post(client, {"query": "{ writes }"})
    assert response.status_code == 500
    assert SECRET not in response.text
    assert response.json() == {
        "errors": [
            {
                "message": "Internal server error",
                "extensions": {
                    "code": "INTERNAL_SERVER_ERROR",
                    "request_id": response.headers["x-request-id"],
                },
            }
        ]
    }
    assert len([r for r in caplog.records if r.exc_info]) == 1


async def test_failures_outside_the_operation_are_masked_500s(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    view = GraphQLView(build_test_schema(), settings)
    # Without the transaction middleware the request has no session to build a context from.
    app = Starlette(routes=[Route("/graphql", view)], middleware=[Middleware(RequestContext)])
    async with serve(app) as client:
        response = await post(client, TYPENAME)
    assert response.status_code == 500
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["request_id"] == response.headers["x-request-id"]
    assert "session" not in response.text
    assert len([r for r in caplog.records if r.exc_info]) == 1


async def test_domain_errors_of_queries_keep_their_code(test_app: Serve) -> None:
    async with test_app() as client:
        response = await post(client, {"query": "{ missing invalid }"})
    assert response.status_code == 200
    errors = {e["path"][0]: e for e in response.json()["errors"]}
    assert errors["missing"]["message"] == "event 42 not found"
    assert errors["missing"]["extensions"] == {"code": "not_found"}
    assert errors["invalid"]["extensions"] == {
        "code": "validation_failed",
        "fields": [{"field": "title", "message": "too long"}],
    }


# -- automatic persisted queries ------------------------------------------------------------

QUERY = "{ __typename }"
SHA = hashlib.sha256(QUERY.encode()).hexdigest()


def persisted(sha256: str = SHA) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def get_persisted(client: httpx.AsyncClient, sha256: str = SHA, **headers: str) -> Any:
    params = {"extensions": json.dumps(persisted(sha256))}
    return client.get("/graphql", params=params, headers=headers)


@pytest.mark.parametrize("accept", [GQL, JSON])
async def test_unknown_hash_is_persisted_query_not_found(
    client: httpx.AsyncClient, accept: str
) -> None:
    response = await get_persisted(client, accept=accept)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }


async def test_register_then_hit_by_get_is_publicly_cacheable(client: httpx.AsyncClient) -> None:
    registered = await post(client, {"query": QUERY, "extensions": persisted()})
    assert registered.status_code == 200
    assert registered.headers["cache-control"] == "no-store"
    hit = await get_persisted(client)
    assert hit.status_code == 200
    assert hit.json()["data"] == {"__typename": "Query"}
    assert hit.headers["cache-control"] == "public, max-age=300"
    assert hit.headers["vary"] == "Accept, Accept-Language, Authorization"
    # Hash only over POST runs too, but POST answers are not shared.
    by_post = await post(client, {"extensions": persisted()})
    assert by_post.json()["data"] == {"__typename": "Query"}
    assert by_post.headers["cache-control"] == "no-store"


async def test_persisted_answers_with_credentials_are_not_shared(client: httpx.AsyncClient) -> None:
    await post(client, {"query": QUERY, "extensions": persisted()})
    # A scheme the bearer middleware leaves alone: the caller stays anonymous, yet sent
    # credentials, so nothing may be stored by a shared cache.
    hit = await get_persisted(client, authorization="Basic Zm9vOmJhcg==")
    assert hit.status_code == 200 and hit.json()["data"]
    assert hit.headers["cache-control"] == "no-store"


async def test_persisted_answers_with_errors_are_not_shared(test_app: Serve) -> None:
    query = "{ boom }"
    sha = hashlib.sha256(query.encode()).hexdigest()
    async with test_app() as client:
        await post(client, {"query": query, "extensions": persisted(sha)})
        hit = await get_persisted(client, sha)
    assert hit.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert hit.headers["cache-control"] == "no-store"


async def test_sha_mismatch_is_400(client: httpx.AsyncClient) -> None:
    response = await post(client, {"query": "{ __typename }", "extensions": persisted("0" * 64)})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "provided sha does not match query"
    assert (await get_persisted(client, "0" * 64)).json()["errors"][0]["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


@pytest.mark.parametrize(
    "extension",
    [{"version": 2, "sha256Hash": SHA}, {"version": 1, "sha256Hash": "abc"}, {"version": 1}, "x"],
)
async def test_malformed_persisted_query_extension_is_400(
    client: httpx.AsyncClient, extension: object
) -> None:
    body = {"query": QUERY, "extensions": {"persistedQuery": extension}}
    assert (await post(client, body)).status_code == 400


async def test_invalid_documents_are_not_persisted(client: httpx.AsyncClient) -> None:
    query = "{ noSuchField }"
    sha = hashlib.sha256(query.encode()).hexdigest()
    assert (await post(client, {"query": query, "extensions": persisted(sha)})).status_code == 400
    miss = await get_persisted(client, sha)
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_persisted_queries_can_be_turned_off(test_app: Serve) -> None:
    async with test_app(graphql_apq=False) as client:
        response = await post(client, {"query": QUERY, "extensions": persisted()})
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"


async def test_the_query_store_is_a_bounded_lru() -> None:
    store = LruQueryStore(max_entries=2, max_chars=10)
    await store.put("a", "1111")
    await store.put("b", "2222")
    assert await store.get("a") == "1111"  # now the most recently used
    await store.put("c", "3333")
    assert await store.get("b") is None and await store.get("a") == "1111"
    await store.put("d", "x" * 11)  # larger than the whole store: not kept
    assert await store.get("d") is None and len(store) == 2


# -- WebSocket --------------------------------------------------------------------------------


class WebSocketClient:
    """Drive one WebSocket connection through the ASGI app, in the test's event loop."""

    def __init__(self, app: Any, subprotocols: list[str]) -> None:
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "subprotocols": subprotocols,
        }
        self.task = asyncio.create_task(app(scope, self.to_app.get, self.from_app.put))

    async def receive(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.from_app.get(), 5)

    async def connect(self) -> dict[str, Any]:
        await self.to_app.put({"type": "websocket.connect"})
        return await self.receive()

    async def send_json(self, data: object) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(data)})

    async def receive_json(self) -> Any:
        message = await self.receive()
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def disconnect(self) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, 5)


async def test_websocket_speaks_graphql_transport_ws(
    settings: Settings, app_database: Database
) -> None:
    async with LifespanManager(graphql_app(settings, app_database)) as manager:
        ws = WebSocketClient(manager.app, ["graphql-transport-ws"])
        assert await ws.connect() == {
            "type": "websocket.accept",
            "subprotocol": "graphql-transport-ws",
            "headers": [],
        }
        await ws.send_json({"type": "connection_init"})
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": "{ boom writes items { id } }"}}
        )
        message = await ws.receive_json()
        assert message["type"] == "next"
        assert message["payload"]["data"] == {
            "boom": None,
            "writes": False,
            "items": [{"id": 0}, {"id": 1}],
        }
        [error] = message["payload"]["errors"]
        assert error["message"] == "Internal server error"
        assert error["extensions"]["request_id"]
        assert SECRET not in json.dumps(message)
        assert await ws.receive_json() == {"id": "1", "type": "complete"}
        await ws.disconnect()


async def test_websocket_refuses_the_legacy_subprotocol(
    settings: Settings, app_database: Database
) -> None:
    async with LifespanManager(graphql_app(settings, app_database)) as manager:
        ws = WebSocketClient(manager.app, ["graphql-ws"])
        assert (await ws.connect())["type"] == "websocket.accept"
        closed = await ws.receive()
        assert closed["type"] == "websocket.close" and closed["code"] == 4406
        await ws.disconnect()
