"""The private calendar feed `/v1/me/events.ics` and its revocable feed tokens (REST, GraphQL)."""

import hashlib
import logging
import uuid
from typing import Any

import httpx
import icalendar
import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events import registrations
from makesense_api.events import service as events
from makesense_api.feeds import personal
from makesense_api.feeds import tokens as feed_tokens
from makesense_api.feeds.models import FeedToken
from makesense_api.kit.clock import utcnow
from makesense_api.kit.errors import Conflict, Forbidden, MissingScope, NotFound, Unauthenticated
from makesense_api.ops.logging import formatter
from makesense_api.people import service as people
from makesense_api.people.models import Person
from tests.conftest import as_person
from tests.factories import Factory
from tests.gql import count_statements, execute, run
from tests.test_rest_http import assert_problem, bearer

Tree = dict[str, ChapterView]
FEED = "/v1/me/events.ics"
ROOM = "https://meet.example.org/room-"


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


async def new_token(factory: Factory, person_id: uuid.UUID, name: str = "Phone") -> str:
    return (await feed_tokens.create(as_person(factory.ctx.session, person_id), {"name": name})).token


async def fetch(client: httpx.AsyncClient, token: str) -> icalendar.Calendar:
    response = await client.get(FEED, params={"token": token})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    assert response.headers["cache-control"] == "private, no-store"
    return icalendar.Calendar.from_ical(response.content)


def by_uid(cal: icalendar.Calendar) -> dict[str, Any]:
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def uid(event_id: uuid.UUID) -> str:
    return f"{event_id}@makesense"


# -- managing tokens -----------------------------------------------------------------------


