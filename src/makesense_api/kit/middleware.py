"""Pure-ASGI middleware: request ids and access logs, and the request's database session.

`DatabaseSession` owns one session (and so one transaction) per request. Services flush and
never commit; the middleware commits just before the response starts when its status is below
400, and rolls back otherwise, so a client is never told "done" about a write that was lost. If
the commit itself fails the client receives a 503 instead of the handler's response.
"""

import logging
import secrets
import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from makesense_api.kit.db import Database, write_intent
from makesense_api.kit.logs import request_id

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


class RequestContext:
    """Give every request an id (kept from `X-Request-ID` when sane), echo it, log the outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_request_id(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER, rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id.reset(token)


def problem_response(status: int, title: str, detail: str) -> tuple[Message, Message]:
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
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class DatabaseSession:
    """One session per HTTP request, committed before the response starts (status < 400)."""

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
        replaced = False

        async def send_after_commit(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                try:
                    if message["status"] < 400:
                        await session.commit()
                    else:
                        await session.rollback()
                except Exception:
                    log.exception("commit failed")
                    replaced = True
                    for msg in problem_response(
                        503, "Service Unavailable", "the change could not be saved; retry later"
                    ):
                        await send(msg)
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_after_commit)
        finally:
            try:
                await session.close()
            finally:
                write_intent.reset(token)
