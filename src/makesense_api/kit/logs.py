"""Structured JSON logs: kept as the import point of the request id for the rest of the code.

The implementation lives in `makesense_api.ops.logging` (structlog, redaction, trace ids).
"""

from makesense_api.ops.logging import configure, request_id, trace_id

__all__ = ["configure", "request_id", "trace_id"]
