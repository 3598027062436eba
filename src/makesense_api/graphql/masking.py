"""What clients see of errors: domain codes kept, everything unexpected masked.

- GraphQL's own errors (syntax, validation, limits, coercion) and `GraphQLError`s raised on
  purpose pass through unchanged.
- A domain exception (`kit.errors.DomainError`) raised by a resolver becomes an error with its
  message and `extensions.code` = the exception's `code` (`not_found`, `insufficient_scope`…);
  `ValidationFailed` adds `extensions.fields`.
- The database being unreachable (`kit.db.unavailable`) becomes "Service unavailable" with
  `extensions.code = SERVICE_UNAVAILABLE` and `extensions.retryAfter` (seconds); the HTTP
  view answers it 503 with `Retry-After`, and the request's transaction is rolled back.
- Any other exception becomes "Internal server error" with `extensions.code =
  INTERNAL_SERVER_ERROR` and `extensions.request_id`. The exception is logged once, with its
  traceback and the request id; neither its text nor its stack reaches the response.

Presenting an error twice changes nothing, so the schema extension (every transport) and the
HTTP view (which also sees failures raised outside resolvers) can both apply it.
"""

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from makesense_api.kit.db import RETRY_AFTER_S, unavailable
from makesense_api.kit.errors import DomainError, ValidationFailed
from makesense_api.kit.logs import request_id

log = logging.getLogger("makesense_api.graphql")

INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
INTERNAL_MESSAGE = "Internal server error"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
UNAVAILABLE_MESSAGE = "Service unavailable: the database cannot be reached; retry later"


def _replace(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def _domain(error: GraphQLError, exc: DomainError) -> GraphQLError:
    extensions: dict[str, Any] = {"code": exc.code}
    if isinstance(exc, ValidationFailed):
        extensions["fields"] = [{"field": e.field, "message": e.message} for e in exc.errors]
    return _replace(error, exc.message, extensions)


def _internal(error: GraphQLError, exc: BaseException) -> GraphQLError:
    rid = request_id.get()
    log.error(
        "unexpected error in a GraphQL operation",
        exc_info=exc,
        extra={"graphql_path": ".".join(str(key) for key in error.path or ())},
    )
    extensions: dict[str, Any] = {"code": INTERNAL_SERVER_ERROR}
    if rid:
        extensions["request_id"] = rid
    return _replace(error, INTERNAL_MESSAGE, extensions)


def _unavailable(error: GraphQLError, exc: BaseException) -> GraphQLError:
    log.warning("database unavailable in a GraphQL operation", extra={"error": type(exc).__name__})
    extensions: dict[str, Any] = {"code": SERVICE_UNAVAILABLE, "retryAfter": RETRY_AFTER_S}
    return _replace(error, UNAVAILABLE_MESSAGE, extensions)


def present(error: GraphQLError) -> GraphQLError:
    """The error as the client may see it."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error
    if isinstance(original, DomainError):
        return _domain(error, original)
    if unavailable(original):
        return _unavailable(error, original)
    return _internal(error, original)


def present_all(errors: list[GraphQLError]) -> list[GraphQLError]:
    return [present(error) for error in errors]


class PresentErrors(SchemaExtension):
    """Apply `present` to every result before it leaves the schema (HTTP and WebSocket).

    Strawberry hands a result's error list to `pre_execution_errors` before it gathers the
    extensions' results, on every path (parse, validation, a failing hook, execution), so
    `get_results` can rewrite that list in place. Streamed results pass `on_stream_result`.
    """

    def get_results(self) -> dict[str, Any]:
        errors = self.execution_context.pre_execution_errors
        if errors:
            errors[:] = present_all(errors)
        return {}

    def on_stream_result(self, result: Any) -> Iterator[None]:
        if getattr(result, "errors", None):
            result.errors = present_all(result.errors)
        yield
