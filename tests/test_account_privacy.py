"""Personal data rights: the export of everything held about a person, and erasure."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events.models import Registration
from makesense_api.feeds.models import FeedToken
from makesense_api.impact import service as impact
from makesense_api.kit.errors import (
    Conflict,
    Forbidden,
    MissingScope,
    NotFound,
    ValidationFailed,
)
from makesense_api.kit.models import DomainEvent, Tombstone
from makesense_api.oauth import consents
from makesense_api.oauth.models import AuthorizationCode, Consent
from makesense_api.people import accounts, privacy
from makesense_api.people import service as people
from makesense_api.people.models import Account, Membership, Person, PersonSkill, Role
from makesense_api.programs.models import Enrolment
from makesense_api.projects.models import Contribution
from makesense_api.tokens import service as tokens
from makesense_api.tokens.models import AccessToken
from tests.conftest import as_person
from tests.factories import Factory
from tests.gql import count_statements
from tests.gql import run as gql
from tests.test_impact import H1_2026, World, utc

PASSWORD = "a long volunteer passphrase"
NAME = "Zelda Quixote-Varga"
FEED_HASH = "f00d" * 16


@pytest.fixture
async def tree(factory: Factory) -> dict[str, ChapterView]:
    return await factory.tree()


@dataclass
class Volunteer:
    person_id: uuid.UUID
    email: str
    token: str  # an access token with every scope


async def volunteer(factory: Factory, tree: dict[str, ChapterView], world: World) -> Volunteer:
    """A person with a login and a bit of everything: memberships, activity, consents, tokens."""
    email = f"zelda-{uuid.uuid4().hex[:8]}@example.org"
    view = await accounts.sign_up(
        factory.ctx, email, PASSWORD, NAME, city="Lyon", phone="+33 6 12 34 56 78",
        bio="Gardener", skills=["Web Design"], causes=[13],
    )
    pid = view.person_id
    await join(factory.ctx.session, tree["paris"], pid, Role.MEMBER)
    await join(factory.ctx.session, tree["lyon"], pid, Role.ORGANIZER)
    await world.attends("paris", utc(2026, 3, 10), pid)
    await world.contribution("lyon", pid, "accepted", utc(2026, 4, 2), hours=3)
    program = await factory.program(tree["france"])
    await world.enrolment(program.id, pid, "paris", "completed", utc(2026, 3, 5))
    client = await factory.oauth_client(chapter=tree["paris"])
    await consents.remember(factory.ctx.session, pid, client.view.id, ["profile"])
    await tokens.create_personal(
        as_person(factory.ctx.session, pid),
        {"name": "my script", "scopes": ["profile"], "expires_in_days": 30},
    )
    await factory.project(tree["lyon"], pid)
    factory.ctx.session.add(
        FeedToken(person_id=pid, name="my phone", token_hash=FEED_HASH, prefix="abcd1234")
    )
    token = await factory.token(pid, {"profile", "people:read", "impact:read"})
    return Volunteer(pid, email, token)


async def join(
    session: AsyncSession, chapter: ChapterView, person_id: uuid.UUID, role: Role
) -> None:
    session.add(Membership(person_id=person_id, chapter_id=chapter.id, role=role))
    await session.flush()


async def member(
    factory: Factory, chapter: ChapterView, role: Role, **profile: Any
) -> uuid.UUID:
    person_id = await factory.person(**profile)
    await join(factory.ctx.session, chapter, person_id, role)
    return person_id


@pytest.fixture
def world(session: AsyncSession, tree: dict[str, ChapterView]) -> World:
    return World(session, tree)


@pytest.fixture
async def zelda(factory: Factory, tree: dict[str, ChapterView], world: World) -> Volunteer:
    return await volunteer(factory, tree, world)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def count(session: AsyncSession, table: Any, *where: Any) -> int:
    stmt = select(func.count()).select_from(table).where(*where)
    return (await session.exec(stmt)).one()


# -- export -------------------------------------------------------------------------------


async def test_the_export_holds_everything_about_the_person_and_no_secret(
    session: AsyncSession, zelda: Volunteer
) -> None:
    doc = await privacy.export(as_person(session, zelda.person_id))
    assert doc["person"]["display_name"] == NAME
    assert doc["person"]["email"] == zelda.email
    assert doc["person"]["phone"] == "+33 6 12 34 56 78"
    assert (doc["person"]["skills"], doc["person"]["causes"]) == (["web-design"], [13])
    assert doc["account"]["email"] == zelda.email and "password_hash" not in doc["account"]
    assert sorted(m["chapter_slug"] for m in doc["memberships"]) == ["lyon", "paris"]
    assert {m["role"] for m in doc["memberships"]} == {"member", "organizer"}
    [registration] = doc["registrations"]
    assert registration["event_title"].startswith("Event ") and registration["event_id"]
    assert [c["status"] for c in doc["contributions"]] == ["accepted"]
    assert [e["status"] for e in doc["enrolments"]] == ["completed"]
    assert len(doc["projects_owned"]) == 1
    assert [c["scopes"] for c in doc["oauth_consents"]] == [["profile"]]
    kinds = sorted(t["kind"] for t in doc["tokens"])
    assert kinds == ["access", "personal"]
    assert [(f["name"], f["prefix"]) for f in doc["feed_tokens"]] == [("my phone", "abcd1234")]
    # Timestamps everywhere, and the document is plain JSON.
    assert doc["person"]["created_at"] and doc["person"]["updated_at"]
    text = json.dumps(doc)
    hashes = (await session.exec(
        select(AccessToken.token_hash).where(AccessToken.person_id == zelda.person_id)
    )).all()
    password_hash = (await session.exec(
        select(Account.password_hash).where(Account.person_id == zelda.person_id)
    )).one()
    for secret in [*hashes, password_hash, zelda.token, FEED_HASH]:
        assert secret not in text
    assert "token_hash" not in text and "password_hash" not in text


async def test_the_export_takes_the_same_queries_however_much_is_held(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], world: World,
    zelda: Volunteer,
) -> None:
    bare = await factory.person(display_name="Bare")
    with count_statements(session) as few:
        await privacy.export(as_person(session, bare))
    for _ in range(3):
        await world.attends("paris", utc(2026, 5, 1), zelda.person_id)
        await world.contribution("paris", zelda.person_id, "done", utc(2026, 5, 2))
    with count_statements(session) as many:
        doc = await privacy.export(as_person(session, zelda.person_id))
    assert len(doc["registrations"]) == 4 and len(doc["contributions"]) == 4
    assert len(many) == len(few) <= 12


async def test_only_the_person_themself_exports_with_the_profile_scope(
    session: AsyncSession, factory: Factory, zelda: Volunteer
) -> None:
    with pytest.raises(MissingScope):
        await privacy.export(as_person(session, zelda.person_id, scopes={"events:read"}))
    partner = await factory.partner()
    with pytest.raises(Forbidden):
        await privacy.export(Ctx.of(session, Principal.partner(partner.id, {"profile"})))


async def test_export_over_rest_and_graphql(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory, zelda: Volunteer
) -> None:
    response = await client.get("/v1/me/export", headers=bearer(zelda.token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["person"]["email"] == zelda.email and body["format"] == privacy.FORMAT
    assert response.headers["cache-control"] == "private, no-cache"
    assert (await client.get("/v1/me/export")).status_code == 401
    narrow = await factory.token(zelda.person_id, {"events:read"})
    assert (await client.get("/v1/me/export", headers=bearer(narrow))).status_code == 403
    data = await gql(
        session, "{ viewer { dataExport } }", principal=Principal.person(zelda.person_id)
    )
    anonymous = await client.post("/graphql", json={"query": "{ viewer { dataExport } }"})
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "unauthenticated"
    assert anonymous.json()["data"] is None
    assert data["viewer"]["dataExport"]["person"]["display_name"] == NAME
    assert data["viewer"]["dataExport"]["account"]["email"] == zelda.email


# -- erasure ------------------------------------------------------------------------------


async def test_erasure_anonymises_the_person_and_keeps_impact_true(
    session: AsyncSession, system: Ctx, tree: dict[str, ChapterView], zelda: Volunteer
) -> None:
    query = {"chapter_id": tree["root"].id, **H1_2026, "detail": True}
    before = await impact.report(system, query)
    assert sum(p.mobilised for p in before.periods) >= 1
    await privacy.erase(as_person(session, zelda.person_id), PASSWORD)
    after = await impact.report(system, query)
    assert after == before

    row = (await session.exec(
        select(Person).where(Person.id == zelda.person_id).execution_options(
            populate_existing=True
        )
    )).one()
    assert row.erased_at is not None and row.display_name == privacy.ERASED_NAME
    values = json.dumps(row.model_dump(mode="json"))
    for trace in (zelda.email, NAME, "Zelda", "Lyon", "+33", "Gardener"):
        assert trace not in values
    pid = zelda.person_id
    for table in (
        Account, Membership, PersonSkill, Consent, AuthorizationCode, AccessToken, FeedToken
    ):
        assert await count(session, table, col(table.person_id) == pid) == 0  # type: ignore[attr-defined]
    # Activity stays, anonymous; what the person wrote is cleared.
    assert await count(session, Registration, Registration.person_id == pid) == 1
    assert await count(session, Enrolment, Enrolment.person_id == pid) == 1
    assert await count(session, Contribution, Contribution.person_id == pid) == 1
    # Change feeds and subscribers learn of it.
    tombstones = (await session.exec(
        select(Tombstone.entity, Tombstone.chapter_id).where(Tombstone.entity_id == pid)
    )).all()
    assert sorted(c for e, c in tombstones if e == "person") == sorted(
        [tree["paris"].id, tree["lyon"].id]
    )
    assert await count(session, Tombstone, Tombstone.entity == "membership") >= 2
    events = (await session.exec(
        select(DomainEvent).where(DomainEvent.type == "person.erased")
    )).all()
    assert {e.subject_id for e in events} == {pid} and len(events) == 2
    assert all(NAME not in json.dumps(e.payload) for e in events)


async def test_an_erased_person_is_gone_for_everyone(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], zelda: Volunteer
) -> None:
    organizer = await member(factory, tree["france"], Role.ORGANIZER)
    as_organizer = as_person(session, organizer)
    assert (await people.get(as_organizer, zelda.person_id)).email == zelda.email
    await privacy.erase(as_person(session, zelda.person_id), PASSWORD)
    with pytest.raises(NotFound):
        await people.get(as_organizer, zelda.person_id)
    with pytest.raises(NotFound):
        await privacy.export(as_person(session, zelda.person_id))
    assert await accounts.authenticate(session, zelda.email, PASSWORD) is None
    with pytest.raises(NotFound):
        await privacy.erase(as_person(session, zelda.person_id), PASSWORD)


async def test_erasure_needs_the_password_again(
    session: AsyncSession, zelda: Volunteer
) -> None:
    me = as_person(session, zelda.person_id)
    for wrong in (None, "", "not my passphrase at all"):
        with pytest.raises(ValidationFailed) as caught:
            await privacy.erase(me, wrong)
        assert caught.value.errors[0].field == "password"
    assert await count(session, Account, Account.person_id == zelda.person_id) == 1


async def test_a_person_without_a_login_erases_without_a_password(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    pid = await member(
        factory, tree["paris"], Role.MEMBER, display_name="No Login", email="nl@example.org"
    )
    await privacy.erase(as_person(session, pid), None)
    row = (await session.exec(select(Person.email, Person.erased_at).where(Person.id == pid))).one()
    assert row[0] is None and row[1] is not None


async def test_the_last_admin_of_a_chapter_hands_over_first(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], zelda: Volunteer
) -> None:
    await join(session, tree["lagos"], zelda.person_id, Role.ADMIN)
    with pytest.raises(Conflict, match="lagos"):
        await privacy.erase(as_person(session, zelda.person_id), PASSWORD)
    assert await count(session, Account, Account.person_id == zelda.person_id) == 1
    await member(factory, tree["lagos"], Role.ADMIN)
    await privacy.erase(as_person(session, zelda.person_id), PASSWORD)


async def test_only_the_person_themself_erases(
    session: AsyncSession, factory: Factory, zelda: Volunteer
) -> None:
    with pytest.raises(MissingScope):
        await privacy.erase(as_person(session, zelda.person_id, scopes={"people:read"}), PASSWORD)
    partner = await factory.partner()
    with pytest.raises(Forbidden):
        await privacy.erase(Ctx.of(session, Principal.partner(partner.id, {"profile"})), PASSWORD)
    assert await count(session, Account, Account.person_id == zelda.person_id) == 1


async def test_erasure_over_rest_revokes_every_token(
    client: httpx.AsyncClient, session: AsyncSession, factory: Factory, zelda: Volunteer
) -> None:
    other = await factory.token(zelda.person_id, {"profile"})
    refused = await client.request(
        "DELETE", "/v1/me", json={"password": "wrong passphrase here"}, headers=bearer(zelda.token)
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "password"
    assert (await client.request("DELETE", "/v1/me", headers=bearer(zelda.token))).status_code == 422
    done = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(zelda.token)
    )
    assert done.status_code == 204, done.text
    for token in (zelda.token, other):
        assert (await client.get("/v1/me", headers=bearer(token))).status_code == 401
        assert (await client.get("/v1/me/export", headers=bearer(token))).status_code == 401


async def test_erasure_of_the_last_admin_over_rest_is_a_conflict(
    client: httpx.AsyncClient, session: AsyncSession, tree: dict[str, ChapterView],
    zelda: Volunteer,
) -> None:
    await join(session, tree["lagos"], zelda.person_id, Role.ADMIN)
    response = await client.request(
        "DELETE", "/v1/me", json={"password": PASSWORD}, headers=bearer(zelda.token)
    )
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/me", headers=bearer(zelda.token))).status_code == 200


ERASE = """mutation($password: String) {
  viewerErase(input: {password: $password}) {
    __typename
    ... on ViewerErasePayload { erased }
    ... on Error { code message }
    ... on ValidationError { fields { field message } }
  }
}"""


async def test_erasure_over_graphql(session: AsyncSession, zelda: Volunteer) -> None:
    me = Principal.person(zelda.person_id)
    wrong = await gql(session, ERASE, {"password": "nope nope nope"}, principal=me)
    assert wrong["viewerErase"]["__typename"] == "ValidationError"
    anonymous = await gql(session, ERASE, {"password": PASSWORD})
    assert anonymous["viewerErase"]["__typename"] == "UnauthenticatedError"
    done = await gql(session, ERASE, {"password": PASSWORD}, principal=me)
    assert done["viewerErase"] == {"__typename": "ViewerErasePayload", "erased": True}
    again = await gql(session, ERASE, {"password": PASSWORD}, principal=me)
    assert again["viewerErase"]["__typename"] == "NotFoundError"


async def test_erasure_frees_seats_at_upcoming_events(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], zelda: Volunteer
) -> None:
    event = await factory.event(tree["paris"], capacity=1, waitlist_enabled=True)
    mine = await factory.registration(event.id, zelda.person_id)
    next_in_line = await factory.person()
    waiting = await factory.registration(event.id, next_in_line)
    assert (mine.status, waiting.status) == ("registered", "waitlisted")
    await privacy.erase(as_person(session, zelda.person_id), PASSWORD)
    statuses = dict((await session.exec(
        select(Registration.person_id, Registration.status)
        .where(Registration.event_id == event.id)
        .execution_options(populate_existing=True)
    )).all())
    assert statuses == {zelda.person_id: "cancelled", next_in_line: "registered"}


async def test_erasure_removes_webhook_payloads_naming_the_person(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    from makesense_api.webhooks.models import WebhookDelivery, WebhookEndpoint

    pid = await member(
        factory, tree["paris"], Role.MEMBER, display_name="Hooked", email="hooked@example.org"
    )
    endpoint = WebhookEndpoint(
        url="https://hooks.example.org/in", event_types=["membership.created"],
        chapter_id=tree["paris"].id, secret="plain:whsec_x", scopes=["people:read"],
    )
    session.add(endpoint)
    await session.flush()
    naming = WebhookDelivery(
        endpoint_id=endpoint.id, msg_id="msg_naming", event_type="membership.created",
        body=f'{{"data": {{"person": {{"id": "{pid}", "email": "hooked@example.org"}}}}}}',
    )
    other = WebhookDelivery(
        endpoint_id=endpoint.id, msg_id="msg_other", event_type="membership.created",
        body='{"data": {"person": {"id": "someone else"}}}',
    )
    session.add_all([naming, other])
    await session.flush()
    await privacy.erase(as_person(session, pid), None)
    left = (await session.exec(select(WebhookDelivery.msg_id))).all()
    assert list(left) == ["msg_other"]
