"""Access management: client updates, secret rotation with overlap, deletion, loopback redirect
URIs, the purge of expired credentials, and the GraphQL surface over all of it."""

import hashlib
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.chapters.schemas import ChapterView
from makesense_api.config import get_settings
from makesense_api.context import Ctx
from makesense_api.graphql.relay import to_global_id
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database
from makesense_api.kit.errors import NotFound, ValidationFailed
from makesense_api.oauth import exchange
from makesense_api.oauth import service as clients
from makesense_api.oauth.models import AuthorizationCode, Consent, OAuthClient
from makesense_api.oauth.rules import redirect_uri_matches
from makesense_api.partners.models import PartnerGrant
from makesense_api.tokens import purge
from makesense_api.tokens import service as tokens
from makesense_api.tokens.models import AccessToken, TokenKind
from tests import gql
from tests.conftest import as_person
from tests.factories import Factory

Tree = dict[str, ChapterView]
REDIRECT = "https://paris.example.org/callback"
ADMIN = {"chapters:write", "profile"}


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


@pytest.fixture
async def paris_admin_id(factory: Factory, tree: Tree) -> uuid.UUID:
    return await factory.member(tree["paris"], "admin")


@pytest.fixture
def paris_admin(session: AsyncSession, paris_admin_id: uuid.UUID) -> Ctx:
    return as_person(session, paris_admin_id)


@pytest.fixture
async def network_admin(session: AsyncSession, factory: Factory, tree: Tree) -> Ctx:
    return as_person(session, await factory.member(tree["root"], "admin"))


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str | None], None]]:
    """Change one MAKESENSE_* setting for the rest of the test (None: back to its default)."""

    def change(name: str, value: str | None) -> None:
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield change
    get_settings.cache_clear()


def site(chapter: ChapterView, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Paris site",
        "chapter_id": chapter.id,
        "client_type": "confidential",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["profile", "events:read", "offline_access"],
        **overrides,
    }


def fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {e.field for e in exc.value.errors}


async def record_of(session: AsyncSession, client_id: str, at: Any) -> Any:
    return (await exchange.load_clients(session, [client_id], now=at))[client_id]


# -- updating and deleting clients --------------------------------------------------------


async def test_update_changes_grant_types_and_reach_as_one_consistent_registration(
    paris_admin: Ctx, tree: Tree
) -> None:
    view = (await clients.create(paris_admin, site(tree["paris"]))).view
    assert view.reach == [tree["paris"].id]
    with pytest.raises(ValidationFailed) as exc:  # offline_access would lose its grant
        await clients.update(paris_admin, view.id, {"grant_types": ["authorization_code"]})
    assert fields(exc) == {"scopes"}
    updated = await clients.update(
        paris_admin,
        view.id,
        {
            "grant_types": ["authorization_code"],
            "scopes": ["profile", "events:read"],
            "reach": [tree["batignolles"].id],
        },
    )
    assert updated.grant_types == ["authorization_code"]
    assert updated.reach == [tree["batignolles"].id]
    with pytest.raises(ValidationFailed) as exc:
        await clients.update(paris_admin, view.id, {"reach": [tree["lyon"].id]})
    assert fields(exc) == {"reach.0"}
    reset = await clients.update(paris_admin, view.id, {"reach": None})
    assert reset.reach == [tree["paris"].id]  # a chapter's client never reaches further
    with pytest.raises(ValidationFailed) as exc:
        await clients.update(paris_admin, view.id, {"grant_types": None})
    assert fields(exc) == {"grant_types"}
    with pytest.raises(ValidationFailed) as exc:  # a chapter's client cannot speak for itself
        await clients.update(paris_admin, view.id, {"grant_types": ["client_credentials"]})
    assert "grant_types" in fields(exc)
    assert (await clients.get(paris_admin, view.id)).grant_types == ["authorization_code"]


