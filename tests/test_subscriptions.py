"""GraphQL subscriptions over `graphql-transport-ws`, against a live server.

A real `makesense-api serve` (tests/live.py; SQLite, or PostgreSQL under `TEST_DATABASE_URL`)
with the in-process broker, and the `websockets` client library speaking the protocol:

- `eventSeats` sends the seats at once, then after each registration made over HTTP by
  another client; `chapterEvents` reports a subtree's event changes to those who may see them
  (a draft only to its organizers), and nothing else;
- authentication in `connection_init`, re-checked per message: a revoked token closes 4403;
- mutations are refused over WebSocket (they would have no transaction to commit);
- protocol errors and limits close with the spec's codes (4400, 4401, 4403, 4408, 4409,
  4429), a subscription beyond the per-connection limit gets an `error`, foreign origins and
  other subprotocols are refused at the handshake.

The publication hook itself (after commit, never on rollback) is tested in process, on the
test database.
"""

import asyncio
import contextlib
import itertools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from makesense_api.authz.principal import Principal, Scope
from makesense_api.context import Ctx
from makesense_api.events import registrations
from makesense_api.graphql.relay import to_global_id
from makesense_api.kit.db import Database, make_sessionmaker
from makesense_api.kit.errors import DomainError, NotFound
from makesense_api.live import service as live_service
from makesense_api.live.broker import BrokerUnavailable, InProcessBroker
from makesense_api.live.changes import EVENTS_TOPIC, Change, event_topic
from makesense_api.live.outbox import relay_commits
from makesense_api.live.redis_broker import RedisBroker
from makesense_api.tokens.models import AccessToken
from makesense_api.tokens.service import hash_token
from tests.conftest import as_person
from tests.factories import Factory
from tests.gql import count_statements
from tests.live import LiveServer, free_port, live_server

PROTOCOL = Subprotocol("graphql-transport-ws")
WAIT_S = 10.0
QUIET_S = 0.7  # how long "nothing arrives" is watched for
SETTLE_S = 0.2  # lets a subscription without an initial message start listening

SEATS = """subscription($id: ID!) { eventSeats(eventId: $id) {
  eventId status capacity seatsTaken seatsLeft waitlistLength } }"""
CHAPTER = """subscription($slug: String!, $subtree: Boolean! = true) {
  chapterEvents(chapterSlug: $slug, includeSubtree: $subtree) {
    kind event { id title status hostChapter { slug } } } }"""
REGISTER = """mutation($id: ID!) { eventRegister(input: {eventId: $id}) {
  __typename ... on Error { code message } } }"""
CREATE = """mutation($input: EventCreateInput!) { eventCreate(input: $input) {
  __typename ... on EventPayload { event { id } } ... on Error { code message } } }"""
PUBLISH = """mutation($id: ID!) { eventPublish(input: {id: $id}) {
  __typename ... on Error { code message } } }"""
_ids = itertools.count(1)


class Socket:
    """A minimal graphql-transport-ws client over the `websockets` library."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: object) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    async def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = orjson.loads(await asyncio.wait_for(self.ws.recv(), WAIT_S))
        return message

    async def init(self, payload: object = None) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload or {}})
        return await self.receive()

    async def subscribe(self, query: str, **variables: Any) -> str:
        op = str(next(_ids))
        payload = {"query": query, "variables": variables}
        await self.send({"id": op, "type": "subscribe", "payload": payload})
        return op

    async def next(self, op: str) -> dict[str, Any]:
        """The next `next` payload of `op` (fails on anything else for it)."""
        while True:
            message = await self.receive()
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            assert message.get("id") == op, message
            assert message["type"] == "next", message
            payload: dict[str, Any] = message["payload"]
            return payload

    async def settle(self) -> None:
        """Let the subscriptions sent so far start listening: a query's round trip on the
        same connection, then a moment."""
        op = await self.subscribe("{ __typename }")
        assert (await self.next(op))["data"] == {"__typename": "Query"}
        assert await self.receive() == {"id": op, "type": "complete"}
        await asyncio.sleep(SETTLE_S)

    async def quiet(self) -> None:
        """Assert that nothing arrives for a while."""
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(self.ws.recv(), QUIET_S)

    async def closed(self) -> int | None:
        """Wait for the server to close; its close code."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), WAIT_S)
        except ConnectionClosed as closed:
            return None if closed.rcvd is None else closed.rcvd.code


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/graphql"


