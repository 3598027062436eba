"""The Starlette application factory.

client ─► RequestContext ─► Metrics ─► BodyLimit ─► DatabaseSession ─► BearerAuthentication
             (request id,                                (one session and
              trace context,                              transaction per request)
              access log)   ─► RateLimit ─► routes ─► services ─► authz ─► database
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
from makesense_api.kit.middleware import BodyLimit, DatabaseSession, RequestContext, body_limits
from makesense_api.live.broker import broker_for
from makesense_api.live.outbox import relay_commits
from makesense_api.oauth.endpoints import OAuthEndpoints
from makesense_api.oauth.throttle import MemoryThrottle
from makesense_api.ops import metrics
from makesense_api.ops.ratelimit import RateLimit, RateLimiter
from makesense_api.rest import exception_handlers as rest_exception_handlers
from makesense_api.rest import routes as rest_routes
from makesense_api.webhooks.dispatcher import in_background as webhooks_dispatcher


def create_app(settings: Settings | None = None, database: Database | None = None) -> Starlette:
    """Build the ASGI app. Pass `database` to share an engine (tests); else one is created."""
    settings = settings or get_settings()
    # Failure and sign-up counters, shared by the OAuth pages and the sign-up operations.
    throttle = MemoryThrottle(settings.oauth_failure_window_s)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        db = database or Database.from_settings(settings)
        broker = broker_for(settings)
        await broker.start()
        stop_relaying = relay_commits(db, broker)
        shutting_down = asyncio.Event()
        # On SIGTERM, /readyz turns 503 first; uvicorn stops `shutdown_drain_s` later.
        stop_draining = health.drain_on_signals(shutting_down, settings.shutdown_drain_s)
        # Webhooks: the process that owns its database runs the dispatcher, unless disabled.
        stop_dispatching = webhooks_dispatcher(
            db, settings, shutting_down, settings.webhooks_dispatcher and database is None
        )
        ratelimiter = RateLimiter(settings)
        try:
            yield {
                "database": db,
                "settings": settings,
                "shutting_down": shutting_down,
                "throttle": throttle,
                "broker": broker,
                "ratelimiter": ratelimiter,
            }
        finally:
            stop_draining()
            shutting_down.set()
            await stop_dispatching()
            stop_relaying()
            await broker.stop()
            await ratelimiter.close()
            if database is None:
                await db.dispose()

    graphql = GraphQLView.for_settings(settings)
    routes: list[BaseRoute] = [
        Route("/livez", health.livez, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
        # Not Mount: it would redirect /graphql to /graphql/, which WebSocket clients don't follow.
        Route("/graphql", graphql),
        WebSocketRoute("/graphql", graphql),
        *OAuthEndpoints(settings, throttle).routes(),
        *rest_routes(),
    ]
    # Outermost first; authentication reads the request's session, and rate limits read the
    # principal authentication found.
    middleware = [
        Middleware(RequestContext),
        Middleware(metrics.Metrics),
        Middleware(BodyLimit, limit_for=body_limits(settings)),
        Middleware(DatabaseSession),
        Middleware(BearerAuthentication),
        Middleware(RateLimit),
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
