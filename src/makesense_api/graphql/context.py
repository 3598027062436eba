"""The per-request GraphQL context: the service `Ctx` plus per-request batch loaders."""

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from strawberry.types import Info as StrawberryInfo

from makesense_api.authz.principal import Principal
from makesense_api.context import Ctx
from makesense_api.kit.i18n import parse_accept_language


@dataclass
class GraphQLContext:
    """Lives for one request: loaders cache per caller, never across callers."""

    request: Request
    ctx: Ctx
    # Loaders are created lazily, per request, keyed by name (see graphql/loaders.py).
    loaders: dict[str, Any] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)
    # The `connection_init` payload of a WebSocket connection (graphql/subscriptions.py).
    connection_params: dict[str, Any] | None = None


def build_context(request: Request) -> GraphQLContext:
    """Assemble the context from what the middleware stack put on the request."""
    principal: Principal = getattr(request.state, "principal", None) or Principal.anonymous()
    languages = tuple(parse_accept_language(request.headers.get("accept-language")))
    ctx = Ctx.of(request.state.session, principal, languages)
    return GraphQLContext(request=request, ctx=ctx)


Info = StrawberryInfo[GraphQLContext, None]
