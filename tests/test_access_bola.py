"""Object-level authorization of access management: OAuth clients, partner grants, partners and
personal access tokens, through every GraphQL way to reach them.

The world: net → europe → france → {paris → batignolles, lyon}, africa → lagos. Paris has a
client and a partner grant; a partner owns a client of its own; Paris's admin has a personal
token. Each object carries a mark, a random string that appears in a response only if the
object is shown. Each test reaches one object one way as one principal:

    owner          Paris's admin (the network's admin for partner objects; the token's person
                   for personal tokens), through a token carrying every scope
    other_chapter  Lyon's admin (for personal tokens: another person), every scope
    no_scope       the owner through a token lacking the scope the way needs
                   (`chapters:write`; `profile` for personal tokens)
    other_reach    the owner through a token restricted to Lyon's subtree
    partner        the partner holding the grant, through a token with every grantable scope
    anonymous      no token

The owner must get the object, so the probe provably reaches it. Everyone else gets null, an
empty list, "not found" or a typed denial, sees no mark, and a refused change changes nothing.
"""

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import ALL_SCOPES, Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.graphql.relay import to_global_id
from makesense_api.oauth.models import OAuthClient
from makesense_api.partners.models import PartnerGrant
from makesense_api.partners.service import GRANTABLE_SCOPES
from makesense_api.tokens.models import AccessToken
from tests import gql
from tests.factories import Factory

PRINCIPALS = ["owner", "other_chapter", "no_scope", "other_reach", "partner", "anonymous"]
DENIALS = {"NotFoundError", "ForbiddenError", "UnauthenticatedError"}


@dataclass
class World:
    tree: dict[str, ChapterView]
    paris_admin: uuid.UUID
    lyon_admin: uuid.UUID
    network_admin: uuid.UUID
    partner_id: uuid.UUID
    client_id: uuid.UUID
    partner_client_id: uuid.UUID
    grant_id: uuid.UUID
    token_id: uuid.UUID
    marks: dict[str, str]

    def principal(self, who: str, owner: uuid.UUID, needed: str = "chapters:write") -> Principal:
        if who == "owner":
            return Principal.person(owner)
        if who == "other_chapter":
            return Principal.person(self.lyon_admin)
        if who == "no_scope":
            return Principal.person(owner, ALL_SCOPES - {needed})
        if who == "other_reach":
            return Principal.person(owner, reach=frozenset({self.tree["lyon"].id}))
        if who == "partner":
            return Principal.partner(self.partner_id, GRANTABLE_SCOPES)
        return Principal.anonymous()


def mark() -> str:
    return secrets.token_hex(8)


@pytest.fixture
async def world(factory: Factory) -> World:
    tree = await factory.tree()
    marks = {k: mark() for k in ("client", "partner_client", "token", "partner")}
    paris_admin = await factory.member(tree["paris"], "admin")
    partner = await factory.partner(name=f"Partner {marks['partner']}")
    client = await factory.oauth_client(chapter=tree["paris"], name=f"App {marks['client']}")
    partner_client = await factory.oauth_client(
        partner_id=partner.id,
        name=f"CRM {marks['partner_client']}",
        client_type="confidential",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["events:read"],
    )
    grant = await factory.grant(partner.id, tree["paris"], *sorted(GRANTABLE_SCOPES))
    from makesense_api.context import Ctx
    from makesense_api.tokens import service as tokens

    owner_ctx = Ctx.of(factory.ctx.session, Principal.person(paris_admin))
    made = await tokens.create_personal(
        owner_ctx, {"name": f"Script {marks['token']}", "scopes": ["events:read"],
                    "expires_in_days": 30}
    )
    return World(
        tree=tree,
        paris_admin=paris_admin,
        lyon_admin=await factory.member(tree["lyon"], "admin"),
        network_admin=await factory.member(tree["root"], "admin"),
        partner_id=partner.id,
        client_id=client.view.id,
        partner_client_id=partner_client.view.id,
        grant_id=grant.id,
        token_id=made.view.id,
        marks=marks,
    )


