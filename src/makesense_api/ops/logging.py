"""Structured JSON logs (structlog): one object per line on stderr, safe to ship anywhere.

Every line carries `ts`, `level`, `logger`, `msg`, and, inside a request, `request_id` and
`trace_id` (ops/tracing.py); fields given with `extra=` (stdlib loggers) or as keywords
(structlog loggers from `get_logger`) are kept. The access log line adds `method`, `route`
(the route template, never the raw path with ids), `status`, `duration_ms`, `client_id` and
`chapter`. Every event passes through the redaction of ops/redact.py last, so neither a token,
a secret, a password nor a full e-mail address is written, whoever logged it.
"""

import logging
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import orjson
import structlog
from structlog.stdlib import ProcessorFormatter
from structlog.typing import EventDict, Processor, WrappedLogger

from makesense_api.ops.redact import redact

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _add_context(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    rid, tid = request_id.get(), trace_id.get()
    if rid:
        event.setdefault("request_id", rid)
    if tid:
        event.setdefault("trace_id", tid)
    return event


def _add_extra(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """The stdlib record's `extra=` fields, the way the previous JSON formatter kept them."""
    record: logging.LogRecord | None = event.get("_record")
    if record is not None:
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                event.setdefault(key, value)
        if record.exc_info and "exc_info" not in event:
            event["exc_info"] = record.exc_info
    return event


def _finish(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Name fields as the log schema does (`msg`, lower-case `level`) and redact everything."""
    event.pop("_record", None)
    event.pop("_from_structlog", None)
    event["msg"] = event.pop("event", "")
    if "exception" in event:
        event["exc"] = event.pop("exception")
    level = event.get("level")
    if isinstance(level, str):
        event["level"] = level.lower()
    return {key: redact(value, key) for key, value in event.items()}


def _dumps(_: WrappedLogger, __: str, event: MutableMapping[str, Any]) -> str:
    return orjson.dumps(event, default=str).decode()


SHARED: list[Processor] = [
    _add_context,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    _add_extra,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
]


def formatter() -> logging.Formatter:
    """The JSON formatter every handler of the service uses (tests attach it too)."""
    return ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[structlog.processors.format_exc_info, _finish, _dumps],
    )


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure` installs; it replaces only its own kind on reconfiguration."""


def configure(level: str = "INFO") -> None:
    """Send every log record, ours and the libraries', to stderr as redacted JSON lines.

    Handlers attached by others (an embedding server, a test harness) are kept.
    """
    handler = _Handler(sys.stderr)
    handler.setFormatter(formatter())
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _Handler)] + [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    """A structlog logger whose events go through the same stdlib handlers and redaction."""
    return structlog.get_logger(name)


structlog.configure(
    processors=[*SHARED, ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)
