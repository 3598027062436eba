"""Webhooks: the outbox, the dispatcher against a real HTTP receiver on loopback, signatures,
retries, SSRF refusals, and who sees which endpoints and payloads.

The dispatcher runs here pass by pass (`run_once`) on the test's database view, so each test
stays inside its rolled-back transaction; `test_webhooks_process.py` runs it as processes.
"""

import asyncio
import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from makesense_api.authz.principal import Principal
from makesense_api.config import Settings, get_settings
from makesense_api.context import Ctx
from makesense_api.events import registrations
from makesense_api.events import service as events
from makesense_api.kit.db import Database
from makesense_api.kit.errors import NotFound, ValidationFailed
from makesense_api.kit.models import DomainEvent
from makesense_api.people import service as people
from makesense_api.projects import contributions, needs
from makesense_api.webhooks import service as webhooks
from makesense_api.webhooks.dispatcher import Dispatcher, delay, http_client, retry_span
from makesense_api.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.factories import Factory

# -- a real receiver ------------------------------------------------------------------------


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that answers from a script and de-duplicates by
    `webhook-id`, as a careful receiver would. Script entries: a status code, or ("sleep", s)
    to hold the request for s seconds before answering 200."""

    script: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    effects: dict[str, dict[str, Any]] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)
    overlaps: int = 0
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, float, str]:
        msg_id = headers.get("webhook-id", "")
        with self.lock:
            self.requests.append({"headers": headers, "body": body.decode()})
            step = self.script.pop(0) if self.script else 200
            self.in_flight[msg_id] = self.in_flight.get(msg_id, 0) + 1
            if self.in_flight[msg_id] > 1:
                self.overlaps += 1
        if isinstance(step, tuple):
            return 200, float(step[1]), ""
        location = "http://127.0.0.1:9/elsewhere" if 300 <= step < 400 else ""
        return int(step), self.delay_s, location

    def done(self, status: int, headers: dict[str, str], body: bytes) -> None:
        msg_id = headers.get("webhook-id", "")
        with self.lock:
            self.in_flight[msg_id] -= 1
            if 200 <= status < 300 and msg_id not in self.effects:
                self.effects[msg_id] = json.loads(body)


@contextlib.contextmanager
def receiving(script: list[Any] | None = None, delay_s: float = 0.0) -> Iterator[Receiver]:
    receiver = Receiver(script=list(script or []), delay_s=delay_s)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, pause, location = receiver.answer(headers, body)
            time.sleep(pause)
            receiver.done(status, headers, body)
            try:
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender gave up (timeout) or died

        def log_message(self, *_: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # concurrent senders must not wait in a short backlog

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def failure_count(reason: str) -> float:
    """Failed attempts counted by `makesense_webhook_failures_total` for `reason` so far."""
    value = REGISTRY.get_sample_value("makesense_webhook_failures_total", {"reason": reason})
    return value or 0.0


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Registration accepts loopback URLs (the development switch)."""
    monkeypatch.setenv("MAKESENSE_WEBHOOKS_ALLOW_LOOPBACK", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("MAKESENSE_WEBHOOKS_ALLOW_LOOPBACK")
    get_settings.cache_clear()


def fast(settings: Settings, **changes: Any) -> Settings:
    """Settings with a quick retry schedule, for tests."""
    return settings.model_copy(
        update={
            "webhooks_allow_loopback": True,
            "webhooks_timeout_s": 0.5,
            "webhooks_retry_base_s": 0.01,
            "webhooks_retry_max_delay_s": 0.05,
            **changes,
        }
    )


async def deliver(db: Database, settings: Settings, passes: int = 1, pause: float = 0.06) -> int:
    """Run dispatcher passes; returns the attempts made."""
    made = 0
    dispatcher = Dispatcher(db, settings)
    async with http_client() as client:
        for i in range(passes):
            if i:
                await asyncio.sleep(pause)  # let retries fall due
            made += await dispatcher.run_once(client)
    return made


@dataclass
class World:
    tree: dict[str, Any]
    admin: uuid.UUID  # admin of paris
    admin_ctx: Ctx


@pytest.fixture
async def world(factory: Factory, session: AsyncSession) -> World:
    tree = await factory.tree()
    admin = await factory.member(tree["paris"], "admin")
    return World(tree, admin, Ctx.of(session, Principal.person(admin)))


async def endpoint_for(
    ctx: Ctx, url: str, types: list[str], **extra: Any
) -> tuple[uuid.UUID, str]:
    created = await webhooks.create(ctx, {"url": url, "event_types": types, **extra})
    return created.endpoint.id, created.secret


async def paris_endpoint(world: World, url: str, types: list[str]) -> tuple[uuid.UUID, str]:
    """An endpoint of paris, registered by its admin."""
    return await endpoint_for(world.admin_ctx, url, types, chapter_id=world.tree["paris"].id)


async def deliveries(session: AsyncSession, endpoint_id: uuid.UUID) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    return list((await session.exec(stmt.execution_options(populate_existing=True))).all())


# -- the outbox ------------------------------------------------------------------------------


async def test_domains_announce_their_changes_in_the_outbox(
    factory: Factory, system: Ctx, session: AsyncSession
) -> None:
    tree = await factory.tree()
    owner = await factory.member(tree["paris"], "organizer")
    project = await factory.project(tree["paris"], owner)
    need = await factory.need(project.id)
    await needs.fill(system, need.id)
    await needs.reopen(system, need.id)
    helper = await factory.person()
    offer = await contributions.offer(Ctx.of(session, Principal.person(helper)), need.id)
    await contributions.accept(system, offer.id)
    joiner = await factory.person()
    await people.set_role(system, tree["lyon"].id, joiner, "member")
    rows = (await session.exec(select(DomainEvent).order_by(col(DomainEvent.id)))).all()
    mine = [(r.type, r.subject_id) for r in rows]
    assert ("project.published", project.id) in mine
    assert [t for t, s in mine if s == need.id] == ["need.opened", "need.filled", "need.opened"]
    assert [t for t, s in mine if s == offer.id] == [
        "contribution.offered", "contribution.accepted"
    ]
    membership = [r for r in rows if r.type == "membership.created" and
                  r.payload["person_id"] == str(joiner)]
    assert membership and membership[0].chapter_id == tree["lyon"].id


def test_the_retry_schedule_spans_more_than_a_day() -> None:
    settings = Settings()
    assert retry_span(settings) >= 86_400
    delays = [delay(settings, n) for n in range(1, settings.webhooks_max_attempts)]
    assert delays == sorted(delays) and delays[0] == settings.webhooks_retry_base_s
    assert max(delays) == settings.webhooks_retry_max_delay_s


# -- delivery against a real receiver ---------------------------------------------------------


async def test_retries_after_500s_and_a_timeout_until_success_with_one_effect(
    world: World, system: Ctx, factory: Factory, session: AsyncSession,
    app_database: Database, settings: Settings, loopback: None,
) -> None:
    failures = {r: failure_count(r) for r in ("status", "timeout")}
    with receiving([500, 500, ("sleep", 1.0), 200]) as receiver:
        endpoint_id, secret = await paris_endpoint(world, receiver.url, ["event.published"])
        event = await factory.event(world.tree["paris"])
        await deliver(app_database, fast(settings), passes=8, pause=0.1)
        assert len(receiver.requests) == 4
        # each attempt carries W3C trace context, a fresh span each time
        parents = [r["headers"]["traceparent"] for r in receiver.requests]
        assert all(re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", p) for p in parents)
        assert len(set(parents)) == 4
        ids = {r["headers"]["webhook-id"] for r in receiver.requests}
        assert len(ids) == 1  # the same webhook-id on every attempt
        assert len(receiver.effects) == 1
        effect = next(iter(receiver.effects.values()))
        assert effect["type"] == "event.published"
        assert effect["data"]["id"] == str(event.id)
        assert effect["data"]["status"] == "published"
        last = receiver.requests[-1]
        verified = Webhook(secret).verify(last["body"], last["headers"])
        assert verified["data"]["id"] == str(event.id)
    [delivery] = await deliveries(session, endpoint_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 4, 200)
    assert delivery.msg_id in ids
    log = await webhooks.list_attempts(world.admin_ctx, delivery.id)
    assert [a.status_code for a in log] == [500, 500, None, 200]
    assert log[2].error is not None and "no answer" in log[2].error
    assert log[3].succeeded and log[3].response_excerpt == "ok"
    assert failure_count("status") == failures["status"] + 2
    assert failure_count("timeout") == failures["timeout"] + 1


async def test_a_rolled_back_change_never_delivers(
    world: World, system: Ctx, factory: Factory, session: AsyncSession,
    app_database: Database, settings: Settings, loopback: None,
) -> None:
    with receiving() as receiver:
        endpoint_id, _ = await paris_endpoint(world, receiver.url, ["event.published"])
        draft = await factory.event(world.tree["paris"], publish=False)


        async def publish_then_fail() -> None:
            async with session.begin_nested():
                await events.publish(system, draft.id)
                raise RuntimeError("the request fails after the change")

        with pytest.raises(RuntimeError):
            await publish_then_fail()
        await deliver(app_database, fast(settings), passes=2)
        assert receiver.requests == []
    assert await deliveries(session, endpoint_id) == []


async def test_410_disables_the_endpoint_and_redirects_are_not_followed(
    world: World, factory: Factory, session: AsyncSession,
    app_database: Database, settings: Settings, loopback: None,
) -> None:
    with receiving([302, 410]) as receiver:
        endpoint_id, _ = await paris_endpoint(world, receiver.url, ["event.published"])
        await factory.event(world.tree["paris"])
        await deliver(app_database, fast(settings), passes=1)
        assert len(receiver.requests) == 1  # the redirect was not followed
        [delivery] = await deliveries(session, endpoint_id)
        assert (delivery.status, delivery.last_status_code) == ("pending", 302)
        await deliver(app_database, fast(settings), passes=3, pause=0.1)
        endpoint = await session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
        assert endpoint is not None and endpoint.disabled_at is not None
        assert "410" in (endpoint.disabled_reason or "")
        [delivery] = await deliveries(session, endpoint_id)
        assert delivery.status == "failed"
        # A disabled endpoint gets nothing more; its new deliveries wait until it is enabled.
        await factory.event(world.tree["paris"])
        await deliver(app_database, fast(settings), passes=2)
        assert len(receiver.requests) == 2
        await webhooks.update(world.admin_ctx, endpoint_id, {"enabled": True})
        await deliver(app_database, fast(settings), passes=1)
        assert len(receiver.requests) == 3


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    world: World, factory: Factory, app_database: Database, settings: Settings, loopback: None,
) -> None:
    with receiving() as receiver:
        endpoint_id, old = await paris_endpoint(world, receiver.url, ["event.published"])
        rotated = await webhooks.rotate_secret(world.admin_ctx, endpoint_id, {"overlap_s": 3600})
        assert rotated.secret != old and rotated.endpoint.previous_secret_expires_at
        await factory.event(world.tree["paris"])
        await deliver(app_database, fast(settings))
        sent = receiver.requests[-1]
        assert len(sent["headers"]["webhook-signature"].split(" ")) == 2
        Webhook(old).verify(sent["body"], sent["headers"])
        Webhook(rotated.secret).verify(sent["body"], sent["headers"])
        again = await webhooks.rotate_secret(world.admin_ctx, endpoint_id, {"overlap_s": 0})
        await factory.event(world.tree["paris"])
        await deliver(app_database, fast(settings))
        sent = receiver.requests[-1]
        Webhook(again.secret).verify(sent["body"], sent["headers"])
        with pytest.raises(WebhookVerificationError):
            Webhook(rotated.secret).verify(sent["body"], sent["headers"])


async def test_ping_and_manual_redelivery_keep_the_webhook_id(
    world: World, session: AsyncSession, app_database: Database, settings: Settings,
    loopback: None,
) -> None:
    with receiving() as receiver:
        endpoint_id, secret = await paris_endpoint(world, receiver.url, ["event.published"])
        queued = await webhooks.ping(world.admin_ctx, endpoint_id)
        await deliver(app_database, fast(settings))
        payload = Webhook(secret).verify(receiver.requests[0]["body"],
                                         receiver.requests[0]["headers"])
        assert payload["type"] == "webhook.ping"
        again = await webhooks.redeliver(world.admin_ctx, queued.id)
        assert again.status == "pending"
        await deliver(app_database, fast(settings))
        assert [r["headers"]["webhook-id"] for r in receiver.requests] == [queued.msg_id] * 2
    done = await webhooks.get_delivery(world.admin_ctx, queued.id)
    assert (done.status, done.attempts) == ("succeeded", 2)


# -- SSRF ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.100.100.200/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "ftp://example.org/hook",
        "http://user:secret@example.org/hook",
    ],
)
async def test_internal_urls_are_refused_at_registration(world: World, url: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        await paris_endpoint(world, url, ["event.published"])
    assert [e.field for e in failed.value.errors] == ["url"]


async def test_the_loopback_switch_admits_loopback_only(world: World, loopback: None) -> None:
    await paris_endpoint(world, "http://127.0.0.1:9/hook", ["event.published"])
    await paris_endpoint(world, "http://[::1]:9/hook", ["event.published"])
    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/"):
        with pytest.raises(ValidationFailed):
            await paris_endpoint(world, url, ["event.published"])


async def test_internal_urls_are_refused_at_delivery_too(
    world: World, factory: Factory, session: AsyncSession, app_database: Database,
    settings: Settings, loopback: None,
) -> None:
    with receiving() as receiver:
        endpoint_id, _ = await paris_endpoint(world, receiver.url, ["event.published"])
        await factory.event(world.tree["paris"])
        await deliver(app_database, fast(settings, webhooks_allow_loopback=False))
        assert receiver.requests == []
    [delivery] = await deliveries(session, endpoint_id)
    attempts = (await session.exec(
        select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
    )).all()
    assert delivery.status == "pending"
    assert [a.error for a in attempts] == ["refused: the host resolves to a loopback address"]


# -- who sees what ---------------------------------------------------------------------------


async def test_endpoints_of_another_owner_are_not_found(
    world: World, factory: Factory, session: AsyncSession, loopback: None
) -> None:
    endpoint_id, _ = await paris_endpoint(world, "http://127.0.0.1:9/a", ["event.published"])
    lagos_admin = await factory.member(world.tree["lagos"], "admin")
    other = Ctx.of(session, Principal.person(lagos_admin))
    paris_member = await factory.member(world.tree["paris"], "member")
    member = Ctx.of(session, Principal.person(paris_member))
    partner = await factory.partner()
    partner_ctx = Ctx.of(session, Principal.partner(partner.id, {"webhooks:write"}))
    for ctx in (other, member, partner_ctx):
        with pytest.raises(NotFound):
            await webhooks.get(ctx, endpoint_id)
        with pytest.raises(NotFound):
            await webhooks.update(ctx, endpoint_id, {"description": "mine now"})
        with pytest.raises(NotFound):
            await webhooks.rotate_secret(ctx, endpoint_id)
        with pytest.raises(NotFound):
            await webhooks.delete(ctx, endpoint_id)
        assert (await webhooks.list_endpoints(ctx)).items == []
    # An admin of an ancestor manages it; a partner manages its own only.
    france_admin = await factory.member(world.tree["france"], "admin")
    france = Ctx.of(session, Principal.person(france_admin))
    assert (await webhooks.get(france, endpoint_id)).id == endpoint_id
    own, _ = await endpoint_for(partner_ctx, "http://127.0.0.1:9/p", ["event.published"])
    assert [e.id for e in (await webhooks.list_endpoints(partner_ctx)).items] == [own]
    assert [e.id for e in (await webhooks.list_endpoints(world.admin_ctx)).items] == [endpoint_id]
    # Registering for a chapter needs its admin role and webhooks:write.
    with pytest.raises(Exception, match="not allowed"):
        await webhooks.create(other, {"url": "http://127.0.0.1:9/x", "chapter_id":
                                      world.tree["paris"].id, "event_types": ["event.created"]})
    read_only = Ctx.of(session, Principal.person(world.admin, {"webhooks:read"}))
    with pytest.raises(Exception, match="webhooks:write"):
        await webhooks.create(read_only, {"url": "http://127.0.0.1:9/x", "chapter_id":
                                          world.tree["paris"].id, "event_types": ["event.created"]})


async def test_payloads_follow_what_the_owner_may_read(
    world: World, factory: Factory, system: Ctx, session: AsyncSession,
    app_database: Database, settings: Settings, loopback: None,
) -> None:
    partner = await factory.partner()
    await factory.grant(partner.id, world.tree["paris"], "events:read", "webhooks:write")
    partner_ctx = Ctx.of(
        session, Principal.partner(partner.id, {"events:read", "webhooks:write"})
    )
    types = ["event.published", "event.created", "registration.created", "membership.created"]
    with receiving() as receiver:
        partner_endpoint, _ = await endpoint_for(partner_ctx, receiver.url, types)
        admin_endpoint, _ = await endpoint_for(
            world.admin_ctx, receiver.url, types, chapter_id=world.tree["paris"].id
        )
        in_paris = await factory.event(world.tree["paris"])
        lagos = await factory.event(world.tree["lagos"])  # outside the grant and the chapter
        draft = await factory.event(world.tree["paris"], publish=False)
        person = await factory.person(email="ada@example.org")
        await registrations.register(system, in_paris.id, person)
        await people.set_role(system, world.tree["paris"].id, person, "member")
        await deliver(app_database, fast(settings), passes=2)
    got: dict[uuid.UUID, list[tuple[str, str]]] = {partner_endpoint: [], admin_endpoint: []}
    for endpoint_id in got:
        for d in await deliveries(session, endpoint_id):
            body = json.loads(d.body)
            got[endpoint_id].append((body["type"], body["data"]["id"]))
            if body["type"] == "membership.created":
                assert body["data"]["person"]["email"] == "ada@example.org"
            if body["type"] == "event.published" and endpoint_id == admin_endpoint:
                # Payloads follow reads: the check-in code is for those who manage the event.
                assert body["data"]["check_in_code"] is None
    published = ("event.published", str(in_paris.id))
    assert published in got[partner_endpoint] and published in got[admin_endpoint]
    # The partner's grant reads paris's events, drafts too, and public events anywhere; no
    # registration (no registrations:read), no membership (no people:read).
    assert {t for t, _ in got[partner_endpoint]} == {"event.created", "event.published"}
    assert ("event.created", str(draft.id)) in got[partner_endpoint]
    assert ("event.published", str(lagos.id)) in got[partner_endpoint]
    # A chapter's endpoint hears of its own subtree only.
    assert str(lagos.id) not in {i for _, i in got[admin_endpoint]}
    assert ("event.created", str(draft.id)) in got[admin_endpoint]
    assert {t for t, _ in got[admin_endpoint]} == set(types)
    assert len(receiver.effects) == len(got[partner_endpoint]) + len(got[admin_endpoint])


async def test_a_subtree_filter_narrows_the_events(
    world: World, factory: Factory, session: AsyncSession, app_database: Database,
    settings: Settings, loopback: None,
) -> None:
    france_admin = await factory.member(world.tree["france"], "admin")
    ctx = Ctx.of(session, Principal.person(france_admin))
    endpoint_id, _ = await endpoint_for(
        ctx, "http://127.0.0.1:9/x", ["event.published"], chapter_id=world.tree["france"].id,
        subtree_id=world.tree["lyon"].id,
    )
    with pytest.raises(ValidationFailed):
        await webhooks.create(ctx, {"url": "http://127.0.0.1:9/x", "event_types": ["x.y"],
                                    "chapter_id": world.tree["france"].id,
                                    "subtree_id": world.tree["lagos"].id})
    await factory.event(world.tree["paris"])
    lyon = await factory.event(world.tree["lyon"])
    await deliver(app_database, fast(settings, webhooks_max_attempts=1))
    bodies = [json.loads(d.body) for d in await deliveries(session, endpoint_id)]
    assert [b["data"]["id"] for b in bodies] == [str(lyon.id)]


async def test_listing_endpoints_costs_the_same_whatever_their_number(
    world: World, session: AsyncSession, loopback: None
) -> None:
    from tests.gql import count_statements

    await paris_endpoint(world, "http://127.0.0.1:9/1", ["event.published"])
    with count_statements(session) as few:
        await webhooks.list_endpoints(world.admin_ctx)
    for n in range(5):
        await paris_endpoint(world, f"http://127.0.0.1:9/{n}", ["event.published"])
    with count_statements(session) as many:
        page = await webhooks.list_endpoints(world.admin_ctx)
    assert len(page.items) == 6 and len(many) == len(few)


async def test_every_event_type_has_a_payload_for_an_owner_who_may_read_it(
    factory: Factory, system: Ctx, session: AsyncSession
) -> None:
    from makesense_api.programs import enrolments
    from makesense_api.webhooks import catalog

    tree = await factory.tree()
    organizer = await factory.member(tree["paris"], "organizer")
    event = await factory.event(tree["paris"])
    registration = await factory.registration(event.id, organizer)
    project = await factory.project(tree["paris"], organizer)
    need = await factory.need(project.id)
    helper = await factory.person()
    offer = await contributions.offer(Ctx.of(session, Principal.person(helper)), need.id)
    program = await factory.program(tree["paris"])
    enrolment = await enrolments.enrol(system, program.id, {"person_id": organizer})
    rows = (await session.exec(select(DomainEvent))).all()
    subjects = {
        "event": event.id, "registration": registration.id, "project": project.id,
        "need": need.id, "contribution": offer.id, "program": enrolment.id,
    }
    for type_ in catalog.EVENT_TYPES:
        subject = subjects.get(type_.split(".")[0])
        if subject is None:  # membership.created: the organizer's membership
            subject = next(r.subject_id for r in rows if r.type == type_
                           and r.payload["person_id"] == str(organizer))
        data = await catalog.data_for(system, type_, subject)
        assert data is not None and data["id"] == str(subject), type_
    anonymous = Ctx.of(session, Principal.anonymous())
    assert await catalog.data_for(anonymous, "registration.created", registration.id) is None
    assert await catalog.data_for(anonymous, "event.published", event.id) is not None


async def test_payloads_show_only_to_callers_holding_the_scopes_they_were_read_with(
    world: World, session: AsyncSession, loopback: None
) -> None:
    endpoint_id, _ = await paris_endpoint(
        world, "http://127.0.0.1:9/hook", ["membership.created"]
    )
    delivery = await webhooks.ping(world.admin_ctx, endpoint_id)
    assert delivery.body is not None
    narrow = Ctx.of(session, Principal.person(world.admin, {"webhooks:read", "webhooks:write"}))
    [seen] = (await webhooks.list_deliveries(narrow, endpoint_id)).items
    assert seen.id == delivery.id and seen.body is None
    assert (await webhooks.get_delivery(narrow, delivery.id)).body is None
    assert (await webhooks.get_delivery(world.admin_ctx, delivery.id)).body == delivery.body
    # Sending the payloads elsewhere keeps only the scopes the caller holds.
    before = await session.get(WebhookEndpoint, endpoint_id)
    assert before is not None and "people:read" in before.scopes
    await webhooks.update(narrow, endpoint_id, {"url": "http://127.0.0.1:10/elsewhere"})
    row = await session.get(WebhookEndpoint, endpoint_id, populate_existing=True)
    assert row is not None and set(row.scopes) == {"webhooks:read"}


async def test_a_url_the_dispatcher_could_not_call_is_refused(
    world: World, loopback: None
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await paris_endpoint(world, "http://127.0.0.1:9/hook\x01", ["event.published"])
    assert refused.value.errors[0].field == "url"
