"""Structured JSON logs: request id, trace id, client id, chapter, route, status, latency; and
the redaction that keeps tokens, secrets, passwords and e-mail addresses out of them."""

import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from makesense_api.config import Settings
from makesense_api.kit.db import Database
from makesense_api.ops.logging import formatter, get_logger
from makesense_api.ops.redact import redact, redact_text
from makesense_api.tokens import service as tokens
from makesense_api.tokens.models import TokenKind
from tests import logscan
from tests.factories import Factory
from tests.test_ratelimit import serve


class Lines(logging.Handler):
    """Log lines as the service writes them, rendered when emitted (inside the request)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(formatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.lines]


@contextlib.contextmanager
def json_logs() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_redaction_masks_what_must_not_be_logged() -> None:
    text = (
        "Authorization: Bearer msk_at_0123456789abcdef for jane.doe@example.org "
        "GET /v1/me/events.ics?token=msk_ft_secret&x=1 whsec_c2VjcmV0 "
        "redis://:hunter2@cache.internal:6379/0"
    )
    safe = redact_text(text)
    for secret in ("0123456789abcdef", "jane.doe", "msk_ft_secret", "c2VjcmV0", "hunter2"):
        assert secret not in safe
    assert "j***@example.org" in safe and "x=1" in safe and "cache.internal" in safe
    nested = redact({"password": "correct horse", "token_id": "abc", "items": [{"secret": "s"}]})
    assert nested == {"password": "[redacted]", "token_id": "abc", "items": [{"secret": "[redacted]"}]}


def test_every_logger_writes_redacted_json() -> None:
    with json_logs() as logs:
        logging.getLogger("makesense_api.test").info(
            "signed in %s", "ana@example.org", extra={"client_secret": "msk_cs_abcdefgh"}
        )
        get_logger("makesense_api.test").info("structured", authorization="Bearer x", n=3)
        try:
            raise ValueError("password=hunter22 rejected")
        except ValueError:
            logging.getLogger("makesense_api.test").exception("failed")
    first, second, third = logs.events()
    assert first["msg"] == "signed in a***@example.org"
    assert first["client_secret"] == "[redacted]" and first["level"] == "info"
    assert first["logger"] == "makesense_api.test" and first["ts"].endswith("Z")
    assert second["msg"] == "structured" and second["n"] == 3
    assert second["authorization"] == "[redacted]"
    assert third["level"] == "error" and "hunter22" not in third["exc"]
    assert "ValueError" in third["exc"]


async def test_access_log_carries_request_trace_client_chapter_route(
    settings: Settings, app_database: Database, factory: Factory
) -> None:
    root = await factory.root()
    paris = await factory.chapter(root)
    created = await factory.oauth_client(chapter=paris)
    issued = await tokens.issue(
        factory.ctx.session,
        kind=TokenKind.ACCESS,
        scopes={"events:read"},
        ttl=timedelta(hours=1),
        person_id=await factory.person(),
        client_id=created.view.client_id,
    )
    trace = "0af7651916cd43dd8448eb211c80319c"
    headers = {
        "authorization": f"Bearer {issued.token}",
        "x-request-id": "req-logging-1",
        "traceparent": f"00-{trace}-b7ad6b7169203331-01",
    }
    with json_logs() as logs:
        async with serve(settings, app_database) as client:
            response = await client.get(f"/v1/events/{paris.id}", headers=headers)
    [access] = [e for e in logs.events() if e["logger"] == "makesense_api.http"]
    assert access["request_id"] == "req-logging-1" == response.headers["x-request-id"]
    assert access["trace_id"] == trace
    assert access["client_id"] == created.view.client_id
    assert access["chapter"] == str(paris.id)
    assert access["route"] == "/v1/events/{event_id:uuid}"
    assert access["method"] == "GET" and access["status"] == response.status_code
    assert isinstance(access["duration_ms"], float)
    assert issued.token not in "\n".join(logs.lines)


def test_the_session_scan_finds_leaks() -> None:
    scan = logscan.scanner()
    assert scan.leaks('{"msg":"Bearer msk_at_0123456789"}')
    assert scan.leaks('{"msg":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}')
    assert scan.leaks('{"msg":"mail to jane@example.org"}')
    assert not scan.leaks('{"msg":"mail to j***@example.org","token_id":"x"}')
    assert scan.passwords, "the passwords of the tests are known to the scan"
    password = next(iter(scan.passwords))
    assert scan.leaks(f'{{"msg":"{password}"}}')


@pytest.mark.parametrize("logged", ["msk_pat_0123456789abcdef", "ana.maria@example.org"])
def test_what_the_scan_looks_for_is_redacted_first(logged: str) -> None:
    scan = logscan.scanner()
    line = formatter().format(logging.makeLogRecord({"msg": f"saw {logged}", "name": "x"}))
    assert not scan.leaks(line)


async def test_requests_with_secrets_in_the_query_are_logged_without_them(
    client: httpx.AsyncClient,
) -> None:
    with json_logs() as logs:
        await client.get("/v1/me/events.ics", params={"token": "msk_ft_0123456789abcdef"})
    assert logs.lines and not any("0123456789abcdef" in line for line in logs.lines)
