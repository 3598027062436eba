"""Root subscription fields, served over WebSocket (`graphql-transport-ws`) at `/graphql`.

Authentication: the `connection_init` payload may carry `{"authorization": "Bearer <token>"}`
(browsers cannot set headers on a WebSocket); without it, the handshake's `Authorization`
header counts, and without either the connection is anonymous. A token that does not
authenticate closes the connection with 4403. The token is checked again before each message:
once it is revoked or expired, the connection closes with 4403.

Queries may run over the connection too; mutations are refused there (an `error` message):
they go over HTTP, whose request transaction commits before the answer.

Every message is read afresh, through the same services and visibility rules as queries, with
the subscriber's own principal (live/streams.py); what a subscriber may not query, it is not
sent.
"""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from enum import Enum
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.websockets import WebSocket, WebSocketState
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from makesense_api.authn import MalformedAuthorization, _resolve_apart, bearer_token
from makesense_api.context import Ctx
from makesense_api.graphql.context import GraphQLContext, Info
from makesense_api.graphql.relay import expect_id, to_global_id
from makesense_api.graphql.types.events import Event, EventStatus
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database, write_intent
from makesense_api.live import streams
from makesense_api.live.broker import Broker, Interrupted
from makesense_api.live.service import SeatsView
from makesense_api.live.streams import OpenCtx, Revoked
from makesense_api.tokens import service as tokens

FORBIDDEN = 4403
# RFC 6455 "Try Again Later": the broker lost its server (Redis); clients reconnect (the
# graphql-ws client retries this code) and read afresh.
TRY_AGAIN_LATER = 1013


def _token(context: GraphQLContext) -> str | None:
    """The connection's bearer token: `connection_init`'s, else the handshake's."""
    params = context.connection_params or {}
    if "authorization" in params:
        value = params["authorization"]
        token = None
        if isinstance(value, str):
            token = bearer_token([(b"authorization", value.encode())])
        if token is None:
            raise MalformedAuthorization("authorization must read 'Bearer <token>'")
        return token
    return bearer_token(context.request.headers.raw)


async def authenticate(context: GraphQLContext) -> None:
    """Called on `connection_init`: act as the token's principal, or reject (4403)."""
    try:
        token = _token(context)
    except (MalformedAuthorization, UnicodeEncodeError):
        raise ConnectionRejectionError from None
    if token is None:
        return
    principal = await _resolve_apart(_database(context), token, utcnow())
    if principal is None:
        raise ConnectionRejectionError
    context.ctx = Ctx.of(context.ctx.session, principal, context.ctx.languages)


def _database(context: GraphQLContext) -> Database:
    database: Database = context.request.scope["state"]["database"]
    return database


def _opener(context: GraphQLContext, broker: Broker) -> OpenCtx:
    """Short read sessions, each acting as the subscriber as its token stands now."""
    database, token = _database(context), _token(context)

    @contextlib.asynccontextmanager
    async def open_ctx() -> AsyncIterator[Ctx]:
        reads = write_intent.set(False)
        try:
            async with broker.reading(), database.sessionmaker() as session:
                principal = context.ctx.principal
                if token is not None:
                    found = await tokens.lookup(session, token, utcnow())
                    if found is None:
                        raise Revoked
                    principal = found.principal
                yield Ctx.of(session, principal, context.ctx.languages)
        finally:
            write_intent.reset(reads)

    return open_ctx


