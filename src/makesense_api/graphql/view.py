"""GraphQL over HTTP and over WebSocket (`graphql-transport-ws`), at `/graphql`.

HTTP follows the GraphQL-over-HTTP spec:

    method        GET (queries only; a mutation is 405 with `Allow: POST`) or POST; else 405
    Accept        application/graphql-response+json or application/json, else 406 (media.py)
    Content-Type  POST bodies are application/json (UTF-8), else 415; malformed JSON is 400
    body size     at most `graphql_max_body_bytes`, else 413
    rate limits   the operation's cost is charged to the caller's budgets before it runs
                  (ops/ratelimit.py): 429 when over, else `extensions.rateLimit`
    status        graphql-response+json: 400 when the document was not executed (syntax,
                  validation, a limit, variable coercion), without `data`; 200 once executed.
                  application/json: 200 for all of these.
    caching       `Vary: Accept, Accept-Language, Authorization` always. `Cache-Control: public,
                  max-age=…` only for a hash-only persisted query over GET by an anonymous
                  caller that succeeded without errors; `no-store` for everything else.

Requests that never reach GraphQL (405, 406, 413, 415, bad parameters, a persisted-query miss)
still answer with a GraphQL-shaped body: `{"errors": [{"message", "extensions": {"code"}}]}`.
Everything that runs an operation goes through the schema's guards (guards.py), whichever
transport carries it.
"""

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import orjson
import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from makesense_api.config import Settings
from makesense_api.graphql import guards, subscriptions
from makesense_api.graphql.apq import (
    PersistedQueries,
    PersistedQueryError,
    QueryStore,
    store_for,
)
from makesense_api.graphql.compiled import Fallback, Plans
from makesense_api.graphql.context import GraphQLContext, build_context
from makesense_api.graphql.masking import (
    INTERNAL_MESSAGE,
    INTERNAL_SERVER_ERROR,
    SERVICE_UNAVAILABLE,
    UNAVAILABLE_MESSAGE,
    present_all,
)
from makesense_api.graphql.media import JSON, is_json_request, negotiate
from makesense_api.graphql.schema import build_schema
from makesense_api.kit.db import RETRY_AFTER_S, Database, unavailable
from makesense_api.kit.logs import request_id
from makesense_api.ops.admission import Admission, Pricing
from makesense_api.ops.ratelimit import RateLimited

log = logging.getLogger("makesense_api.graphql")

VARY = "Accept, Accept-Language, Authorization"
QUERIES_ONLY = frozenset({OperationType.QUERY})
QUERIES_AND_MUTATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})