async def query(
    session: AsyncSession, document: str, variables: dict[str, Any] | None, who: Principal
) -> tuple[Any, str]:
    """The result and everything it shows (data and errors) as one string."""
    result = await gql.execute(session, document, variables, who)
    shown = json.dumps({"data": result.data, "errors": [str(e) for e in result.errors or []]})
    return result, shown


def refusal(result: Any) -> str | None:
    """The domain code of the first error of a query (a typed denial), if any."""
    if not result.errors:
        return None
    return getattr(result.errors[0].original_error, "code", None)


REFUSALS = {"forbidden", "insufficient_scope", "unauthenticated"}


def denied(payload: dict[str, Any]) -> bool:
    return payload["__typename"] in DENIALS


# -- OAuth clients of a chapter --------------------------------------------------------------

NODE = "query($id: ID!) { node(id: $id) { __typename ... on OAuthClient { name clientId } "\
       "... on PartnerGrant { scopes partner { name } } "\
       "... on Partner { name } ... on PersonalAccessToken { tokenName: name } } }"
CHAPTER_ACCESS = """
{ chapter(slug: "paris") {
    oauthClients(first: 10) { edges { node { name } } }
    partnerGrants(first: 10) { edges { node { scopes partner { name } } } } } }
"""


@pytest.mark.parametrize("who", PRINCIPALS)
async def test_a_chapters_client_by_node_id(
    session: AsyncSession, world: World, who: str
) -> None:
    gid = to_global_id("OAuthClient", world.client_id)
    result, shown = await query(session, NODE, {"id": gid},
                                world.principal(who, world.paris_admin))
    assert result.errors is None
    if who == "owner":
        assert world.marks["client"] in result.data["node"]["name"]
    else:
        assert result.data["node"] is None
        assert world.marks["client"] not in shown


@pytest.mark.parametrize("who", PRINCIPALS)
async def test_a_chapters_clients_and_grants_as_nested_connections(
    session: AsyncSession, world: World, who: str
) -> None:
    result, shown = await query(session, CHAPTER_ACCESS, None,
                                world.principal(who, world.paris_admin))
    assert result.errors is None
    chapter = result.data["chapter"]
    if chapter is None:  # outside the token's reach, the chapter itself is invisible
        assert who == "other_reach"
    elif who == "owner":
        assert world.marks["client"] in chapter["oauthClients"]["edges"][0]["node"]["name"]
        edges = chapter["partnerGrants"]["edges"]
        assert world.marks["partner"] in edges[0]["node"]["partner"]["name"]
    else:
        assert chapter["oauthClients"]["edges"] == []
        assert chapter["partnerGrants"]["edges"] == []
        assert world.marks["client"] not in shown and world.marks["partner"] not in shown


CLIENT_CHANGES = {
    "update": """mutation($id: ID!) { r: oauthClientUpdate(input: {id: $id, name: "Hijacked"})
                  { __typename ... on OAuthClientPayload { oauthClient { name } } } }""",
    "rotate": """mutation($id: ID!) { r: oauthClientRotateSecret(input: {id: $id})
                  { __typename ... on OAuthClientSecretPayload { clientSecret } } }""",
    "delete": """mutation($id: ID!) { r: oauthClientDelete(input: {id: $id})
                  { __typename ... on OAuthClientDeletePayload { deletedId } } }""",
}


@pytest.mark.parametrize("change", sorted(CLIENT_CHANGES))
@pytest.mark.parametrize("who", PRINCIPALS)
async def test_changing_a_chapters_client_by_id(
    session: AsyncSession, world: World, who: str, change: str
) -> None:
    before = await session.get(OAuthClient, world.client_id, populate_existing=True)
    assert before is not None
    state = (before.name, before.secret_hash, before.revoked_at)
    gid = to_global_id("OAuthClient", world.client_id)
    result, shown = await query(session, CLIENT_CHANGES[change], {"id": gid},
                                world.principal(who, world.paris_admin))
    assert result.errors is None
    after = await session.get(OAuthClient, world.client_id, populate_existing=True)
    if who == "owner":
        assert not denied(result.data["r"])
        assert after is None if change == "delete" else after is not None
    else:
        assert denied(result.data["r"]), result.data
        assert after is not None and (after.name, after.secret_hash, after.revoked_at) == state
        assert "msk_cs_" not in shown