async def _live(info: Info, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """Relay `stream`; when the subscriber's token stops authenticating, close (4403); when
    the broker loses its server, close with 1013 (try again later)."""
    try:
        async for item in stream:
            yield item
    except (Revoked, Interrupted) as exc:
        websocket: WebSocket = info.context.request  # type: ignore[assignment]
        if websocket.application_state is WebSocketState.CONNECTED:  # not closed by a sibling
            if isinstance(exc, Revoked):
                await websocket.close(FORBIDDEN, "Forbidden")
            else:
                await websocket.close(TRY_AGAIN_LATER, "Live changes interrupted; reconnect")
        await asyncio.Event().wait()  # until the closed connection cancels the operation


class TransportWSHandler(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """graphql-transport-ws, refusing mutations: a WebSocket operation has no transaction of
    its own to commit, so a mutation must go over HTTP, where it commits before answering."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and _is_mutation(message):
            error = GraphQLError("Send mutations over HTTP (POST /graphql).")
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)


def _is_mutation(message: SubscribeMessage) -> bool:
    payload = message.get("payload")
    query = payload.get("query") if isinstance(payload, dict) else None
    if not isinstance(query, str):
        return False  # the base handler refuses it
    try:
        operation = get_operation_ast(parse(query), payload.get("operationName"))
    except GraphQLError:
        return False  # the base handler answers syntax errors
    return operation is not None and operation.operation is OperationType.MUTATION


def _broker(info: Info) -> Broker:
    broker: Broker = info.context.request.scope["state"]["broker"]
    return broker


@strawberry.type(description="The seats of an event at one moment.")
class EventSeats:
    event_id: strawberry.ID = strawberry.field(description="The event's global ID.")
    status: EventStatus = strawberry.field(description="Draft, published or cancelled.")
    capacity: int | None = strawberry.field(description="Seats in all; null when unlimited.")
    seats_taken: int = strawberry.field(description="Seats held by registered people.")
    seats_left: int | None = strawberry.field(description="Seats still free; null: unlimited.")
    waitlist_length: int = strawberry.field(description="People queued for a freed seat.")

    @classmethod
    def from_view(cls, v: SeatsView) -> "EventSeats":
        return cls(
            event_id=to_global_id("Event", v.event_id),
            status=EventStatus(v.status),
            capacity=v.capacity,
            seats_taken=v.seats_taken,
            seats_left=v.seats_left,
            waitlist_length=v.waitlist_length,
        )


@strawberry.enum(description="What happened to an event.")
class EventChangeKind(Enum):
    CREATED = strawberry.enum_value("created", description="It was created (as a draft).")
    UPDATED = strawberry.enum_value("updated", description="Its details or capacity changed.")
    PUBLISHED = strawberry.enum_value("published", description="It was published.")
    CANCELLED = strawberry.enum_value("cancelled", description="It was called off.")


@strawberry.type(description="An event of the watched chapters changed.")
class EventChange:
    kind: EventChangeKind = strawberry.field(description="What happened.")
    event: Event = strawberry.field(description="The event as it is now.")


@strawberry.type(
    description="Live changes over WebSocket (graphql-transport-ws). Authenticate with "
    '`{"authorization": "Bearer <token>"}` in the `connection_init` payload.'
)
class Subscription:
    @strawberry.subscription(
        description="The seats of an event: sent at once, then whenever a registration "
        "changes them (seats taken or left, waitlist length, capacity, status). Ends when the "
        "event stops being visible to the subscriber."
    )
    async def event_seats(
        self,
        info: Info,
        event_id: Annotated[strawberry.ID, strawberry.argument(description="The event's ID.")],
    ) -> AsyncGenerator[EventSeats, None]:
        raw = expect_id(event_id, "Event", "eventId")
        broker = _broker(info)
        stream = streams.event_seats(broker, _opener(info.context, broker), raw)
        async for seats in _live(info, stream):
            yield EventSeats.from_view(seats)

    @strawberry.subscription(
        description="Events hosted by a chapter (and by default its whole subtree) as they are "
        "created, updated, published or cancelled; only those the subscriber may see."
    )
    async def chapter_events(
        self,
        info: Info,
        chapter_slug: Annotated[str, strawberry.argument(description="The chapter's slug.")],
        include_subtree: Annotated[
            bool, strawberry.argument(description="Include every descendant chapter.")
        ] = True,
    ) -> AsyncGenerator[EventChange, None]:
        broker = _broker(info)
        stream = streams.chapter_events(
            broker, _opener(info.context, broker), chapter_slug, include_subtree
        )
        async for change in _live(info, stream):
            # Nested fields resolve through the connection's loaders: let them read afresh.
            info.context.loaders.clear()
            kind = EventChangeKind(change.kind)
            yield EventChange(kind=kind, event=Event.from_view(change.event))