async def test_deleting_a_client_removes_it_its_codes_and_consents_and_revokes_its_tokens(
    session: AsyncSession, factory: Factory, paris_admin: Ctx, tree: Tree
) -> None:
    view = (await clients.create(paris_admin, site(tree["paris"]))).view
    person_id = await factory.person()
    issued = await tokens.issue(
        session, kind=TokenKind.ACCESS, scopes={"profile"}, ttl=timedelta(minutes=5),
        person_id=person_id, client_id=view.client_id,
    )
    session.add(Consent(person_id=person_id, oauth_client_id=view.id, scopes=["profile"]))
    session.add(AuthorizationCode(
        code_hash=hashlib.sha256(b"code").hexdigest(), oauth_client_id=view.id,
        person_id=person_id, redirect_uri=REDIRECT, scopes=["profile"], code_challenge="x" * 43,
        code_challenge_method="S256", family_id=uuid.uuid4(), expires_at=utcnow(),
    ))
    await session.flush()
    lyon_admin = as_person(session, await factory.member(tree["lyon"], "admin"))
    with pytest.raises(NotFound):
        await clients.delete(lyon_admin, view.id)
    await clients.delete(paris_admin, view.id)
    assert await session.get(OAuthClient, view.id, populate_existing=True) is None
    left = select(Consent).where(Consent.oauth_client_id == view.id)
    assert (await session.exec(left)).all() == []
    codes = select(AuthorizationCode).where(AuthorizationCode.oauth_client_id == view.id)
    assert (await session.exec(codes)).all() == []
    token = await session.get(AccessToken, issued.id, populate_existing=True)
    assert token is not None and token.revoked_at is not None
    assert await tokens.resolve(session, issued.token, utcnow()) is None
    with pytest.raises(NotFound):
        await clients.delete(paris_admin, view.id)


# -- secret rotation -----------------------------------------------------------------------


async def test_after_rotation_the_old_secret_works_until_the_grace_ends(
    session: AsyncSession, paris_admin: Ctx, tree: Tree
) -> None:
    created = await clients.create(paris_admin, site(tree["paris"]))
    old = created.client_secret
    assert old is not None
    rotated = await clients.rotate_secret(paris_admin, created.view.id, timedelta(hours=2))
    new = rotated.client_secret
    assert new is not None and new != old
    rotated_at = rotated.view.secret_rotated_at
    assert rotated_at is not None
    assert rotated.view.previous_secret_expires_at == rotated_at + timedelta(hours=2)
    client_id = created.view.client_id

    before_end = await record_of(session, client_id, rotated_at + timedelta(hours=2, seconds=-1))
    assert before_end.check_client_secret(old) and before_end.check_client_secret(new)
    at_end = await record_of(session, client_id, rotated_at + timedelta(hours=2))
    assert not at_end.check_client_secret(old) and at_end.check_client_secret(new)
    assert not at_end.check_client_secret("msk_cs_" + "x" * 43)


async def test_the_default_grace_comes_from_the_settings_and_zero_means_none(
    session: AsyncSession, paris_admin: Ctx, tree: Tree, setting: Callable[[str, str | None], None]
) -> None:
    created = await clients.create(paris_admin, site(tree["paris"]))
    assert created.client_secret is not None
    setting("MAKESENSE_OAUTH_SECRET_ROTATION_GRACE_S", "0")
    rotated = await clients.rotate_secret(paris_admin, created.view.id)
    setting("MAKESENSE_OAUTH_SECRET_ROTATION_GRACE_S", None)
    assert rotated.view.previous_secret_expires_at is None
    now = await record_of(session, created.view.client_id, utcnow())
    assert not now.check_client_secret(created.client_secret)
    again = await clients.rotate_secret(paris_admin, created.view.id)
    assert again.view.previous_secret_expires_at is not None
    assert again.view.secret_rotated_at is not None
    grace = again.view.previous_secret_expires_at - again.view.secret_rotated_at
    assert grace == timedelta(seconds=86_400)


async def test_a_second_rotation_retires_the_first_secret_at_once(
    session: AsyncSession, paris_admin: Ctx, tree: Tree
) -> None:
    first = await clients.create(paris_admin, site(tree["paris"]))
    second = await clients.rotate_secret(paris_admin, first.view.id)
    third = await clients.rotate_secret(paris_admin, first.view.id)
    record = await record_of(session, first.view.client_id, utcnow())
    assert first.client_secret and second.client_secret and third.client_secret
    assert not record.check_client_secret(first.client_secret)
    assert record.check_client_secret(second.client_secret)
    assert record.check_client_secret(third.client_secret)
    row = await session.get(OAuthClient, first.view.id, populate_existing=True)
    assert row is not None
    stored = {row.secret_hash, row.previous_secret_hash}
    assert all(secret not in str(stored) for secret in (second.client_secret, third.client_secret))


