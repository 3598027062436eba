"""W3C Trace Context (`traceparent`, `tracestate`): accepted, logged and propagated.

A request that brings a valid `traceparent` joins that trace; without one (or with an invalid
one) a new trace starts. Either way the request gets a span id of its own, its trace id goes
into every log line (`trace_id`), and the response carries `traceparent` naming the request's
span. Outgoing calls made while serving it (webhook deliveries) send `outgoing_headers()`: the
same trace, a fresh child span id, the same flags and `tracestate`.

Validation follows the specification: `version-traceid-parentid-flags` in lower-case hex,
version `ff` and all-zero ids are invalid; a higher version may append fields after flags.
"""

import re
import secrets
from contextvars import ContextVar, Token
from dataclasses import dataclass

from makesense_api.ops.logging import trace_id as trace_id_var

_HEADER = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
MAX_TRACESTATE = 512


@dataclass(frozen=True)
class TraceContext:
    """The trace a unit of work belongs to, and its own span id."""

    trace_id: str
    span_id: str
    flags: str = "01"
    state: str | None = None

    def traceparent(self, span_id: str | None = None) -> str:
        return f"00-{self.trace_id}-{span_id or self.span_id}-{self.flags}"


current: ContextVar[TraceContext | None] = ContextVar("trace_context", default=None)


def new_span_id() -> str:
    return secrets.token_hex(8)


def parse(traceparent: str | None) -> tuple[str, str] | None:
    """(trace id, flags) of a valid `traceparent` header, else None."""
    if not traceparent:
        return None
    found = _HEADER.fullmatch(traceparent.strip())
    if found is None:
        return None
    version, trace, parent, flags, rest = found.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace == _ZERO_TRACE or parent == _ZERO_SPAN:
        return None
    return trace, flags


def start(traceparent: str | None, tracestate: str | None = None) -> TraceContext:
    """The context of a request: joined from its headers when valid, else a new trace."""
    parsed = parse(traceparent)
    if parsed is None:
        return TraceContext(secrets.token_hex(16), new_span_id())
    state = tracestate.strip() if tracestate and len(tracestate) <= MAX_TRACESTATE else None
    return TraceContext(parsed[0], new_span_id(), parsed[1], state or None)


def outgoing_headers() -> dict[str, str]:
    """Headers for an outgoing HTTP call: the current trace with a new child span.

    Outside any request (a background worker), a new trace is started for the call.
    """
    context = current.get() or TraceContext(secrets.token_hex(16), new_span_id())
    headers = {"traceparent": context.traceparent(new_span_id())}
    if context.state:
        headers["tracestate"] = context.state
    return headers


Tokens = tuple[Token[TraceContext | None], Token[str | None]]


def activate(context: TraceContext) -> Tokens:
    """Make `context` current (and its trace id logged); returns tokens for `deactivate`."""
    return current.set(context), trace_id_var.set(context.trace_id)


def deactivate(tokens: Tokens) -> None:
    current.reset(tokens[0])
    trace_id_var.reset(tokens[1])