class Refusal(Exception):
    """A request answered without running an operation."""

    def __init__(
        self, status: int, message: str, code: str = "BAD_REQUEST", **headers: str
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers


@dataclass(frozen=True)
class Params:
    """The GraphQL-over-HTTP request parameters, type-checked."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def _expect(raw: Mapping[str, Any], key: str, kind: type, label: str) -> Any:
    value = raw.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise Refusal(400, f"The `{key}` parameter must be {label} or null.")


def _decode(text: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise Refusal(400, f"{what} is not valid JSON.") from None


def _code(error: GraphQLError) -> object:
    return (error.extensions or {}).get("code")


def _bounded(receive: Receive, limit: int) -> Receive:
    """`receive`, refusing bodies larger than `limit` bytes as they stream in."""
    received = 0

    async def bounded() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise Refusal(413, f"The request body exceeds {limit} bytes.", "PAYLOAD_TOO_LARGE")
        return message

    return bounded


class GraphQLView(GraphQL[GraphQLContext, None]):
    """Strawberry's ASGI view, held to the GraphQL-over-HTTP spec and the API's guards."""

    graphql_transport_ws_handler_class = subscriptions.TransportWSHandler

    def __init__(
        self, schema: strawberry.Schema, settings: Settings, store: QueryStore | None = None
    ) -> None:
        """Takes ownership of `schema` (adds the guards); `store` keeps persisted queries."""
        costs = guards.install(schema, settings)
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.graphql_ws_init_timeout_s),
            allowed_origins=settings.graphql_ws_allowed_origins,
            max_subscriptions_per_connection=settings.graphql_ws_max_subscriptions,
        )
        self.settings = settings
        self.persisted = PersistedQueries(
            store or store_for(settings), enabled=settings.graphql_apq
        )
        self.plans = Plans(
            schema,
            settings.graphql_document_cache_size,
            settings.graphql_max_cost,
            settings.graphql_default_page_size,
            costs,
        )
        self.pricing = Pricing(schema._schema, costs, settings)

    @classmethod
    def for_settings(cls, settings: Settings) -> "GraphQLView":
        """The API's schema (field suggestions off in production) behind the view."""
        return cls(build_schema(suggestions=settings.environment != "production"), settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._serve_websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, _bounded(receive, self.settings.graphql_max_body_bytes))
        response = await self._respond(request)
        await response(scope, receive, send)

    # -- HTTP ---------------------------------------------------------------------------------

    async def _respond(self, request: Request) -> Response:
        media = JSON  # until negotiated
        try:
            if request.method not in ("GET", "POST"):
                raise Refusal(
                    405,
                    "GraphQL is served over GET and POST.",
                    "METHOD_NOT_ALLOWED",
                    Allow="GET, POST",
                )
            adapter = self.request_adapter_class(request)
            if self.graphql_ide and self.should_render_graphql_ide(adapter):
                return await self.render_graphql_ide(request)
            negotiated = negotiate(request.headers.get("accept"))
            if negotiated is None:
                raise Refusal(
                    406,
                    "Accept application/graphql-response+json or application/json.",
                    "NOT_ACCEPTABLE",
                )
            media = negotiated
            return await self._run(request, media)
        except Refusal as refusal:
            body = {"errors": [{"message": refusal.message, "extensions": {"code": refusal.code}}]}
            return self._json(body, refusal.status, media, **refusal.headers)
        except Exception as exc:
            if unavailable(exc):
                extensions = {"code": SERVICE_UNAVAILABLE, "retryAfter": RETRY_AFTER_S}
                body = {"errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": extensions}]}
                return self._json(body, 503, media, **{"Retry-After": str(RETRY_AFTER_S)})
            log.exception("GraphQL request failed outside the operation")
            extensions = {"code": INTERNAL_SERVER_ERROR, "request_id": request_id.get()}
            body = {"errors": [{"message": INTERNAL_MESSAGE, "extensions": extensions}]}
            return self._json(body, 500, media)

    async def _run(self, request: Request, media: str) -> Response:
        if request.method == "POST" and not is_json_request(request.headers.get("content-type")):
            raise Refusal(
                415, "Send the request body as application/json.", "UNSUPPORTED_MEDIA_TYPE"
            )
        params = await self._params(request)
        try:
            lookup = await self.persisted.resolve(params.query, params.extensions)
        except PersistedQueryError as error:
            raise Refusal(error.status, error.message, error.code) from None
        context = build_context(request)
        admission = await self._admit(request, lookup.query, params)
        result = await self._compiled(request, lookup.query, params, context)
        if result is None:
            result = await self._execute(request, lookup.query, params, context)
            if not isinstance(result, PreExecutionError) and not result.errors:
                self.plans.learn(lookup.query, params.operation_name)
        if not isinstance(result, PreExecutionError):
            await self.persisted.remember(lookup)
        shareable = lookup.hash_only and request.method == "GET" and self._anonymous(context)
        return self._result(result, media, shareable, admission)

    async def _admit(self, request: Request, query: str | None, params: Params) -> Admission:
        """Charge the operation's cost to the caller's rate limits before it runs (429 if over;
        the RateLimit-* and Retry-After headers come from the rate-limit middleware)."""
        try:
            return await self.pricing.admit(
                request.scope, query, params.operation_name, params.variables
            )
        except RateLimited as refused:
            raise Refusal(429, str(refused), "RATE_LIMITED") from None

    async def _params(self, request: Request) -> Params:
        raw: Any
        if request.method == "GET":
            raw = dict(request.query_params)
            for key in ("variables", "extensions"):
                raw[key] = _decode(raw[key], f"The `{key}` parameter") if raw.get(key) else None
        else:
            raw = _decode(await request.body(), "The request body")
            if not isinstance(raw, dict):
                raise Refusal(400, "The request body must be a JSON object.")
        return Params(
            query=_expect(raw, "query", str, "a string"),
            variables=_expect(raw, "variables", dict, "an object"),
            operation_name=_expect(raw, "operationName", str, "a string"),
            extensions=_expect(raw, "extensions", dict, "an object"),
        )

    async def _compiled(
        self, request: Request, query: str | None, params: Params, context: GraphQLContext
    ) -> ExecutionResult | None:
        """The result of the document's compiled plan (compiled.py), if it has one and the run
        meets only plain data; else None, and the full path answers with a fresh context."""
        try:
            return await self.plans.run(
                query, params.operation_name, params.variables, context, params.extensions
            )
        except Fallback as fallback:
            if fallback.unexpected:
                log.warning("compiled plan gave way to the full path", exc_info=fallback.error)
            if fallback.database:
                await context.ctx.session.rollback()
            context.loaders.clear()
            context.ctx = build_context(request).ctx
            return None

    async def _execute(
        self, request: Request, query: str | None, params: Params, context: GraphQLContext
    ) -> ExecutionResult:
        allowed = QUERIES_ONLY if request.method == "GET" else QUERIES_AND_MUTATIONS
        try:
            return await self.schema.execute(
                query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            )
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.MUTATION:
                raise Refusal(
                    405,
                    "Mutations are accepted over POST only.",
                    "METHOD_NOT_ALLOWED",
                    Allow="POST",
                ) from None
            raise Refusal(
                400, "Subscriptions are served over WebSocket (graphql-transport-ws)."
            ) from None
        except CannotGetOperationTypeError as error:
            raise Refusal(400, error.as_http_error_reason()) from None
        except MissingQueryError:
            raise Refusal(400, "The request has no `query`.") from None

    @staticmethod
    def _anonymous(context: GraphQLContext) -> bool:
        return "authorization" not in context.request.headers and context.ctx.principal.is_anonymous

    def _result(
        self, result: ExecutionResult, media: str, shareable: bool, admission: Admission
    ) -> Response:
        errors = present_all(result.errors or [])
        executed = not isinstance(result, PreExecutionError) and not (
            result.data is None and errors and all(error.path is None for error in errors)
        )
        body: dict[str, Any] = {"data": result.data} if executed else {}
        if errors:
            body["errors"] = [error.formatted for error in errors]
        extensions = {**(result.extensions or {}), **admission.extensions()}
        if extensions:
            body["extensions"] = extensions
        admission.finish(bool(errors))
        status = 200 if executed or media == JSON else 400
        if not executed and any(_code(error) == INTERNAL_SERVER_ERROR for error in errors):
            status = 500
        headers = {}
        if any(_code(error) == SERVICE_UNAVAILABLE for error in errors):
            # Nothing is kept of an operation that lost its database: the 503 rolls it back.
            status, headers = 503, {"Retry-After": str(RETRY_AFTER_S)}
        cache = "no-store"
        if shareable and executed and not errors:
            cache = f"public, max-age={self.settings.graphql_apq_max_age_s}"
        return self._json(body, status, media, **{"Cache-Control": cache}, **headers)

    @staticmethod
    def _json(body: object, status: int, media: str, **headers: str) -> Response:
        return Response(
            orjson.dumps(body),
            status_code=status,
            media_type=f"{media}; charset=utf-8",
            headers={"Cache-Control": "no-store", "Vary": VARY, **headers},
        )

    # -- WebSocket ----------------------------------------------------------------------------

    async def _serve_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One request id and one session per connection, closed with it."""
        token = request_id.set(secrets.token_hex(8))
        try:
            await super().__call__(scope, receive, send)
        finally:
            session = scope.get("state", {}).pop("session", None)
            if session is not None:
                await session.close()
            request_id.reset(token)

    async def on_ws_connect(self, context: GraphQLContext) -> UnsetType | dict[str, object] | None:
        """`connection_init`: authenticate the connection (graphql/subscriptions.py), or 4403."""
        await subscriptions.authenticate(context)
        return cast(UnsetType, UNSET)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> GraphQLContext:
        """Used for WebSocket connections; HTTP requests build their context in `_run`."""
        state = request.scope.setdefault("state", {})
        database: Database = state["database"]
        state["session"] = database.sessionmaker()
        # The context reads only what HTTP requests and WebSocket handshakes share.
        return build_context(cast(Request, request))
