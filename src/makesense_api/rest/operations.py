"""The REST route table: every operation declared once, with what OpenAPI says about it.

Handlers are thin: they receive a `Call` (the caller's `Ctx`, path parameters, and the query
and body already parsed by pydantic), make one service call and return its read model. The
dispatcher (`rest.dispatch`) serializes the result through the operation's response model;
the OpenAPI document (`rest.openapi`) is generated from the same declarations.
"""

import typing
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request

from makesense_api.context import Ctx

Q = TypeVar("Q")
B = TypeVar("B")


class NoQuery(BaseModel):
    """An operation without query parameters: any given is an error."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Call(Generic[Q, B]):
    """One request, parsed: what a handler needs to make its service call."""

    request: Request
    ctx: Ctx
    path: dict[str, Any]
    query: Q
    body: B

    def id(self, name: str) -> uuid.UUID:
        """A UUID path parameter (the route's convertor has already checked its form)."""
        value = self.path[name]
        assert isinstance(value, uuid.UUID)
        return value


Handler = Callable[[Call[Any, Any]], Awaitable[Any]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class Operation:
    """One method on one path, and everything the dispatcher and OpenAPI need to know."""

    method: str
    path: str  # relative to /v1, with Starlette convertors: "/events/{event_id:uuid}"
    handler: Handler
    tag: str
    summary: str
    response: type[BaseModel] | None  # None: 204 No Content
    status: int = 200
    query: type[BaseModel] = NoQuery
    body: type[BaseModel] | None = None
    body_required: bool = True
    collection: bool = False
    scope: str | None = None  # the scope the operation needs (documented; the service decides)
    anonymous: bool = False  # whether anonymous callers may call it (public reads)
    current: Handler | None = None  # the resource as it is, for If-Match on PATCH
    location: Callable[[Any], str] | None = None  # Location of a created resource
    conflicts: bool = False  # whether 409 is a documented outcome
    feed: bool = False  # whether `updated_since` turns the list into a change feed
    # A body that is not JSON (e.g. text/calendar): the media type and how to render it.
    media: str = "application/json"
    render: Callable[[Any], bytes] | None = None
    # `Cache-Control` when the default (`no-cache`, private with a token) does not fit.
    cache_control: str | None = None
    # The answer shows a secret once: an Idempotency-Key replay never stores nor repeats it.
    secret: bool = False
    # Other JSON renderings chosen by `Accept` (e.g. application/ld+json): media → builder.
    alternates: dict[str, Callable[[Any], Any]] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def description(self) -> str:
        return " ".join((self.handler.__doc__ or self.summary).split())


def _parsed_types(handler: Handler) -> tuple[type[BaseModel], type[BaseModel] | None]:
    """The query and body models a handler declares with its `Call[Query, Body]` parameter."""
    hints = typing.get_type_hints(handler)
    call = next(hint for name, hint in hints.items() if name != "return")
    query, body = typing.get_args(call)
    parsed_query = query if isinstance(query, type) and issubclass(query, BaseModel) else NoQuery
    parsed_body = body if isinstance(body, type) and issubclass(body, BaseModel) else None
    return parsed_query, parsed_body


@dataclass
class Registry:
    """Collects operations declared with the `get`/`post`/`patch`/`delete` decorators."""

    tag: str
    operations: list[Operation] = field(default_factory=list)

    def _add(self, method: str, path: str, summary: str, **options: Any) -> Callable[[H], H]:
        def register(handler: H) -> H:
            query, body = _parsed_types(handler)
            self.operations.append(
                Operation(
                    method=method, path=path, handler=handler, tag=self.tag, summary=summary,
                    query=query, body=body, **options,
                )
            )
            return handler

        return register

    def get(self, path: str, summary: str, **options: Any) -> Callable[[H], H]:
        return self._add("GET", path, summary, **options)

    def post(self, path: str, summary: str, **options: Any) -> Callable[[H], H]:
        return self._add("POST", path, summary, **options)

    def patch(self, path: str, summary: str, **options: Any) -> Callable[[H], H]:
        return self._add("PATCH", path, summary, conflicts=True, **options)

    def delete(self, path: str, summary: str, **options: Any) -> Callable[[H], H]:
        return self._add("DELETE", path, summary, **options)