async def test_feed_token_life_cycle_over_rest(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    person = await factory.member(tree["paris"])
    me = bearer(await factory.token(person, {"profile"}))
    created = await client.post("/v1/me/feed-tokens", json={"name": "Phone"}, headers=me)
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["token"]
    assert token.startswith("msk_feed_") and feed_tokens.is_feed_token(token)
    assert body["feed_url"] == f"http://testserver{FEED}?token={token}"
    assert body["prefix"] == token[:17] and body["last_used_at"] is None
    row = (await factory.ctx.session.exec(select(FeedToken))).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(row.model_dump())
    listed = (await client.get("/v1/me/feed-tokens", headers=me)).json()
    assert [t["id"] for t in listed["items"]] == [body["id"]]
    assert "token" not in listed["items"][0] and listed["next_cursor"] is None
    assert (await client.get(FEED, params={"token": token})).status_code == 200
    revoked = await client.delete(f"/v1/me/feed-tokens/{body['id']}", headers=me)
    assert revoked.status_code == 204
    assert_problem(await client.get(FEED, params={"token": token}), 404, "not_found")
    assert_problem(
        await client.delete(f"/v1/me/feed-tokens/{body['id']}", headers=me), 404, "not_found"
    )
    assert (await client.get("/v1/me/feed-tokens", headers=me)).json()["items"] == []


async def test_feed_token_management_is_denied_to_others(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    owner = await factory.member(tree["paris"])
    token_id = (await feed_tokens.create(as_person(factory.ctx.session, owner), {"name": "A"})).view.id
    other = bearer(await factory.token(await factory.member(tree["paris"]), {"profile"}))
    assert_problem(await client.delete(f"/v1/me/feed-tokens/{token_id}", headers=other),
                   404, "not_found")
    assert (await client.get("/v1/me/feed-tokens", headers=other)).json()["items"] == []
    no_profile = bearer(await factory.token(owner, {"events:read"}))
    assert_problem(await client.post("/v1/me/feed-tokens", json={"name": "x"},
                                     headers=no_profile), 403, "insufficient_scope")
    assert_problem(await client.get("/v1/me/feed-tokens", headers=no_profile),
                   403, "insufficient_scope")
    assert_problem(await client.post("/v1/me/feed-tokens", json={"name": "x"}), 401,
                   "unauthenticated")
    partner = await factory.partner()
    as_partner = bearer(await factory.token(None, {"profile"}, partner_id=partner.id))
    assert_problem(await client.post("/v1/me/feed-tokens", json={"name": "x"},
                                     headers=as_partner), 403, "forbidden")
    me = bearer(await factory.token(owner, {"profile"}))
    assert_problem(await client.post("/v1/me/feed-tokens", json={"name": ""}, headers=me),
                   422, "validation_failed")
    assert (await factory.ctx.session.exec(select(sa.func.count()).select_from(FeedToken))).one() == 1


async def test_feed_token_service_rules(system: Ctx, factory: Factory, tree: Tree) -> None:
    person = await factory.member(tree["paris"])
    ctx = as_person(system.session, person, scopes={"profile"})
    for n in range(feed_tokens.MAX_LIVE):
        await feed_tokens.create(ctx, {"name": f"app {n}"})
    with pytest.raises(Conflict):
        await feed_tokens.create(ctx, {"name": "one too many"})
    listed = await feed_tokens.list_tokens(ctx)
    assert len(listed) == feed_tokens.MAX_LIVE and listed[0].name == "app 19"
    await feed_tokens.revoke(ctx, listed[0].id)
    assert (await feed_tokens.create(ctx, {"name": "again"})).view.name == "again"
    with pytest.raises(MissingScope):
        await feed_tokens.list_tokens(as_person(system.session, person, scopes={"events:read"}))
    with pytest.raises(Unauthenticated):
        await feed_tokens.list_tokens(Ctx.of(system.session, Principal.anonymous()))
    partner = await factory.partner()
    with pytest.raises(Forbidden):
        await feed_tokens.list_tokens(Ctx.of(system.session, Principal.partner(
            partner.id, {"profile"})))


# -- the feed ------------------------------------------------------------------------------


async def test_feed_shows_the_persons_registrations_with_their_standing(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    person = await factory.member(tree["paris"])
    other = await factory.member(tree["paris"])
    online = {"format": "online", "online_url": ROOM + "seated"}
    seated = await factory.event(tree["paris"], title="Seated", **online)
    full = await factory.event(tree["lagos"], title="Full", timezone="Africa/Lagos",
                               capacity=1, format="online", online_url=ROOM + "full")
    await factory.registration(full.id, other)
    left = await factory.event(tree["paris"], title="Left")
    called_off = await factory.event(tree["lyon"], title="Called off")
    members_only = await factory.event(tree["paris"], title="Members", visibility="members")
    not_mine = await factory.event(tree["paris"], title="Not mine")
    for event in (seated, full, left, called_off, members_only):
        await factory.registration(event.id, person)
    await factory.registration(not_mine.id, other)
    mine = (await registrations.my_registrations(as_person(factory.ctx.session, person))).items
    await registrations.cancel(factory.ctx, next(r.id for r in mine if r.event_id == left.id))
    await events.cancel(factory.ctx, called_off.id)
    token = await new_token(factory, person)

    found = by_uid(await fetch(client, token))
    assert set(found) == {uid(e.id) for e in (seated, full, left, called_off, members_only)}
    status = {str(e["summary"]): str(e["status"]) for e in found.values()}
    assert status == {"Seated": "CONFIRMED", "Full": "TENTATIVE", "Left": "CANCELLED",
                      "Called off": "CANCELLED", "Members": "CONFIRMED"}
    assert str(found[uid(seated.id)]["url"]) == ROOM + "seated"
    assert "url" not in found[uid(full.id)]  # waitlisted: no private link
    assert found[uid(full.id)]["dtstart"].params["TZID"] == "Africa/Lagos"

    # Leaving the chapter hides its members-only event from the feed at once.
    await people.remove_member(factory.ctx, tree["paris"].id, person)
    again = by_uid(await fetch(client, token))
    assert uid(members_only.id) not in again and uid(seated.id) in again


async def test_feed_uids_zones_and_sequence(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    person = await factory.member(tree["paris"])
    paris = await factory.event(tree["paris"], title="Paris")
    lagos = await factory.event(tree["lagos"], title="Lagos", timezone="Africa/Lagos")
    for event in (paris, lagos):
        await factory.registration(event.id, person)
    token = await new_token(factory, person)
    first = await fetch(client, token)
    assert sorted(str(z["tzid"]) for z in first.walk("VTIMEZONE")) == [
        "Africa/Lagos", "Europe/Paris"]
    second = await fetch(client, token)
    assert set(by_uid(first)) == set(by_uid(second)) == {uid(paris.id), uid(lagos.id)}
    before = int(by_uid(second)[uid(paris.id)]["sequence"])
    await events.update(factory.ctx, paris.id, {"title": "Paris, moved"})
    changed = by_uid(await fetch(client, token))[uid(paris.id)]
    assert int(changed["sequence"]) == before + 1 and str(changed["summary"]) == "Paris, moved"
    assert int(by_uid(await fetch(client, token))[uid(lagos.id)]["sequence"]) == int(
        by_uid(first)[uid(lagos.id)]["sequence"])


async def test_feed_refuses_every_other_token_alike(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    person = await factory.member(tree["paris"])
    token = await new_token(factory, person)
    access = await factory.token(person, {"profile"})
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for wrong in ("nope", access, tampered, "msk_feed_" + "a" * 49, token + "x"):
        assert_problem(await client.get(FEED, params={"token": wrong}), 404, "not_found")
    assert_problem(await client.get(FEED), 422, "validation_failed")
    # A bearer header is no substitute for the feed token.
    assert_problem(await client.get(FEED, headers=bearer(access)), 422, "validation_failed")
    await factory.ctx.session.exec(
        sa.update(Person).where(col(Person.id) == person).values(erased_at=utcnow())
    )
    assert_problem(await client.get(FEED, params={"token": token}), 404, "not_found")


async def test_feed_records_use_and_never_logs_the_token(
    client: httpx.AsyncClient, factory: Factory, tree: Tree, caplog: pytest.LogCaptureFixture
) -> None:
    person = await factory.member(tree["paris"])
    await factory.registration((await factory.event(tree["paris"])).id, person)
    token = await new_token(factory, person)
    caplog.set_level(logging.DEBUG)
    await fetch(client, token)
    await client.get(FEED, params={"token": token[:-2]})
    row = (await factory.ctx.session.exec(
        select(FeedToken).execution_options(populate_existing=True))).one()
    assert row.last_used_at is not None
    ours = [r for r in caplog.records if r.name.startswith(("makesense_api", "uvicorn"))]
    assert any(r.name == "makesense_api.http" for r in ours), "the requests were logged"
    secret = token[len(feed_tokens.PREFIX):]
    for record in ours:
        assert secret not in record.getMessage()
        assert secret not in repr(record.__dict__)
    # Whatever logs a feed URL (an HTTP client, a proxy-style access line), the log lines do not.
    lines = [formatter().format(r) for r in caplog.records]
    assert any(FEED in line for line in lines)
    assert not any(secret in line for line in lines)


async def test_feed_reads_in_a_fixed_number_of_statements(
    system: Ctx, factory: Factory, tree: Tree
) -> None:
    person = await factory.member(tree["paris"])
    token = await new_token(factory, person)
    counts = []
    for n in (2, 12):
        while len((await personal.calendar(system, token)).entries) < n:
            event = await factory.event(tree["paris"], capacity=5, causes=[13])
            await factory.registration(event.id, person)
        with count_statements(system.session) as statements:
            found = await personal.calendar(system, token)
        assert len(found.entries) == n
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


async def test_feed_service_rejects_unknown_tokens(system: Ctx) -> None:
    with pytest.raises(NotFound) as caught:
        await personal.calendar(system, feed_tokens.new_feed_token())
    assert "msk_feed_" not in caught.value.message


# -- GraphQL -------------------------------------------------------------------------------

CREATE = """mutation($name: String!) { feedTokenCreate(input: {name: $name}) {
  __typename
  ... on FeedTokenCreatePayload { token feedUrl feedToken { id name prefix revokedAt } }
  ... on Error { code }
} }"""
REVOKE = """mutation($id: ID!) { feedTokenRevoke(input: {id: $id}) {
  __typename
  ... on FeedTokenRevokePayload { feedToken { id revokedAt } }
  ... on Error { code }
} }"""
VIEWER = "{ viewer { feedTokens { id name prefix lastUsedAt } } }"


async def test_graphql_feed_tokens(
    client: httpx.AsyncClient, system: Ctx, factory: Factory, tree: Tree
) -> None:
    person = await factory.member(tree["paris"])
    me = Principal.person(person, {"profile"})
    created = (await run(system.session, CREATE, {"name": "Laptop"}, me))["feedTokenCreate"]
    assert created["__typename"] == "FeedTokenCreatePayload"
    assert created["feedUrl"].endswith(f"{FEED}?token={created['token']}")
    listed = (await run(system.session, VIEWER, principal=me))["viewer"]["feedTokens"]
    assert [t["id"] for t in listed] == [created["feedToken"]["id"]]
    stranger = Principal.person(await factory.member(tree["paris"]), {"profile"})
    refused = await run(system.session, REVOKE, {"id": listed[0]["id"]}, stranger)
    assert refused["feedTokenRevoke"] == {"__typename": "NotFoundError", "code": "not_found"}
    assert (await client.get(FEED, params={"token": created["token"]})).status_code == 200
    revoked = (await run(system.session, REVOKE, {"id": listed[0]["id"]}, me))["feedTokenRevoke"]
    assert revoked["feedToken"]["revokedAt"] is not None
    assert (await client.get(FEED, params={"token": created["token"]})).status_code == 404
    bare = Principal.person(person, {"events:read"})
    denied = (await run(system.session, CREATE, {"name": "x"}, bare))["feedTokenCreate"]
    assert denied["__typename"] == "ForbiddenError"
    assert (await execute(system.session, VIEWER, principal=bare)).errors


async def test_idempotent_create_never_stores_the_token(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    from makesense_api.rest.idempotency import IdempotencyKey

    person = await factory.member(tree["paris"])
    headers = {**bearer(await factory.token(person, {"profile"})), "Idempotency-Key": "feed-1"}
    created = await client.post("/v1/me/feed-tokens", json={"name": "Phone"}, headers=headers)
    assert created.status_code == 201
    stored = (await factory.ctx.session.exec(select(IdempotencyKey))).one()
    assert stored.status == 201 and stored.body is None
    assert created.json()["token"] not in repr(stored.model_dump())
    retried = await client.post("/v1/me/feed-tokens", json={"name": "Phone"}, headers=headers)
    assert_problem(retried, 409, "conflict")
    assert len((await client.get("/v1/me/feed-tokens", headers=headers)).json()["items"]) == 1
