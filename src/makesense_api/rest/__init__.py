"""The REST surface for partner integrations: `/v1/...`, described at `/openapi.json`.

Routes are declared per resource (`rest.chapters`, `rest.events`, …) with `rest.operations`;
`routes()` mounts them for the application factory. Anything under `/v1` that matches no route
is a 404 problem; a known path with an unknown method is a 405 problem with `Allow`.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from makesense_api.rest import problems
from makesense_api.rest.dispatch import dispatch
from makesense_api.rest.operations import Operation

PREFIX = "/v1"


def all_operations() -> list[Operation]:
    """Every REST operation, in the order the OpenAPI document lists them."""
    from makesense_api.rest import (
        account,
        chapters,
        events,
        feeds,
        impact,
        people,
        programs,
        projects,
        webhooks,
    )

    return [
        *chapters.api.operations,
        *events.api.operations,
        *projects.api.operations,
        *programs.api.operations,
        *people.api.operations,
        *feeds.api.operations,
        *account.api.operations,
        *impact.api.operations,
        *webhooks.api.operations,
    ]


class PathEndpoint:
    """One path: dispatch by method to its operations (HEAD is served as GET)."""

    def __init__(self, operations: Sequence[Operation]) -> None:
        self.by_method = {op.method: op for op in operations}
        if "GET" in self.by_method:
            self.by_method.setdefault("HEAD", self.by_method["GET"])
        self.allow = ", ".join(sorted(self.by_method))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        op = self.by_method.get(request.method)
        if op is None:
            response = problems.render(
                405, "method_not_allowed", f"allowed here: {self.allow}",
                headers={"Allow": self.allow},
            )
        else:
            response = await dispatch(op, request)
        await response(scope, receive, send)


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    response = problems.render(404, "not_found", "no such resource")
    await response(scope, receive, send)


async def _routing_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = "not_found" if exc.status_code == 404 else "method_not_allowed"
    return problems.render(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))


def exception_handlers() -> dict[Any, Any]:
    """App-wide: paths no route matches (404) and refused methods (405) as problems."""
    return {404: _routing_problem, 405: _routing_problem}


def router(operations: Sequence[Operation]) -> Router:
    by_path: dict[str, list[Operation]] = defaultdict(list)
    for op in operations:
        by_path[op.path].append(op)
    routes = [Route(path, PathEndpoint(ops)) for path, ops in by_path.items()]
    return Router(routes=routes, default=not_found, redirect_slashes=False)


def routes() -> list[BaseRoute]:
    """The REST routes for the application factory: `/v1/...` and `/openapi.json`."""
    from makesense_api.rest.openapi import document

    operations = all_operations()
    spec = document(operations)

    async def openapi(request: Request) -> Response:
        return Response(
            spec.encoded, media_type="application/json", headers={"Cache-Control": "no-cache"}
        )

    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Mount(PREFIX, app=router(operations)),
    ]
