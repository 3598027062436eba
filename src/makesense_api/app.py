"""The Starlette application factory.

client ─► RequestContext ─► DatabaseSession ─► routes ─► services ─► authz ─► database
             (request id,      (one session and             (GraphQL, REST, OAuth
              access log)       transaction per request)      transports added per surface)
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

from makesense_api import health
from makesense_api.authn import BearerAuthentication
from makesense_api.config import Settings, get_settings
from makesense_api.graphql.view import GraphQLView
from makesense_api.kit.db import Database
from makesense_api.kit.middleware import DatabaseSession, RequestContext
from makesense_api.oauth.endpoints import routes as oauth_routes
from makesense_api.rest import exception_handlers as rest_exception_handlers
from makesense_api.rest import routes as rest_routes


def create_app(settings: Settings | None = None, database: Database | None = None) -> Starlette:
    """Build the ASGI app. Pass `database` to share an engine (tests); else one is created."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        db = database or Database.from_settings(settings)
        shutting_down = asyncio.Event()
        try:
            yield {"database": db, "settings": settings, "shutting_down": shutting_down}
        finally:
            shutting_down.set()
            if database is None:
                await db.dispose()

    graphql = GraphQLView.for_settings(settings)
    routes: list[BaseRoute] = [
        Route("/livez", health.livez, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        # Not Mount: it would redirect /graphql to /graphql/, which WebSocket clients don't follow.
        Route("/graphql", graphql),
        WebSocketRoute("/graphql", graphql),
        *oauth_routes(settings),
        *rest_routes(),
    ]
    # Outermost first; authentication is innermost because it reads the request's session.
    middleware = [
        Middleware(RequestContext),
        Middleware(DatabaseSession),
        Middleware(BearerAuthentication),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers=rest_exception_handlers(),
    )


def app_from_env() -> Starlette:
    """Entry point for `uvicorn --factory makesense_api.app:app_from_env`."""
    return create_app()
