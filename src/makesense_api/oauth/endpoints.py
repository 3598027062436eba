"""The OAuth routes: token (RFC 6749), revocation (RFC 7009), introspection (RFC 7662),
metadata (RFC 8414), and the authorization endpoint (`oauth.authorize`).

Each token-side request goes: read the form (async) → load the client and the code or token it
names (async) → let Authlib decide (sync, no I/O) → apply the decisions (async) → answer. All
of it in the request's session and transaction. Answers are RFC 6749 JSON errors; token
responses carry `Cache-Control: no-store`.

Client authentication failures are counted per client and IP address, and per IP address;
past the limits the endpoint answers 429 with Retry-After before checking anything.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
from authlib.oauth2.base import OAuth2Error  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749 import InvalidRequestError  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.util import extract_basic_authorization  # type: ignore[import-untyped]
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from makesense_api.authz.principal import ALL_SCOPES
from makesense_api.config import Settings
from makesense_api.kit.clock import utcnow
from makesense_api.oauth import exchange as ex
from makesense_api.oauth.authorize import Authorization
from makesense_api.oauth.browser import Browser
from makesense_api.oauth.records import AUTH_METHODS_CONFIDENTIAL, Exchange
from makesense_api.oauth.server import AUTH_METHODS, Server, ServerConfig
from makesense_api.oauth.throttle import MemoryThrottle, Throttle
from makesense_api.oauth.wrappers import OAuthRequest, Outcome

MAX_FORM_BYTES = 16_384
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM_TYPE = "application/x-www-form-urlencoded"


def issuer_of(settings: Settings, request: Request) -> str:
    """The configured issuer; else this request's origin (development only)."""
    return (settings.oauth_issuer or str(request.base_url)).rstrip("/")


def server_config(settings: Settings, request: Request) -> ServerConfig:
    return ServerConfig(
        issuer=issuer_of(settings, request),
        access_ttl=timedelta(seconds=settings.oauth_access_token_ttl_s),
        refresh_ttl=timedelta(seconds=settings.oauth_refresh_token_ttl_s),
        code_ttl=timedelta(seconds=settings.oauth_code_ttl_s),
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def json_response(outcome: Outcome) -> Response:
    body = outcome.body if isinstance(outcome.body, str) else orjson.dumps(outcome.body)
    headers = {**dict(outcome.headers), **NO_STORE}
    return Response(body, status_code=outcome.status, headers=headers)


def oauth_error(error: OAuth2Error) -> Response:
    status, body, headers = error()
    return json_response(Outcome(status, body, list(headers)))


def metadata_document(issuer: str) -> dict[str, Any]:
    """RFC 8414 metadata: exactly what this server supports."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "scopes_supported": sorted(ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS_CONFIDENTIAL),
        "authorization_response_iss_parameter_supported": True,
    }


Decide = Callable[[Server, OAuthRequest], Outcome]


class OAuthEndpoints:
    """The routes of one application instance, sharing its failure counters."""

    def __init__(self, settings: Settings, throttle: Throttle | None = None) -> None:
        self.settings = settings
        self.throttle = throttle or MemoryThrottle(settings.oauth_failure_window_s)
        browser = Browser(
            settings.oauth_session_secret.get_secret_value(), settings.oauth_session_ttl_s
        )
        self.authorization = Authorization(settings, self.throttle, browser, server_config)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/authorize", self.authorization.endpoint, methods=["GET", "POST"]),
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/oauth/revoke", self.revoke, methods=["POST"]),
            Route("/oauth/introspect", self.introspect, methods=["POST"]),
            Route("/.well-known/oauth-authorization-server", self.metadata, methods=["GET"]),
        ]

    async def metadata(self, request: Request) -> Response:
        """RFC 8414 authorization server metadata."""
        document = metadata_document(issuer_of(self.settings, request))
        return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})

    async def token(self, request: Request) -> Response:
        """RFC 6749 §3.2: authorization_code (PKCE), refresh_token, client_credentials."""
        return await self._serve(
            request, "grant_type", lambda server, req: server.create_token_response(req)
        )

    async def revoke(self, request: Request) -> Response:
        """RFC 7009 token revocation."""
        return await self._serve(
            request, "token", lambda server, req: server.create_endpoint_response("revocation", req)
        )

    async def introspect(self, request: Request) -> Response:
        """RFC 7662 token introspection, for confidential clients about their own tokens."""
        return await self._serve(
            request,
            "token",
            lambda server, req: server.create_endpoint_response("introspection", req),
        )

    # -- the shared path ----------------------------------------------------------------

    async def _read(self, request: Request) -> OAuthRequest:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM_TYPE:
            raise InvalidRequestError(f"Send the parameters as {FORM_TYPE}.")
        if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
            raise InvalidRequestError("The request body is too large.")
        form = await request.form()
        items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        req = OAuthRequest("POST", str(request.url), request.headers, items)
        if repeated := req.repeated():
            raise InvalidRequestError(f"Parameters sent more than once: {', '.join(repeated)}.")
        return req

    def _client_keys(self, request: Request, req: OAuthRequest) -> list[str]:
        basic_id, _ = extract_basic_authorization(req.headers)
        ip = client_ip(request)
        ids = {i for i in (basic_id, req.payload.client_id) if i}
        return [f"client:{i}:{ip}" for i in sorted(ids)]

    async def _blocked(self, request: Request, keys: list[str]) -> int | None:
        limits = [(k, self.settings.oauth_max_failures) for k in keys]
        limits.append((f"client-ip:{client_ip(request)}", self.settings.oauth_max_failures_per_ip))
        waits = [await self.throttle.retry_after(key, limit) for key, limit in limits]
        return max((w for w in waits if w is not None), default=None)

    async def _preload(self, session: AsyncSession, req: OAuthRequest, param: str) -> Exchange:
        """The clients the request names, and the code or token in parameter `param`."""
        data = req.payload.data
        basic_id, _ = extract_basic_authorization(req.headers)
        exchange = Exchange(now=utcnow())
        exchange.clients = await ex.load_clients(session, [basic_id, data.get("client_id", "")])
        if param == "grant_type":
            param = {"authorization_code": "code", "refresh_token": "refresh_token"}.get(
                data.get("grant_type", ""), ""
            )
        value = data.get(param)
        if param == "code" and value:
            exchange.code = await ex.load_code(session, value)
        elif value:
            exchange.token = await ex.load_token(session, value, exchange)
        return exchange

    async def _serve(self, request: Request, param: str, decide: Decide) -> Response:
        try:
            req = await self._read(request)
        except OAuth2Error as error:
            return oauth_error(error)
        keys = self._client_keys(request, req)
        if (wait := await self._blocked(request, keys)) is not None:
            response = JSONResponse(
                {
                    "error": "temporarily_unavailable",
                    "error_description": "Too many failed client authentications.",
                },
                status_code=429,
                headers={**NO_STORE, "Retry-After": str(wait)},
            )
            return response
        session: AsyncSession = request.state.session
        exchange = await self._preload(session, req, param)
        config = server_config(self.settings, request)
        outcome = decide(Server(exchange, config), req)
        if outcome.error == "invalid_client":
            await self.throttle.failed(*keys, f"client-ip:{client_ip(request)}")
        outcome = await ex.settle(session, exchange, outcome, config)
        return json_response(outcome)


def routes(settings: Settings) -> list[BaseRoute]:
    """The authorization server's routes, for the application factory."""
    return OAuthEndpoints(settings).routes()