@pytest.mark.parametrize("who", ["network_admin", "paris_admin", "partner", "anonymous"])
async def test_a_partners_client_is_for_network_admins_only(
    session: AsyncSession, world: World, who: str
) -> None:
    principal = {
        "network_admin": Principal.person(world.network_admin),
        "paris_admin": Principal.person(world.paris_admin),
        "partner": Principal.partner(world.partner_id, GRANTABLE_SCOPES),
        "anonymous": Principal.anonymous(),
    }[who]
    gid = to_global_id("OAuthClient", world.partner_client_id)
    result, shown = await query(session, NODE, {"id": gid}, principal)
    partner_gid = to_global_id("Partner", world.partner_id)
    listed, listed_shown = await query(
        session,
        "query($id: ID!) { node(id: $id) { ... on Partner { oauthClients { edges { node "
        "{ name } } } } } }",
        {"id": partner_gid},
        principal,
    )
    if who == "network_admin":
        assert world.marks["partner_client"] in result.data["node"]["name"]
        edges = listed.data["node"]["oauthClients"]["edges"]
        assert world.marks["partner_client"] in edges[0]["node"]["name"]
    else:
        assert result.data["node"] is None
        assert world.marks["partner_client"] not in shown + listed_shown
    rotate, rotate_shown = await query(session, CLIENT_CHANGES["rotate"], {"id": gid}, principal)
    assert denied(rotate.data["r"]) is (who != "network_admin")
    if who != "network_admin":
        assert "msk_cs_" not in rotate_shown


# -- partner grants --------------------------------------------------------------------------


@pytest.mark.parametrize("who", PRINCIPALS)
async def test_a_grant_by_node_id(session: AsyncSession, world: World, who: str) -> None:
    gid = to_global_id("PartnerGrant", world.grant_id)
    result, shown = await query(session, NODE, {"id": gid},
                                world.principal(who, world.paris_admin))
    assert result.errors is None
    if who == "owner":
        assert world.marks["partner"] in result.data["node"]["partner"]["name"]
    else:
        assert result.data["node"] is None
        assert world.marks["partner"] not in shown


REVOKE = """mutation($id: ID!) { r: partnerGrantRevoke(input: {id: $id}) { __typename } }"""
GRANT = """mutation($p: ID!, $c: ID!) {
  r: partnerGrantCreate(input: {partnerId: $p, chapterId: $c, scopes: ["events:read"]}) {
    __typename ... on PartnerGrantPayload { partnerGrant { scopes } } } }"""


@pytest.mark.parametrize("who", PRINCIPALS)
async def test_revoking_and_granting_in_a_chapter(
    session: AsyncSession, world: World, who: str
) -> None:
    principal = world.principal(who, world.paris_admin)
    rows = select(PartnerGrant.scope).where(PartnerGrant.chapter_id == world.tree["paris"].id)
    before = sorted((await session.exec(rows)).all())
    grant_on = {"p": to_global_id("Partner", world.partner_id),
                "c": to_global_id("Chapter", world.tree["batignolles"].id)}
    granted, _ = await query(session, GRANT, grant_on, principal)
    on_batignolles = select(PartnerGrant).where(
        PartnerGrant.chapter_id == world.tree["batignolles"].id
    )
    revoked, _ = await query(session, REVOKE,
                             {"id": to_global_id("PartnerGrant", world.grant_id)}, principal)
    after = sorted((await session.exec(rows)).all())
    if who == "owner":
        assert granted.data["r"]["partnerGrant"]["scopes"] == ["events:read"]
        assert revoked.data["r"]["__typename"] == "PartnerGrantRevokePayload"
        assert after == []
    else:
        assert denied(granted.data["r"]) and denied(revoked.data["r"])
        assert (await session.exec(on_batignolles)).all() == []
        assert after == before


