"""Bearer authentication over HTTP and WebSocket: the principal, refusals, and recorded use."""

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from makesense_api.app import create_app
from makesense_api.authn import BearerAuthentication, MalformedAuthorization, bearer_token
from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database
from makesense_api.tokens import service as tokens
from makesense_api.tokens.models import AccessToken, TokenKind
from tests.factories import Factory

Tree = dict[str, ChapterView]


async def echo_principal(request: Request) -> JSONResponse:
    principal: Principal = request.state.principal
    return JSONResponse(
        {
            "person_id": str(principal.person_id) if principal.person_id else None,
            "partner_id": str(principal.partner_id) if principal.partner_id else None,
            "client_id": principal.client_id,
            "scopes": sorted(principal.scopes),
            "reach": None if principal.reach is None else sorted(map(str, principal.reach)),
            "anonymous": principal.is_anonymous,
        }
    )


@pytest.fixture
async def http(settings: Settings, app_database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The product app plus one test-only route that echoes the request's principal."""
    app = create_app(settings, app_database)
    app.router.routes.append(Route("/principal", echo_principal, methods=["GET", "POST"]))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


@pytest.fixture
async def person(factory: Factory, tree: Tree) -> uuid.UUID:
    return await factory.member(tree["paris"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response: httpx.Response, status: int, error: str, token: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer error="{error}", error_description="')
    body = response.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    if token:
        assert token not in response.text and token not in challenge


async def last_used(session: AsyncSession, token: str) -> Any:
    stmt = select(AccessToken.last_used_at).where(
        AccessToken.token_hash == tokens.hash_token(token)
    )
    return (await session.exec(stmt)).one()


# -- the header ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], None),
        ([(b"authorization", b"Bearer abc.DEF-_~+/=")], "abc.DEF-_~+/="),
        ([(b"authorization", b"bearer abc")], "abc"),
        ([(b"authorization", b"BEARER  abc ")], "abc"),
        ([(b"authorization", b"Basic dXNlcjpwYXNz")], None),
        ([(b"x-other", b"Bearer abc")], None),
    ],
)
def test_bearer_token_is_read_from_one_authorization_header(
    headers: list[tuple[bytes, bytes]], expected: str | None
) -> None:
    assert bearer_token(headers) == expected


@pytest.mark.parametrize(
    "headers",
    [
        [(b"authorization", b"Bearer")],
        [(b"authorization", b"Bearer ")],
        [(b"authorization", b"Bearer a b")],
        [(b"authorization", b"Bearer a,b")],
        [(b"authorization", b"Bearer =abc")],
        [(b"authorization", "Bearer jeton-é".encode())],
        [(b"authorization", b"Bearer a"), (b"authorization", b"Bearer b")],
    ],
)
def test_malformed_authorization_headers(headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(MalformedAuthorization):
        bearer_token(headers)


# -- HTTP ---------------------------------------------------------------------------------


async def test_without_a_token_the_caller_is_anonymous(http: httpx.AsyncClient) -> None:
    response = await http.get("/principal")
    assert response.status_code == 200 and response.json()["anonymous"] is True
    basic = await http.get("/principal", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 200 and basic.json()["anonymous"] is True
    assert (await http.get("/livez")).status_code == 200


async def test_a_person_token_sets_the_principal(
    http: httpx.AsyncClient, session: AsyncSession, person: uuid.UUID, tree: Tree
) -> None:
    issued = await tokens.issue(
        session,
        kind=TokenKind.ACCESS,
        person_id=person,
        client_id="paris-site",
        scopes={"profile", "events:read"},
        reach={tree["paris"].id},
        ttl=timedelta(hours=1),
    )
    response = await http.get("/principal", headers={"authorization": f"bearer {issued.token}"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "person_id": str(person),
        "partner_id": None,
        "client_id": "paris-site",
        "scopes": ["events:read", "profile"],
        "reach": [str(tree["paris"].id)],
        "anonymous": False,
    }
    assert (await http.get("/readyz", headers=bearer(issued.token))).status_code == 200
    assert (await http.get("/livez", headers=bearer(issued.token))).status_code == 200


async def test_a_partner_token_sets_the_principal(
    http: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    partner = await factory.partner()
    token = await factory.token(None, ["people:read"], partner_id=partner.id)
    body = (await http.post("/principal", headers=bearer(token))).json()
    assert (body["partner_id"], body["person_id"], body["scopes"]) == (
        str(partner.id),
        None,
        ["people:read"],
    )


async def test_tokens_that_do_not_authenticate_are_refused_with_401(
    http: httpx.AsyncClient, session: AsyncSession, factory: Factory, person: uuid.UUID
) -> None:
    unknown = tokens.new_token(TokenKind.ACCESS)
    tampered = unknown[:-1] + ("x" if unknown[-1] != "x" else "y")
    refresh = await factory.token(person, ["profile", "offline_access"], kind="refresh")
    revoked_pat = await tokens.create_personal(
        Ctx.of(session, Principal.person(person, {"profile"})),
        {"name": "old", "scopes": ["profile"], "expires_in_days": 1},
    )
    await tokens.revoke(Ctx.of(session, Principal.person(person, {"profile"})), revoked_pat.view.id)
    for token in (unknown, tampered, refresh, revoked_pat.token, "opaque-from-elsewhere"):
        for path in ("/principal", "/readyz", "/livez"):
            response = await http.get(path, headers=bearer(token))
            assert_refused(response, 401, "invalid_token", token)


async def test_an_expired_token_is_refused(
    http: httpx.AsyncClient, session: AsyncSession, factory: Factory, person: uuid.UUID
) -> None:
    token = await factory.token(person, ["profile"])
    found = await tokens.lookup(session, token, utcnow())
    assert found is not None
    row = await session.get_one(AccessToken, found.token_id)
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    await session.flush()
    assert_refused(await http.get("/readyz", headers=bearer(token)), 401, "invalid_token", token)


@pytest.mark.parametrize("value", ["Bearer", "Bearer two words", "Bearer a,b", "Bearer jeton-é"])
async def test_malformed_headers_are_refused_with_400(http: httpx.AsyncClient, value: str) -> None:
    response = await http.get("/readyz", headers={b"authorization": value.encode()})
    assert_refused(response, 400, "invalid_request")


async def test_two_authorization_headers_are_refused_with_400(http: httpx.AsyncClient) -> None:
    headers = [("Authorization", "Bearer one"), ("Authorization", "Bearer two")]
    assert_refused(await http.get("/principal", headers=headers), 400, "invalid_request")


async def test_use_is_recorded_after_the_response_at_most_once_a_minute(
    http: httpx.AsyncClient, session: AsyncSession, factory: Factory, person: uuid.UUID
) -> None:
    token = await factory.token(person, ["profile"])
    assert await last_used(session, token) is None
    assert (await http.get("/principal", headers=bearer(token))).status_code == 200
    first = await last_used(session, token)
    assert first is not None
    assert (await http.post("/principal", headers=bearer(token))).status_code == 200
    assert (await http.get("/nope", headers=bearer(token))).status_code == 404
    assert await last_used(session, token) == first


# -- WebSocket ----------------------------------------------------------------------------


async def websocket_app(scope: Scope, receive: Receive, send: Send) -> None:
    principal: Principal = scope["state"]["principal"]
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": str(principal.person_id)})
    await send({"type": "websocket.close", "code": 1000})


async def handshake(
    database: Database, headers: list[tuple[bytes, bytes]], extensions: dict[str, Any]
) -> list[Message]:
    scope = {
        "type": "websocket",
        "path": "/graphql",
        "headers": headers,
        "state": {"database": database},
        "extensions": extensions,
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await BearerAuthentication(websocket_app)(scope, receive, send)
    return sent


async def test_websocket_handshakes_are_authenticated(
    app_database: Database, session: AsyncSession, factory: Factory, person: uuid.UUID
) -> None:
    token = await factory.token(person, ["profile"])
    sent = await handshake(app_database, [(b"authorization", f"Bearer {token}".encode())], {})
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == str(person)
    assert await last_used(session, token) is not None

    sent = await handshake(app_database, [], {})
    assert sent[1]["text"] == "None"


async def test_websocket_refusals(app_database: Database, factory: Factory) -> None:
    unknown = tokens.new_token(TokenKind.ACCESS)
    with_denial: dict[str, Any] = {"websocket.http.response": {}}
    sent = await handshake(
        app_database, [(b"authorization", f"Bearer {unknown}".encode())], with_denial
    )
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert sent[0]["status"] == 401
    assert dict(sent[0]["headers"])[b"www-authenticate"].startswith(b'Bearer error="invalid_token"')
    assert unknown.encode() not in sent[1]["body"]

    sent = await handshake(app_database, [(b"authorization", b"Bearer a b")], with_denial)
    assert sent[0]["status"] == 400

    sent = await handshake(app_database, [(b"authorization", f"Bearer {unknown}".encode())], {})
    assert sent == [{"type": "websocket.close", "code": 1008}]
