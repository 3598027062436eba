"""RFC 9457 problem details: how the REST surface reports every error.

Domain errors (`kit.errors`) map to statuses here and nowhere else:

    ValidationFailed  422  `errors[]` names each offending field
    NotFound          404  also unknown routes and invisible objects
    Unauthenticated   401  `WWW-Authenticate: Bearer`
    Forbidden         403  `WWW-Authenticate: Bearer error="insufficient_scope"` (+ `scope`)
    Conflict          409  CapacityFull included (code `capacity_full`)

Transport errors (malformed JSON, oversized bodies, failed preconditions) are `HttpProblem`s.
Unexpected exceptions become a 500 carrying the request id and nothing about the cause, except
that the database being unreachable (`kit.db.unavailable`) is a 503 `service_unavailable`
with `Retry-After`: the request changed nothing and may be retried.
"""

from typing import Any

import orjson
from pydantic import BaseModel, Field
from starlette.responses import Response

from makesense_api.kit import errors as domain
from makesense_api.kit.db import RETRY_AFTER_S, unavailable
from makesense_api.kit.logs import request_id

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:makesense:problem:"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class FieldProblem(BaseModel):
    """One invalid input field."""

    field: str = Field(description="Dotted path of the field in the body or the query string.")
    message: str = Field(description="What is wrong with it.")


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, in a stable machine-readable `code`."""

    type: str = Field(description="URI naming the problem type (`urn:makesense:problem:<code>`).")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="Explanation specific to this occurrence.")
    code: str = Field(description="Stable machine-readable code (`not_found`, `conflict`, …).")
    request_id: str | None = Field(default=None, description="Quote it when reporting a fault.")
    errors: list[FieldProblem] = Field(
        default_factory=list, description="The offending fields (validation problems)."
    )


class HttpProblem(Exception):
    """A transport-level refusal: raised by the REST plumbing, rendered as a problem."""

    def __init__(self, status: int, code: str, detail: str, **headers: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers


def render(
    status: int,
    code: str,
    detail: str,
    errors: list[domain.FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id.get(),
        "errors": [{"field": e.field, "message": e.message} for e in errors or []],
    }
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _challenge(error: str | None = None, scope: str | None = None) -> str:
    params = [f'error="{error}"'] if error else []
    if scope:
        params.append(f'scope="{scope}"')
    return "Bearer" + (" " + ", ".join(params) if params else "")


def from_domain(exc: domain.DomainError, scope: str | None = None) -> Response:
    """The problem for a domain error; `scope` is the operation's, for 403 challenges."""
    if isinstance(exc, domain.ValidationFailed):
        return render(422, exc.code, "the input is invalid", exc.errors)
    if isinstance(exc, domain.NotFound):
        return render(404, exc.code, exc.message)
    if isinstance(exc, domain.Unauthenticated):
        return render(401, exc.code, exc.message, headers={"WWW-Authenticate": _challenge()})
    if isinstance(exc, domain.MissingScope):
        challenge = _challenge("insufficient_scope", exc.scope)
        return render(403, exc.code, exc.message, headers={"WWW-Authenticate": challenge})
    if isinstance(exc, domain.Forbidden):
        challenge = _challenge("insufficient_scope", scope)
        return render(403, exc.code, exc.message, headers={"WWW-Authenticate": challenge})
    if isinstance(exc, domain.Conflict):
        return render(409, exc.code, exc.message)
    return render(400, exc.code, exc.message)


def from_http(exc: HttpProblem) -> Response:
    return render(exc.status, exc.code, exc.detail, headers=exc.headers)


def internal_error(exc: BaseException | None = None) -> Response:
    """500 for an unexpected `exc`, or 503 with `Retry-After` when the database is unreachable."""
    if exc is not None and unavailable(exc):
        return render(
            503,
            "service_unavailable",
            "the database is unavailable; nothing was changed, retry later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return render(500, "internal_error", "an unexpected error occurred; quote the request id")