# -- loopback redirect URIs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("registered", "presented", "ok"),
    [
        ("http://127.0.0.1/callback", "http://127.0.0.1/callback", True),
        ("http://127.0.0.1/callback", "http://127.0.0.1:51004/callback", True),
        ("http://127.0.0.1:8080/callback", "http://127.0.0.1:51004/callback", True),
        ("http://127.0.0.1:8080/callback", "http://127.0.0.1/callback", True),
        ("http://[::1]/callback", "http://[::1]:60000/callback", True),
        ("http://127.0.0.1/cb?app=1", "http://127.0.0.1:4000/cb?app=1", True),
        ("http://127.0.0.1/callback", "http://127.0.0.1:51004/callback/", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1:51004/other", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1:51004/callback?x=1", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1:51004/callback#f", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1:0/callback", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1:70000/callback", False),
        ("http://127.0.0.1/callback", "http://[::1]:51004/callback", False),
        ("http://127.0.0.1/callback", "http://localhost:51004/callback", False),
        ("http://127.0.0.1/callback", "https://127.0.0.1:51004/callback", False),
        ("http://127.0.0.1/callback", "HTTP://127.0.0.1:51004/callback", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1:51004@evil.example/callback", False),
        ("http://127.0.0.1/callback", "http://user@127.0.0.1:51004/callback", False),
        ("http://127.0.0.1/callback", "http://127.0.0.1.evil.example:80/callback", False),
        ("http://localhost/callback", "http://localhost:51004/callback", False),
        ("https://app.example.org/cb", "https://app.example.org:8443/cb", False),
    ],
)
def test_loopback_redirect_uris_accept_any_port_and_nothing_else(
    registered: str, presented: str, ok: bool
) -> None:
    assert redirect_uri_matches(registered, presented) is ok


# -- purge ---------------------------------------------------------------------------------


async def _token(
    session: AsyncSession, person_id: uuid.UUID, kind: TokenKind, *, expires: Any,
    revoked: Any = None,
) -> uuid.UUID:
    issued = await tokens.issue(
        session, kind=kind, scopes={"profile"}, ttl=timedelta(hours=1), person_id=person_id
    )
    row = await session.get(AccessToken, issued.id)
    assert row is not None
    row.expires_at, row.revoked_at = expires, revoked
    session.add(row)
    await session.flush()
    return issued.id


async def test_the_purge_deletes_only_what_is_past_the_retention(
    session: AsyncSession, factory: Factory, paris_admin: Ctx, tree: Tree
) -> None:
    person_id = await factory.person()
    client = (await clients.create(paris_admin, site(tree["paris"]))).view
    now = utcnow()
    week, day = timedelta(days=7), timedelta(days=1)
    long_ago, recently, later = now - week - day, now - day, now + day
    gone = {
        await _token(session, person_id, TokenKind.ACCESS, expires=long_ago),
        await _token(session, person_id, TokenKind.ACCESS, expires=later, revoked=long_ago),
        await _token(session, person_id, TokenKind.REFRESH, expires=long_ago),
        await _token(session, person_id, TokenKind.PERSONAL, expires=long_ago),
        await _token(session, person_id, TokenKind.PERSONAL, expires=later, revoked=long_ago),
    }
    kept = {
        await _token(session, person_id, TokenKind.ACCESS, expires=recently),
        await _token(session, person_id, TokenKind.ACCESS, expires=later, revoked=recently),
        # A rotated refresh token stays until it expires: replaying it must still be noticed.
        await _token(session, person_id, TokenKind.REFRESH, expires=later, revoked=long_ago),
        await _token(session, person_id, TokenKind.PERSONAL, expires=later),
    }
    for name, expires in (("old", long_ago), ("new", recently)):
        session.add(AuthorizationCode(
            code_hash=hashlib.sha256(name.encode()).hexdigest(), oauth_client_id=client.id,
            person_id=person_id, redirect_uri=REDIRECT, scopes=["profile"],
            code_challenge="x" * 43, code_challenge_method="S256", family_id=uuid.uuid4(),
            expires_at=expires,
        ))
    await session.flush()

    done = await purge.purge_batch(session, now=now, retention=week, batch_size=100)
    assert (done.codes, done.oauth_tokens, done.personal_tokens) == (1, 3, 2)
    ids = set((await session.exec(select(AccessToken.id))).all())
    assert gone.isdisjoint(ids) and kept <= ids
    codes = select(AuthorizationCode.code_hash).where(
        AuthorizationCode.oauth_client_id == client.id
    )
    assert (await session.exec(codes)).all() == [hashlib.sha256(b"new").hexdigest()]
    again = await purge.purge_batch(session, now=now, retention=week, batch_size=100)
    assert again.total == 0


async def test_the_purge_works_in_bounded_committed_batches(
    session: AsyncSession, factory: Factory, app_database: Database
) -> None:
    person_id = await factory.person()
    long_ago = utcnow() - timedelta(days=30)
    for _ in range(5):
        await _token(session, person_id, TokenKind.PERSONAL, expires=long_ago)
    await session.commit()  # a savepoint of the test's transaction
    one = await purge.purge_expired(
        app_database.sessionmaker, retention=timedelta(days=7), batch_size=2, max_batches=1
    )
    assert one.personal_tokens == 2
    rest = await purge.purge_expired(
        app_database.sessionmaker, retention=timedelta(days=7), batch_size=2
    )
    assert rest.personal_tokens == 3
    mine = select(AccessToken).where(AccessToken.person_id == person_id)
    assert (await session.exec(mine.execution_options(populate_existing=True))).all() == []


# -- GraphQL -------------------------------------------------------------------------------

CREATE_CLIENT = """
mutation($input: OAuthClientCreateInput!) {
  oauthClientCreate(input: $input) {
    __typename
    ... on OAuthClientSecretPayload {
      clientSecret
      oauthClient { id clientId name clientType redirectUris grantTypes scopes reach
                    chapter { slug } partner { slug } }
    }
    ... on ValidationError { code fields { field message } }
    ... on Error { code message }
  }
}
"""
ROTATE = """
mutation($id: ID!) {
  oauthClientRotateSecret(input: {id: $id}) {
    __typename
    ... on OAuthClientSecretPayload { clientSecret oauthClient { previousSecretExpiresAt } }
    ... on Error { code }
  }
}
"""
UPDATE_CLIENT = """
mutation($input: OAuthClientUpdateInput!) {
  oauthClientUpdate(input: $input) {
    __typename
    ... on OAuthClientPayload { oauthClient { name scopes grantTypes reach } }
    ... on ValidationError { fields { field } }
    ... on Error { code }
  }
}
"""
DELETE_CLIENT = """
mutation($id: ID!) {
  oauthClientDelete(input: {id: $id}) {
    __typename
    ... on OAuthClientDeletePayload { deletedId }
    ... on Error { code }
  }
}
"""


def client_input(chapter: ChapterView, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Paris site",
        "chapterId": to_global_id("Chapter", chapter.id),
        "clientType": "confidential",
        "redirectUris": [REDIRECT],
        "grantTypes": ["authorization_code"],
        "scopes": ["profile", "events:read"],
        **overrides,
    }


async def test_graphql_manages_a_chapters_client_from_creation_to_deletion(
    session: AsyncSession, tree: Tree, paris_admin_id: uuid.UUID
) -> None:
    admin = as_person(session, paris_admin_id, scopes=ADMIN).principal
    created = (
        await gql.run(session, CREATE_CLIENT, {"input": client_input(tree["paris"])}, admin)
    )["oauthClientCreate"]
    assert created["__typename"] == "OAuthClientSecretPayload", created
    secret = created["clientSecret"]
    client = created["oauthClient"]
    assert secret.startswith("msk_cs_")
    assert client["chapter"] == {"slug": "paris"} and client["partner"] is None
    assert client["reach"] == [to_global_id("Chapter", tree["paris"].id)]
    row = (await session.exec(select(OAuthClient).where(OAuthClient.client_id == client["clientId"]))).one()
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()

    bad = client_input(tree["paris"], redirectUris=["http://evil.example/cb"], scopes=["nope"])
    refused = (await gql.run(session, CREATE_CLIENT, {"input": bad}, admin))["oauthClientCreate"]
    assert refused["__typename"] == "ValidationError"
    assert {f["field"] for f in refused["fields"]} == {"redirect_uris.0", "scopes.0"}

    update = {"id": client["id"], "name": "Paris web", "reach": [
        to_global_id("Chapter", tree["batignolles"].id)]}
    updated = (await gql.run(session, UPDATE_CLIENT, {"input": update}, admin))["oauthClientUpdate"]
    assert updated["oauthClient"]["name"] == "Paris web"
    assert updated["oauthClient"]["reach"] == [to_global_id("Chapter", tree["batignolles"].id)]
    wrong_id = {"id": to_global_id("Chapter", tree["paris"].id), "name": "x"}
    wrong = (await gql.run(session, UPDATE_CLIENT, {"input": wrong_id}, admin))["oauthClientUpdate"]
    assert wrong["__typename"] == "ValidationError" and wrong["fields"] == [{"field": "id"}]

    rotated = (await gql.run(session, ROTATE, {"id": client["id"]}, admin))["oauthClientRotateSecret"]
    assert rotated["clientSecret"].startswith("msk_cs_") and rotated["clientSecret"] != secret
    assert rotated["oauthClient"]["previousSecretExpiresAt"] is not None

    deleted = (await gql.run(session, DELETE_CLIENT, {"id": client["id"]}, admin))
    assert deleted["oauthClientDelete"] == {
        "__typename": "OAuthClientDeletePayload", "deletedId": client["id"]
    }
    again = (await gql.run(session, DELETE_CLIENT, {"id": client["id"]}, admin))
    assert again["oauthClientDelete"] == {"__typename": "NotFoundError", "code": "not_found"}


PARTNERS = """
mutation($create: PartnerCreateInput!) {
  partnerCreate(input: $create) {
    __typename
    ... on PartnerPayload { partner { id slug name website active } }
    ... on Error { code }
  }
}
"""
PARTNER_UPDATE = """
mutation($input: PartnerUpdateInput!) {
  partnerUpdate(input: $input) {
    __typename
    ... on PartnerPayload { partner { slug name website active } }
    ... on Error { code }
  }
}
"""
GRANT = """
mutation($input: PartnerGrantCreateInput!) {
  partnerGrantCreate(input: $input) {
    __typename
    ... on PartnerGrantPayload { partnerGrant { id scopes chapterSlug partner { slug }
                                                chapter { slug } } }
    ... on ValidationError { fields { field } }
    ... on Error { code }
  }
}
"""
REVOKE_GRANT = """
mutation($input: PartnerGrantRevokeInput!) {
  partnerGrantRevoke(input: $input) { __typename ... on Error { code } }
}
"""
CHAPTER_ACCESS = """
query($slug: String!) {
  chapter(slug: $slug) {
    oauthClients(first: 10) { edges { node { name } } }
    partnerGrants(first: 10) { edges { node { id scopes partner { slug } } } }
  }
}
"""


async def test_graphql_partners_and_grants(
    session: AsyncSession, factory: Factory, tree: Tree, paris_admin_id: uuid.UUID
) -> None:
    network_admin_id = await factory.member(tree["root"], "admin")
    network = as_person(session, network_admin_id, scopes=ADMIN).principal
    paris = as_person(session, paris_admin_id, scopes=ADMIN).principal
    denied = (await gql.run(session, PARTNERS, {"create": {"slug": "crm", "name": "CRM"}}, paris))
    assert denied["partnerCreate"] == {"__typename": "ForbiddenError", "code": "forbidden"}
    made = (await gql.run(session, PARTNERS, {"create": {
        "slug": "crm", "name": "CRM", "website": "https://crm.example.org"}}, network))
    partner = made["partnerCreate"]["partner"]
    assert partner["slug"] == "crm" and partner["active"] is True
    changed = await gql.run(session, PARTNER_UPDATE, {"input": {
        "id": partner["id"], "name": "CRM Co", "website": None}}, network)
    assert changed["partnerUpdate"]["partner"] == {
        "slug": "crm", "name": "CRM Co", "website": None, "active": True
    }

    grant_input = {"partnerId": partner["id"], "chapterId": to_global_id("Chapter", tree["paris"].id),
                   "scopes": ["events:read", "people:read"]}
    granted = (await gql.run(session, GRANT, {"input": grant_input}, paris))["partnerGrantCreate"]
    grant = granted["partnerGrant"]
    assert grant["scopes"] == ["events:read", "people:read"]
    assert grant["chapterSlug"] == "paris" and grant["partner"] == {"slug": "crm"}
    more = {**grant_input, "scopes": ["events:write"]}
    merged = (await gql.run(session, GRANT, {"input": more}, paris))["partnerGrantCreate"]
    assert merged["partnerGrant"]["id"] == grant["id"]  # the same grant, one more scope
    assert merged["partnerGrant"]["scopes"] == ["events:read", "events:write", "people:read"]
    bad = {**grant_input, "scopes": ["chapters:write"]}
    refused = (await gql.run(session, GRANT, {"input": bad}, paris))["partnerGrantCreate"]
    assert refused["__typename"] == "ValidationError"
    assert refused["fields"] == [{"field": "scopes.0"}]

    seen = (await gql.run(session, CHAPTER_ACCESS, {"slug": "paris"}, paris))["chapter"]
    assert [e["node"]["id"] for e in seen["partnerGrants"]["edges"]] == [grant["id"]]

    some = {"id": grant["id"], "scopes": ["people:read"]}
    assert (await gql.run(session, REVOKE_GRANT, {"input": some}, paris))[
        "partnerGrantRevoke"] == {"__typename": "PartnerGrantRevokePayload"}
    rows = select(PartnerGrant.scope).where(PartnerGrant.chapter_id == tree["paris"].id)
    assert sorted((await session.exec(rows)).all()) == ["events:read", "events:write"]
    assert (await gql.run(session, REVOKE_GRANT, {"input": {"id": grant["id"]}}, paris))[
        "partnerGrantRevoke"] == {"__typename": "PartnerGrantRevokePayload"}
    assert (await session.exec(rows)).all() == []
    gone = await gql.run(session, REVOKE_GRANT, {"input": {"id": grant["id"]}}, paris)
    assert gone["partnerGrantRevoke"] == {"__typename": "NotFoundError", "code": "not_found"}


PAT_CREATE = """
mutation($input: PersonalAccessTokenCreateInput!) {
  personalAccessTokenCreate(input: $input) {
    __typename
    ... on PersonalAccessTokenCreatePayload { token personalAccessToken { id name prefix scopes } }
    ... on ValidationError { fields { field } }
    ... on Error { code }
  }
}
"""
PAT_REVOKE = """
mutation($id: ID!) {
  personalAccessTokenRevoke(input: {id: $id}) { __typename ... on Error { code } }
}
"""
MY_PATS = """
{ viewer { personalAccessTokens(first: 10) { edges { node { id name prefix } } } } }
"""


async def test_graphql_personal_access_tokens(
    session: AsyncSession, factory: Factory, tree: Tree, setting: Callable[[str, str | None], None]
) -> None:
    me = as_person(session, await factory.member(tree["paris"], "organizer"),
                   scopes={"profile", "events:write"}).principal
    pat = {"name": "sync script", "scopes": ["events:read"], "expiresInDays": 30}
    made = (await gql.run(session, PAT_CREATE, {"input": pat}, me))["personalAccessTokenCreate"]
    token = made["token"]
    assert token.startswith("msk_pat_")
    assert made["personalAccessToken"]["prefix"] == token[:16]
    assert await tokens.resolve(session, token, utcnow()) is not None
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert (await session.exec(select(AccessToken.token_hash).where(
        AccessToken.token_hash == digest))).one() == digest

    wider = {**pat, "scopes": ["people:read"]}
    refused = (await gql.run(session, PAT_CREATE, {"input": wider}, me))
    assert refused["personalAccessTokenCreate"]["fields"] == [{"field": "scopes.0"}]
    setting("MAKESENSE_PERSONAL_TOKEN_MAX_DAYS", "90")
    too_long = await gql.run(session, PAT_CREATE, {"input": {**pat, "expiresInDays": 91}}, me)
    within = await gql.run(session, PAT_CREATE, {"input": {**pat, "expiresInDays": 90}}, me)
    assert too_long["personalAccessTokenCreate"]["fields"] == [{"field": "expires_in_days"}]
    assert within["personalAccessTokenCreate"]["__typename"] == "PersonalAccessTokenCreatePayload"

    listed = (await gql.run(session, MY_PATS, None, me))["viewer"]["personalAccessTokens"]
    ids = [e["node"]["id"] for e in listed["edges"]]
    assert ids[0] == made["personalAccessToken"]["id"] and len(ids) == 2
    assert token not in str(listed)
    revoked = await gql.run(session, PAT_REVOKE, {"id": ids[0]}, me)
    assert revoked["personalAccessTokenRevoke"] == {
        "__typename": "PersonalAccessTokenRevokePayload"
    }
    assert await tokens.resolve(session, token, utcnow()) is None
    after = (await gql.run(session, MY_PATS, None, me))["viewer"]["personalAccessTokens"]
    assert [e["node"]["id"] for e in after["edges"]] == ids[1:]


NESTED = """
{
  chapters(first: 20) {
    edges { node { slug
      oauthClients(first: 5) { edges { node { name chapter { slug } } } }
      partnerGrants(first: 5) { edges { node { scopes partner { slug } chapter { slug } } } }
    } }
  }
}
"""


async def test_nested_clients_and_grants_cost_a_constant_number_of_statements(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    admin = as_person(session, await factory.member(tree["root"], "admin"), scopes=ADMIN)

    async def statements() -> int:
        with gql.count_statements(session) as seen:
            data = await gql.run(session, NESTED, None, admin.principal)
        assert data["chapters"]["edges"]
        return len(seen)

    partner = await factory.partner()
    await factory.oauth_client(chapter=tree["paris"])
    await factory.grant(partner.id, tree["paris"], "events:read")
    few = await statements()
    for key in ("lyon", "lagos", "france", "europe", "batignolles"):
        await factory.oauth_client(chapter=tree[key])
        await factory.oauth_client(chapter=tree[key])
        await factory.grant(partner.id, tree[key], "events:read", "people:read")
    many = await statements()
    assert many == few, (few, many)
    data = await gql.run(session, NESTED, None, admin.principal)
    by_slug = {e["node"]["slug"]: e["node"] for e in data["chapters"]["edges"]}
    assert len(by_slug["lyon"]["oauthClients"]["edges"]) == 2
    assert by_slug["lyon"]["partnerGrants"]["edges"][0]["node"]["chapter"] == {"slug": "lyon"}


async def test_the_command_line_rotates_secrets_and_purges(tmp_path: Any) -> None:
    from makesense_api.authz.principal import Principal
    from makesense_api.chapters import service as chapters
    from makesense_api.cli import (
        create_client,
        migrate_database,
        purge_credentials,
        rotate_client_secret,
    )
    from makesense_api.config import Settings

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
                        environment="test")
    await migrate_database(settings)
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session:
            await chapters.create_root(Ctx.of(session, Principal.system()), {
                "slug": "net", "name": "Network", "default_language": "en",
                "kind": "network", "timezone": "UTC",
            })
            await session.commit()
        printed = await create_client(settings, "chapter:net", {
            "name": "Site", "client_type": "confidential", "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code"], "scopes": ["events:read"],
        })
        client_id = printed.splitlines()[0].removeprefix("client_id: ")
        old_secret = printed.splitlines()[1].split()[1]
        rotated = await rotate_client_secret(settings, client_id)
        new_secret = rotated.splitlines()[0].split()[1]
        assert new_secret.startswith("msk_cs_") and new_secret != old_secret
        assert "the previous secret works until" in rotated
        async with database.sessionmaker() as session:
            record = await record_of(session, client_id, utcnow())
            assert record.check_client_secret(old_secret)
            assert record.check_client_secret(new_secret)
    finally:
        await database.dispose()
    assert await purge_credentials(settings) == (
        "purged 0 authorization codes, 0 OAuth tokens, 0 personal tokens, 0 idempotency keys"
    )
