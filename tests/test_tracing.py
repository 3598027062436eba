"""W3C trace context: `traceparent` accepted when valid, generated otherwise, echoed with the
request's own span, written into the logs, and handed to outgoing calls."""

import re

import httpx
import pytest

from makesense_api.ops import tracing
from tests.test_logging import json_logs

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
VALID = f"00-{TRACE}-00f067aa0ba902b7-01"
HEADER = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


async def test_a_valid_traceparent_is_joined(client: httpx.AsyncClient) -> None:
    with json_logs() as logs:
        response = await client.get("/livez", headers={"traceparent": VALID})
    found = HEADER.fullmatch(response.headers["traceparent"])
    assert found is not None
    trace, span, flags = found.groups()
    assert trace == TRACE and flags == "01"
    assert span != "00f067aa0ba902b7"  # the request's own span, child of the caller's
    [access] = [e for e in logs.events() if e["logger"] == "makesense_api.http"]
    assert access["trace_id"] == TRACE


@pytest.mark.parametrize(
    "header",
    [
        None,
        "garbage",
        f"ff-{TRACE}-00f067aa0ba902b7-01",  # forbidden version
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
        f"00-{TRACE}-0000000000000000-01",  # zero parent id
        f"00-{TRACE.upper()}-00f067aa0ba902b7-01",  # upper case
        f"00-{TRACE}-00f067aa0ba902b7-01-extra",  # version 00 has no extra fields
    ],
)
async def test_an_absent_or_invalid_traceparent_starts_a_new_trace(
    client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"traceparent": header} if header else {}
    response = await client.get("/livez", headers=headers)
    found = HEADER.fullmatch(response.headers["traceparent"])
    assert found is not None
    assert found.group(1) != TRACE.lower() and found.group(1) != "0" * 32


def test_future_versions_may_append_fields() -> None:
    assert tracing.parse(f"01-{TRACE}-00f067aa0ba902b7-01-more") == (TRACE, "01")


def test_outgoing_calls_continue_the_current_trace() -> None:
    context = tracing.start(VALID, "vendor=abc")
    tokens = tracing.activate(context)
    try:
        first, second = tracing.outgoing_headers(), tracing.outgoing_headers()
    finally:
        tracing.deactivate(tokens)
    for headers in (first, second):
        found = HEADER.fullmatch(headers["traceparent"])
        assert found is not None and found.group(1) == TRACE
        assert headers["tracestate"] == "vendor=abc"
    assert first["traceparent"] != second["traceparent"]  # a new span per call


def test_outgoing_calls_outside_a_request_start_a_trace() -> None:
    headers = tracing.outgoing_headers()
    assert HEADER.fullmatch(headers["traceparent"]) and "tracestate" not in headers