@contextlib.asynccontextmanager
async def socket(
    base_url: str, token: str | None = None, **kwargs: Any
) -> AsyncIterator[Socket]:
    """An open connection; with `token`, authenticated in `connection_init`."""
    async with connect(ws_url(base_url), subprotocols=[PROTOCOL], **kwargs) as ws:
        client = Socket(ws)
        if token is not None:
            ack = await client.init({"authorization": f"Bearer {token}"})
            assert ack["type"] == "connection_ack", ack
        yield client


async def gql(base_url: str, query: str, token: str | None = None, **variables: Any) -> Any:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=WAIT_S) as http:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def gid(kind: str, raw: uuid.UUID) -> str:
    return str(to_global_id(kind, raw))


# -- a live server and its data ------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    event_id: uuid.UUID  # public, published, 2 seats, waitlist on
    draft_id: uuid.UUID  # Paris, still a draft
    paris_id: uuid.UUID
    france_id: uuid.UUID
    organizer: str  # events:write, registrations:read on Paris (organizer of France)
    people: list[str]  # five people, each with a registrations:write token


LIMITS = {
    "MAKESENSE_GRAPHQL_WS_INIT_TIMEOUT_S": "1",
    "MAKESENSE_GRAPHQL_WS_MAX_SUBSCRIPTIONS": "3",
    "MAKESENSE_GRAPHQL_WS_ALLOWED_ORIGINS": '["https://app.example.org"]',
}


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveServer]:
    with environment(LIMITS):
        server = live_server(tmp_path_factory.mktemp("live-subscriptions"))
        started = await server.__aenter__()
    try:
        yield started
    finally:
        await server.__aexit__(None, None, None)


async def seed(factory: Factory) -> Seeded:
    tree = await factory.tree()
    event = await factory.event(tree["paris"], capacity=2, waitlist_enabled=True)
    draft = await factory.event(tree["paris"], publish=False, title="Secret draft")
    organizer_id = await factory.member(tree["france"], "organizer")
    organizer = await factory.token(
        organizer_id, {"events:read", "events:write", "registrations:read"}
    )
    people = []
    for _ in range(5):
        person_id = await factory.person()
        people.append(await factory.token(person_id, {"registrations:write", "profile"}))
    return Seeded(event.id, draft.id, tree["paris"].id, tree["france"].id, organizer, people)


@pytest.fixture(scope="module")
async def seeded(live: LiveServer) -> Seeded:
    async with live.seed() as factory:
        return await seed(factory)


async def revoke(live: LiveServer, token: str) -> None:
    async with live.seed() as factory:
        await factory.ctx.session.exec(
            sa.update(AccessToken)
            .where(AccessToken.token_hash == hash_token(token))  # type: ignore[arg-type]
            .values(revoked_at=sa.func.now())
        )


async def create_event(live: LiveServer, token: str, chapter_id: uuid.UUID, title: str) -> str:
    """A draft event created over HTTP (the server publishes only its own commits)."""
    created = await gql(live.base_url, CREATE, token, input={
        "chapterId": gid("Chapter", chapter_id), "title": title, "format": "IN_PERSON",
        "venueName": "La Ruche", "timezone": "Europe/Paris", "language": "fr",
        "startsAt": "2031-05-01T10:00:00Z", "endsAt": "2031-05-01T12:00:00Z"})
    event_id: str = created["eventCreate"]["event"]["id"]
    return event_id


# -- seats ---------------------------------------------------------------------------------


