"""Bearer authentication (RFC 6750): turn the `Authorization` header into the caller's Principal.

A pure-ASGI middleware for HTTP and WebSocket scopes, innermost, so HTTP requests resolve their
token in the request's own session (`DatabaseSession` runs first). It puts the caller in
`scope["state"]["principal"]`:

- no `Authorization` header, or a scheme other than Bearer (HTTP Basic is for the OAuth token
  endpoint): the anonymous principal; routes decide whether that is enough;
- a well-formed bearer token that authenticates: the person or partner it speaks for;
- a token that does not authenticate (unknown, expired, revoked, erased person, inactive
  partner): 401 `invalid_token`, the same answer whatever the reason;
- a malformed header (several `Authorization` headers, no token, stray characters): 400
  `invalid_request`.

Refusals are RFC 9457 problems with an RFC 6750 `WWW-Authenticate` challenge. Neither they
nor the logs ever contain the token.

The lookup runs in a read transaction of the request's session that ends at once: the
connection goes back to the pool before the route runs, so routes that never touch the
database, or that open a connection of their own (readiness), do not hold a second one, and
the route's transaction starts afresh (on SQLite, as a write transaction if the method asks).

Recording use (`last_used_at`, at most once a minute per token): never inside a GET's deferred,
read-only transaction, where an SQLite write would have to upgrade the lock and could fail, and
never inside the request's own transaction, where on PostgreSQL the token row would stay locked
for the whole request and serialize that token's concurrent requests. For HTTP it is written
after the response has been sent, in a short write transaction of the same session (the
connection went back to the pool at commit, so this never holds two). It is best effort: a
failure is logged and the response is unaffected; a request that raises records nothing.
WebSocket handshakes have no request session: lookup and recording each use a short session.
"""

import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from makesense_api.authz.principal import Principal
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database, write_intent
from makesense_api.kit.middleware import problem_response
from makesense_api.tokens import service as tokens

log = logging.getLogger(__name__)

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
REFUSED_DETAIL = "the access token is invalid, expired or revoked"
TITLES = {400: "Bad Request", 401: "Unauthorized"}


class MalformedAuthorization(Exception):
    """The `Authorization` header is not one `Bearer <token>`; the message says why."""


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The bearer token of a request, None without one; raises MalformedAuthorization."""
    values = [value for name, value in headers if name == b"authorization"]
    if not values:
        return None
    if len(values) > 1:
        raise MalformedAuthorization("send a single Authorization header")
    try:
        text = values[0].decode("ascii").strip(" ")
    except UnicodeDecodeError:
        raise MalformedAuthorization("the Authorization header must be ASCII") from None
    scheme, _, credentials = text.partition(" ")
    if scheme.lower() != "bearer":
        return None
    credentials = credentials.strip(" ")
    if not _B64TOKEN.fullmatch(credentials):
        raise MalformedAuthorization("the Authorization header must read 'Bearer <token>'")
    return credentials


def _refusal(status: int, error: str, description: str) -> tuple[Message, Message]:
    start, body = problem_response(status, TITLES[status], description)
    challenge = f'Bearer error="{error}", error_description="{description}"'
    start["headers"] = [
        *start["headers"],
        (b"www-authenticate", challenge.encode()),
        (b"cache-control", b"no-store"),
    ]
    return start, body


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, error: str, description: str
) -> None:
    start, body = _refusal(status, error, description)
    if scope["type"] == "http":
        await send(start)
        await send(body)
        return
    if (await receive())["type"] != "websocket.connect":
        return
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({**start, "type": "websocket.http.response.start"})
        await send({**body, "type": "websocket.http.response.body"})
    else:
        # Closing before accepting makes the server refuse the handshake (HTTP 403).
        await send({"type": "websocket.close", "code": 1008})


@contextlib.asynccontextmanager
async def _intent(writes: bool) -> AsyncIterator[None]:
    """Open the next transaction for writing (or not): SQLite's BEGIN follows this flag."""
    token = write_intent.set(writes)
    try:
        yield
    finally:
        write_intent.reset(token)


async def _record_use(session: AsyncSession, token_id: uuid.UUID, now: datetime) -> None:
    """Best effort: a failure is logged and rolled back, never raised."""
    async with _intent(True):
        try:
            await tokens.record_use(session, token_id, now)
            await session.commit()
        except Exception:
            log.warning(
                "could not record token use", extra={"token_id": str(token_id)}, exc_info=True
            )
            with contextlib.suppress(Exception):
                await session.rollback()


async def _resolve_apart(database: Database, token: str, now: datetime) -> Principal | None:
    """Resolve in sessions of its own, for scopes without a request session (WebSocket)."""
    async with _intent(False), database.sessionmaker() as session:
        found = await tokens.lookup(session, token, now)
    if found is None:
        return None
    if found.use_due(now):
        async with database.sessionmaker() as session:
            await _record_use(session, found.token_id, now)
    return found.principal


async def _lookup(session: AsyncSession, token: str, now: datetime) -> tokens.Resolved | None:
    """Look the token up in a read transaction of the request's session, then end it."""
    async with _intent(False):
        try:
            return await tokens.lookup(session, token, now)
        finally:
            await session.rollback()


class BearerAuthentication:
    """Set `scope["state"]["principal"]` from the bearer token, or refuse the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        try:
            token = bearer_token(scope["headers"])
        except MalformedAuthorization as exc:
            await _refuse(scope, receive, send, 400, "invalid_request", str(exc))
            return
        if token is None:
            state["principal"] = Principal.anonymous()
            await self.app(scope, receive, send)
            return
        now = utcnow()
        if scope["type"] == "websocket":
            principal = await _resolve_apart(state["database"], token, now)
            if principal is None:
                await _refuse(scope, receive, send, 401, "invalid_token", REFUSED_DETAIL)
                return
            state["principal"] = principal
            await self.app(scope, receive, send)
            return
        session: AsyncSession = state["session"]
        found = await _lookup(session, token, now)
        if found is None:
            await _refuse(scope, receive, send, 401, "invalid_token", REFUSED_DETAIL)
            return
        state["principal"] = found.principal
        await self.app(scope, receive, send)
        if found.use_due(now):
            await _record_use(session, found.token_id, now)
