"""Pure-ASGI middleware: request ids, trace context and access logs; body limits; and the
request's database session.

`DatabaseSession` owns one session (and so one transaction) per request. Services flush and
never commit; the middleware commits just before the response starts when its status is below
400, and rolls back otherwise, so a client is never told "done" about a write that was lost. If
the commit itself fails the client receives a 503 instead of the handler's response.
"""

import logging
import secrets
import time
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from makesense_api.config import Settings
from makesense_api.kit.db import RETRY_AFTER_S, Database, unavailable, write_intent
from makesense_api.kit.logs import request_id
from makesense_api.ops import tracing
from makesense_api.ops.metrics import route_label

log = logging.getLogger("makesense_api.http")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REQUEST_ID_HEADER = b"x-request-id"


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER and 8 <= len(value) <= 64 and value.isascii():
            text: str = value.decode()
            if text.replace("-", "").isalnum():
                return text
    return secrets.token_hex(8)


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            text: str = value.decode("latin-1")
            return text
    return None


def _caller(scope: Scope) -> dict[str, str]:
    """Who called, as far as the inner middleware found out (never a token)."""
    state = scope.get("state", {})
    principal = state.get("principal")
    found = {}
    if principal is not None and principal.client_id:
        found["client_id"] = principal.client_id
    if state.get("chapter_id") is not None:
        found["chapter"] = str(state["chapter_id"])
    return found


class RequestContext:
    """Give every request an id (kept from `X-Request-ID` when sane) and a W3C trace context
    (joined from `traceparent` when valid), echo both, log the outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_request_id(scope)
        token = request_id.set(rid)
        trace = tracing.start(
            _header(scope, b"traceparent"), _header(scope, b"tracestate")
        )
        trace_tokens = tracing.activate(trace)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER, rid.encode()),
                    (b"traceparent", trace.traceparent().encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route_label(scope),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    **_caller(scope),
                },
            )
            tracing.deactivate(trace_tokens)
            request_id.reset(token)


class BodyTooLarge(Exception):
    """A request body streamed past its limit."""


class BodyLimit:
    """413 before parsing for request bodies over `limit_for(path)` bytes (None: no limit here).

    A declared `Content-Length` over the limit is refused before the route runs; a body sent
    without one (chunked) is counted as it streams and refused once it passes the limit, if
    the route has not started answering yet.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[Scope], int | None]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded, watch)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(send, limit)


def body_limits(settings: Settings) -> Callable[[Scope], int | None]:
    """The limit `BodyLimit` applies: GraphQL and REST enforce their own (with their own error
    shapes), every other route (the OAuth endpoints and pages) `max_body_bytes`."""

    def limit_for(scope: Scope) -> int | None:
        path: str = scope["path"]
        if path == "/graphql" or path.startswith("/v1/"):
            return None
        return settings.max_body_bytes

    return limit_for


async def _too_large(send: Send, limit: int) -> None:
    for message in problem_response(
        413, "Content Too Large", f"the request body exceeds {limit} bytes"
    ):
        await send(message)


def problem_response(
    status: int, title: str, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[Message, Message]:
    """A minimal RFC 9457 problem response as two ASGI messages."""
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "request_id": request_id.get(),
        }
    )
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            *(headers or []),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def unavailable_response(detail: str) -> tuple[Message, Message]:
    """503 with `Retry-After`: the database cannot be reached now; nothing was saved."""
    headers = [(b"retry-after", str(RETRY_AFTER_S).encode()), (b"cache-control", b"no-store")]
    return problem_response(503, "Service Unavailable", detail, headers)


class DatabaseSession:
    """One session per HTTP request, committed before the response starts (status < 400).

    When the database cannot be reached (`kit.db.unavailable`), whatever the layer that found
    out (authentication, a route, the commit), the client gets 503 problem+json with
    `Retry-After` if no response has started, and the transaction is rolled back.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        database: Database = scope["state"]["database"]
        token = write_intent.set(scope["method"] not in SAFE_METHODS)
        session = database.sessionmaker()
        scope["state"]["session"] = session
        replaced = started = False

        async def send_after_commit(message: Message) -> None:
            nonlocal replaced, started
            if replaced:
                return
            if message["type"] == "http.response.start":
                started = True
                try:
                    if message["status"] < 400:
                        await session.commit()
                    else:
                        await session.rollback()
                except Exception:
                    log.exception("commit failed")
                    replaced = True
                    for msg in unavailable_response("the change could not be saved; retry later"):
                        await send(msg)
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_after_commit)
        except Exception as exc:
            if started or not unavailable(exc):
                raise
            log.warning("database unavailable", extra={"error": type(exc).__name__})
            for msg in unavailable_response("the database is unavailable; retry later"):
                await send(msg)
        finally:
            try:
                await session.close()
            finally:
                write_intent.reset(token)