async def test_seats_change_live_after_registrations_over_http(
    live: LiveServer, seeded: Seeded
) -> None:
    event = gid("Event", seeded.event_id)
    async with socket(live.base_url) as ws:
        assert (await ws.init())["type"] == "connection_ack"
        op = await ws.subscribe(SEATS, id=event)
        first = (await ws.next(op))["data"]["eventSeats"]
        assert first == {"eventId": event, "status": "PUBLISHED", "capacity": 2,
                         "seatsTaken": 0, "seatsLeft": 2, "waitlistLength": 0}

        expected = [(1, 1, 0), (2, 0, 0), (2, 0, 1)]  # taken, left, waitlist
        for token, (taken, left, waiting) in zip(seeded.people, expected, strict=False):
            result = await gql(live.base_url, REGISTER, token, id=event)
            assert result["eventRegister"]["__typename"] == "RegistrationPayload"
            seats = (await ws.next(op))["data"]["eventSeats"]
            assert (seats["seatsTaken"], seats["seatsLeft"], seats["waitlistLength"]) == (
                taken, left, waiting)


async def test_a_change_that_leaves_the_seats_as_they_were_sends_nothing(
    live: LiveServer, seeded: Seeded
) -> None:
    async with live.seed() as factory:
        event = await factory.event(await _chapter(factory, seeded.paris_id), capacity=5)
    async with socket(live.base_url) as ws:
        await ws.init()
        op = await ws.subscribe(SEATS, id=gid("Event", event.id))
        assert (await ws.next(op))["data"]["eventSeats"]["seatsLeft"] == 5
        await gql(live.base_url, "mutation($id: ID!) { eventUpdate(input: {id: $id, title: "
                  '"Renamed"}) { __typename } }', seeded.organizer, id=gid("Event", event.id))
        await ws.quiet()


async def _chapter(factory: Factory, chapter_id: uuid.UUID) -> Any:
    from makesense_api.chapters import service as chapters

    return await chapters.get(factory.ctx, chapter_id)


async def test_a_draft_is_not_found_by_those_who_cannot_see_it(
    live: LiveServer, seeded: Seeded
) -> None:
    async with socket(live.base_url) as ws:
        await ws.init()
        op = await ws.subscribe(SEATS, id=gid("Event", seeded.draft_id))
        result = await ws.next(op)
        assert result["data"] is None
        assert result["errors"][0]["extensions"]["code"] == "not_found"
    async with socket(live.base_url, seeded.organizer) as ws:
        op = await ws.subscribe(SEATS, id=gid("Event", seeded.draft_id))
        assert (await ws.next(op))["data"]["eventSeats"]["status"] == "DRAFT"


# -- chapter events ------------------------------------------------------------------------


async def test_chapter_events_reach_only_those_who_may_see_them(
    live: LiveServer, seeded: Seeded
) -> None:
    async with (
        socket(live.base_url) as anonymous,
        socket(live.base_url, seeded.organizer) as organizer,
        socket(live.base_url) as elsewhere,
    ):
        await anonymous.init()
        await elsewhere.init()
        seen_by_all = await anonymous.subscribe(CHAPTER, slug="france")
        seen_by_organizer = await organizer.subscribe(CHAPTER, slug="france")
        await elsewhere.subscribe(CHAPTER, slug="africa")
        for ws in (anonymous, organizer, elsewhere):
            await ws.settle()

        event_id = await create_event(live, seeded.organizer, seeded.paris_id, "Repair café")
        change = (await organizer.next(seen_by_organizer))["data"]["chapterEvents"]
        assert change == {"kind": "CREATED", "event": {
            "id": event_id, "title": "Repair café", "status": "DRAFT",
            "hostChapter": {"slug": "paris"}}}
        await anonymous.quiet()  # a draft: invisible to anonymous subscribers

        await gql(live.base_url, PUBLISH, seeded.organizer, id=event_id)
        for ws, op in ((anonymous, seen_by_all), (organizer, seen_by_organizer)):
            change = (await ws.next(op))["data"]["chapterEvents"]
            assert (change["kind"], change["event"]["id"]) == ("PUBLISHED", event_id)
        await elsewhere.quiet()  # another branch of the tree