PARTNERS = "{ partners(first: 10) { edges { node { name } } } }"


@pytest.mark.parametrize("who", PRINCIPALS)
async def test_the_partner_list_is_for_network_admins(
    session: AsyncSession, world: World, who: str
) -> None:
    result, shown = await query(session, PARTNERS, None,
                                world.principal(who, world.network_admin))
    if who == "owner":
        names = [e["node"]["name"] for e in result.data["partners"]["edges"]]
        assert any(world.marks["partner"] in n for n in names)
    else:
        assert result.data is None or result.data["partners"] is None
        assert refusal(result) in REFUSALS
        assert world.marks["partner"] not in shown


@pytest.mark.parametrize("who", ["network_admin", "itself", "paris_admin", "other_partner"])
async def test_a_partner_by_node_id(
    session: AsyncSession, factory: Factory, world: World, who: str
) -> None:
    other = await factory.partner()
    principal = {
        "network_admin": Principal.person(world.network_admin),
        "itself": Principal.partner(world.partner_id, {"events:read"}),
        "paris_admin": Principal.person(world.paris_admin),
        "other_partner": Principal.partner(other.id, {"events:read"}),
    }[who]
    gid = to_global_id("Partner", world.partner_id)
    result, shown = await query(session, NODE, {"id": gid}, principal)
    if who in {"network_admin", "itself"}:
        assert world.marks["partner"] in result.data["node"]["name"]
    else:
        assert result.data["node"] is None and world.marks["partner"] not in shown


# -- personal access tokens ------------------------------------------------------------------

MY_TOKENS = "{ viewer { personalAccessTokens { edges { node { name } } } } }"
REVOKE_PAT = """mutation($id: ID!) { r: personalAccessTokenRevoke(input: {id: $id}) {
  __typename } }"""


def token_principal(world: World, who: str) -> Principal:
    return world.principal(who, world.paris_admin, needed="profile")


@pytest.mark.parametrize("who", PRINCIPALS)
async def test_a_personal_token_by_node_id_and_in_the_viewer(
    session: AsyncSession, world: World, who: str
) -> None:
    principal = token_principal(world, who)
    gid = to_global_id("PersonalAccessToken", world.token_id)
    node, node_shown = await query(session, NODE, {"id": gid}, principal)
    mine, mine_shown = await query(session, MY_TOKENS, None, principal)
    if who in {"owner", "other_reach"}:  # a person's own tokens are not chapter data
        assert world.marks["token"] in node.data["node"]["tokenName"]
        edges = mine.data["viewer"]["personalAccessTokens"]["edges"]
        assert world.marks["token"] in edges[0]["node"]["name"]
    else:
        assert node.data["node"] is None
        assert world.marks["token"] not in node_shown + mine_shown
        if mine.errors is None:
            assert mine.data["viewer"]["personalAccessTokens"]["edges"] == []
        else:
            assert refusal(mine) in REFUSALS


@pytest.mark.parametrize("who", PRINCIPALS)
async def test_revoking_a_personal_token_by_id(
    session: AsyncSession, world: World, who: str
) -> None:
    gid = to_global_id("PersonalAccessToken", world.token_id)
    result, _ = await query(session, REVOKE_PAT, {"id": gid}, token_principal(world, who))
    row = await session.get(AccessToken, world.token_id, populate_existing=True)
    assert row is not None
    if who in {"owner", "other_reach"}:
        assert result.data["r"]["__typename"] == "PersonalAccessTokenRevokePayload"
        assert row.revoked_at is not None
    else:
        assert denied(result.data["r"]) and row.revoked_at is None