async def test_include_subtree_false_watches_the_chapter_alone(
    live: LiveServer, seeded: Seeded
) -> None:
    async with socket(live.base_url, seeded.organizer) as ws:
        op = await ws.subscribe(CHAPTER, slug="france", subtree=False)
        await ws.settle()
        for chapter_id, title in ((seeded.paris_id, "In Paris"), (seeded.france_id, "In France")):
            await create_event(live, seeded.organizer, chapter_id, title)
        change = (await ws.next(op))["data"]["chapterEvents"]  # Paris's came first
        assert (change["kind"], change["event"]["title"]) == ("CREATED", "In France")


async def test_an_unknown_chapter_is_not_found(live: LiveServer) -> None:
    async with socket(live.base_url) as ws:
        await ws.init()
        op = await ws.subscribe(CHAPTER, slug="atlantis")
        result = await ws.next(op)
        assert result["errors"][0]["extensions"]["code"] == "not_found"


# -- authentication ------------------------------------------------------------------------


async def test_a_revoked_token_closes_the_connection_with_4403(
    live: LiveServer, seeded: Seeded
) -> None:
    async with live.seed() as factory:
        person_id = await factory.person()
        token = await factory.token(person_id, {"profile"})
    event = gid("Event", seeded.event_id)
    async with socket(live.base_url, token) as ws:
        op = await ws.subscribe(SEATS, id=event)
        await ws.next(op)
        await revoke(live, token)
        await gql(live.base_url, REGISTER, seeded.people[3], id=event)
        assert await ws.closed() == 4403


async def test_the_handshake_token_counts_without_a_payload_token(
    live: LiveServer, seeded: Seeded
) -> None:
    headers = {"authorization": f"Bearer {seeded.organizer}"}
    async with socket(live.base_url, additional_headers=headers) as ws:
        assert (await ws.init())["type"] == "connection_ack"
        op = await ws.subscribe(SEATS, id=gid("Event", seeded.draft_id))
        assert (await ws.next(op))["data"]["eventSeats"]["status"] == "DRAFT"


@pytest.mark.parametrize(
    "payload",
    [
        {"authorization": "Bearer msk_not_a_real_token"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": "Bearer two tokens"},
        {"authorization": 42},
    ],
)
async def test_bad_credentials_in_connection_init_close_with_4403(
    live: LiveServer, payload: dict[str, Any]
) -> None:
    async with socket(live.base_url) as ws:
        await ws.send({"type": "connection_init", "payload": payload})
        assert await ws.closed() == 4403


# -- protocol and limits -------------------------------------------------------------------


async def test_protocol_errors_close_with_the_spec_codes(
    live: LiveServer, seeded: Seeded
) -> None:
    event = gid("Event", seeded.event_id)
    async with socket(live.base_url) as ws:  # payload not an object
        await ws.send({"type": "connection_init", "payload": "hello"})
        assert await ws.closed() == 4400
    async with socket(live.base_url) as ws:  # not JSON
        await ws.ws.send("{not json")
        assert await ws.closed() == 4400
    async with socket(live.base_url) as ws:  # subscribe before connection_ack
        await ws.subscribe(SEATS, id=event)
        assert await ws.closed() == 4401
    async with socket(live.base_url) as ws:  # a second connection_init
        await ws.init()
        await ws.send({"type": "connection_init"})
        assert await ws.closed() == 4429
    async with socket(live.base_url) as ws:  # an id already in use
        await ws.init()
        await ws.send({"id": "a", "type": "subscribe", "payload": {
            "query": SEATS, "variables": {"id": event}}})
        await ws.next("a")
        await ws.send({"id": "a", "type": "subscribe", "payload": {
            "query": SEATS, "variables": {"id": event}}})
        assert await ws.closed() == 4409
    async with socket(live.base_url) as ws:  # no connection_init in time (1 s here)
        assert await ws.closed() == 4408


async def test_mutations_over_websocket_are_refused_and_change_nothing(
    live: LiveServer, seeded: Seeded
) -> None:
    async with live.seed() as factory:
        event = await factory.event(await _chapter(factory, seeded.paris_id), capacity=4)
    event_id = gid("Event", event.id)
    async with socket(live.base_url, seeded.people[0]) as ws:
        op = await ws.subscribe(REGISTER, id=event_id)
        message = await ws.receive()
        assert (message["id"], message["type"]) == (op, "error")
        assert "over HTTP" in message["payload"][0]["message"]
        seats = await ws.subscribe(SEATS, id=event_id)
        assert (await ws.next(seats))["data"]["eventSeats"]["seatsTaken"] == 0


async def test_subscriptions_beyond_the_limit_get_an_error(
    live: LiveServer, seeded: Seeded
) -> None:
    event = gid("Event", seeded.event_id)
    async with socket(live.base_url) as ws:
        await ws.init()
        for _ in range(3):
            await ws.next(await ws.subscribe(SEATS, id=event))
        op = await ws.subscribe(SEATS, id=event)
        message = await ws.receive()
        assert (message["id"], message["type"]) == (op, "error")
        assert "limit" in message["payload"][0]["message"]


async def test_origins_and_subprotocols_are_checked_at_the_handshake(
    live: LiveServer,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(live.base_url), subprotocols=[PROTOCOL],
                           origin="https://evil.example.com"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    async with socket(live.base_url, origin="https://app.example.org") as ws:
        assert (await ws.init())["type"] == "connection_ack"
    legacy = Subprotocol("graphql-ws")
    with contextlib.suppress(InvalidStatus):
        async with connect(ws_url(live.base_url), subprotocols=[legacy]) as ws:
            assert ws.subprotocol != legacy
            assert await Socket(ws).closed() == 4406


async def test_subscriptions_are_refused_over_http(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=WAIT_S) as http:
        response = await http.post(
            "/graphql", json={"query": SEATS, "variables": {"id": "x"}},
            headers={"accept": "application/graphql-response+json"},
        )
    assert response.status_code == 400
    assert "WebSocket" in response.json()["errors"][0]["message"]


# -- a reference client ------------------------------------------------------------------


JS = Path(__file__).parent / "js"
NODE = shutil.which("node")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
HOW_TO_RUN_JS = "needs Node.js 20+ and the reference client: `cd tests/js && npm ci` (.ci/run does)"
JS_MISSING = NODE is None or not (JS / "node_modules" / "graphql-ws").is_dir()


@pytest.mark.node
@pytest.mark.skipif(JS_MISSING and not IN_CI, reason=HOW_TO_RUN_JS)
async def test_the_graphql_ws_reference_client_sees_seats_change_live(
    live: LiveServer, seeded: Seeded
) -> None:
    async with live.seed() as factory:
        event = await factory.event(await _chapter(factory, seeded.paris_id), capacity=3)
    env = {
        **os.environ, "URL": ws_url(live.base_url), "TOKEN": seeded.people[4], "QUERY": SEATS,
        "VARIABLES": orjson.dumps({"id": gid("Event", event.id)}).decode(), "COUNT": "2",
    }
    client = await asyncio.create_subprocess_exec(
        NODE or "node", str(JS / "subscribe.mjs"), env=env, cwd=JS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert client.stdout is not None
        first = orjson.loads(await asyncio.wait_for(client.stdout.readline(), WAIT_S) or b"{}")
        assert first["data"]["eventSeats"]["seatsLeft"] == 3, first
        await gql(live.base_url, REGISTER, seeded.people[0], id=gid("Event", event.id))
        second = orjson.loads(await asyncio.wait_for(client.stdout.readline(), WAIT_S) or b"{}")
        assert second["data"]["eventSeats"]["seatsLeft"] == 2, second
        assert await asyncio.wait_for(client.wait(), WAIT_S) == 0
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()


# -- publication after commit (in process, on the test database) ---------------------------


@pytest.fixture
async def relayed(
    database: Database, connection: AsyncConnection
) -> AsyncIterator[tuple[Database, InProcessBroker]]:
    app_database = Database(
        database.engine,
        make_sessionmaker(connection, join_transaction_mode="create_savepoint"),  # type: ignore[arg-type]
    )
    broker = InProcessBroker()
    stop = relay_commits(app_database, broker)
    try:
        yield app_database, broker
    finally:
        stop()


async def test_changes_are_published_after_commit_only(
    relayed: tuple[Database, InProcessBroker], factory: Factory
) -> None:
    app_database, broker = relayed
    paris = (await factory.tree())["paris"]
    with broker.listen(EVENTS_TOPIC) as inbox:
        async with app_database.sessionmaker() as session:
            made = Factory(Ctx.of(session, Principal.system()))
            event = await made.event(paris, publish=False)
            assert inbox.drain() == []  # flushed, not committed
            await session.commit()
        assert inbox.drain() == [Change("event.created", paris.id, event.id)]

        async with app_database.sessionmaker() as session:
            made = Factory(Ctx.of(session, Principal.system()))
            await made.event(paris, publish=False)
            await session.rollback()
        assert inbox.drain() == []


async def test_a_failed_use_case_publishes_nothing_of_its_own(
    relayed: tuple[Database, InProcessBroker], factory: Factory
) -> None:
    app_database, broker = relayed
    paris = (await factory.tree())["paris"]
    event = await factory.event(paris, capacity=1)
    person_id = await factory.person()
    with broker.listen(event_topic(event.id)) as inbox:
        async with app_database.sessionmaker() as session:
            ctx = Ctx.of(session, Principal.system())
            with pytest.raises(DomainError):
                await registrations.register(ctx, event.id, uuid.uuid4())
            await registrations.register(ctx, event.id, person_id)
            await session.commit()
        assert [change.type for change in inbox.drain()] == ["registration.created"]
        assert broker.hub.listeners == 1
    assert broker.hub.listeners == 0


async def test_the_reads_after_a_change_follow_the_query_rules(
    session: AsyncSession, factory: Factory
) -> None:
    tree = await factory.tree()
    event = await factory.event(tree["paris"], capacity=1)
    draft = await factory.event(tree["paris"], publish=False)
    for _ in range(3):
        await factory.registration(event.id, await factory.person())
    anonymous = Ctx.of(session, Principal.anonymous())
    with count_statements(session) as statements:
        seats = await live_service.event_seats(anonymous, event.id)
    assert (seats.seats_taken, seats.seats_left, seats.waitlist_length) == (1, 0, 2)
    assert len(statements) == 2  # the visible row, the waitlist count
    with pytest.raises(NotFound):
        await live_service.event_seats(anonymous, draft.id)
    assert await live_service.visible_event(anonymous, draft.id) is None
    organizer = as_person(session, await factory.member(tree["france"], "organizer"),
                          scopes={Scope.EVENTS_READ})
    assert (await live_service.event_seats(organizer, draft.id)).status == "draft"
    assert await live_service.in_subtree(anonymous, tree["france"].id, tree["batignolles"].id)
    assert not await live_service.in_subtree(anonymous, tree["france"].id, tree["lagos"].id)


async def test_the_redis_broker_refuses_to_start_when_redis_does_not_answer() -> None:
    broker = RedisBroker(f"redis://127.0.0.1:{free_port()}/0", "test:live:nowhere")
    with pytest.raises(BrokerUnavailable, match="Redis did not answer"):
        await broker.start()


def test_a_change_survives_encoding() -> None:
    change = Change("registration.created", uuid.uuid4(), uuid.uuid4())
    assert Change.decode(change.encode()) == change
    assert change.topics == [event_topic(change.event_id)]  # type: ignore[arg-type]
    assert EVENTS_TOPIC in Change("event.updated", None, uuid.uuid4()).topics
    with pytest.raises(ValueError, match="not a change"):
        Change.decode(b"[1]")
