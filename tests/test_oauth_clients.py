"""OAuth client management: who may register and manage clients, and the rules a client keeps."""

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.kit.errors import (
    Forbidden,
    MissingScope,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.oauth import service as clients
from makesense_api.oauth.models import OAuthClient
from makesense_api.oauth.rules import redirect_uri_error, secret_matches
from makesense_api.tokens import service as tokens
from makesense_api.tokens.models import AccessToken, TokenKind
from tests.conftest import as_person
from tests.factories import Factory

Tree = dict[str, ChapterView]
REDIRECT = "https://paris.example.org/callback"


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


@pytest.fixture
async def paris_admin(session: AsyncSession, factory: Factory, tree: Tree) -> Ctx:
    return as_person(session, await factory.member(tree["paris"], "admin"))


@pytest.fixture
async def network_admin(session: AsyncSession, factory: Factory, tree: Tree) -> Ctx:
    return as_person(session, await factory.member(tree["root"], "admin"))


@pytest.fixture
async def partner(factory: Factory) -> Any:
    return await factory.partner()


def site(chapter: ChapterView, **overrides: Any) -> dict[str, Any]:
    """A chapter's confidential web site, signing people in with refresh."""
    return {
        "name": "Paris site",
        "chapter_id": chapter.id,
        "client_type": "confidential",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["profile", "events:read", "offline_access"],
        **overrides,
    }


def integration(partner_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "CRM sync",
        "partner_id": partner_id,
        "client_type": "confidential",
        "grant_types": ["client_credentials"],
        "scopes": ["events:read", "people:read"],
        **overrides,
    }


def fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {e.field for e in exc.value.errors}


async def row_of(session: AsyncSession, client_pk: uuid.UUID) -> OAuthClient:
    stmt = select(OAuthClient).where(OAuthClient.id == client_pk)
    return (await session.exec(stmt.execution_options(populate_existing=True))).one()


# -- creating -----------------------------------------------------------------------------


async def test_a_chapter_admin_registers_a_client_and_sees_its_secret_once(
    session: AsyncSession, paris_admin: Ctx, tree: Tree
) -> None:
    created = await clients.create(paris_admin, site(tree["paris"]))
    secret = created.client_secret
    assert secret is not None and secret.startswith("msk_cs_") and len(secret) > 40
    assert secret not in repr(created)
    view = created.view
    assert view.client_id.startswith("msc_") and len(view.client_id) <= 64
    assert view.chapter_id == tree["paris"].id and view.partner_id is None
    assert view.grant_types == ["authorization_code", "refresh_token"]
    assert view.reach == [tree["paris"].id]  # a chapter's client stays in its subtree
    assert not hasattr(view, "secret_hash")
    row = await row_of(session, view.id)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret_matches(row.secret_hash, secret)
    assert not secret_matches(row.secret_hash, secret + "x")
    # Reading it back never shows the secret again.
    assert await clients.get(paris_admin, view.id) == view


async def test_a_public_client_has_no_secret(paris_admin: Ctx, tree: Tree) -> None:
    created = await clients.create(
        paris_admin, site(tree["paris"], client_type="public", redirect_uris=["org.paris.app:/cb"])
    )
    assert created.client_secret is None
    assert created.view.redirect_uris == ["org.paris.app:/cb"]


async def test_only_admins_of_the_chapter_register_its_clients(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    with pytest.raises(Forbidden):
        await clients.create(organizer, site(tree["paris"]))
    lyon_admin = as_person(session, await factory.member(tree["lyon"], "admin"))
    with pytest.raises(Forbidden):
        await clients.create(lyon_admin, site(tree["paris"]))
    with pytest.raises(Unauthenticated):
        await clients.create(Ctx.of(session, Principal.anonymous()), site(tree["paris"]))
    admin_id = await factory.member(tree["paris"], "admin")
    narrow = as_person(session, admin_id, scopes={"chapters:read", "profile"})
    with pytest.raises(MissingScope):
        await clients.create(narrow, site(tree["paris"]))
    # An admin higher up the tree manages the city's clients too.
    france_admin = as_person(session, await factory.member(tree["france"], "admin"))
    created = await clients.create(france_admin, site(tree["paris"]))
    assert created.view.chapter_id == tree["paris"].id


async def test_network_admins_register_partner_clients(
    network_admin: Ctx, paris_admin: Ctx, partner: Any
) -> None:
    with pytest.raises(Forbidden):
        await clients.create(paris_admin, integration(partner.id))
    created = await clients.create(network_admin, integration(partner.id, reach=None))
    assert created.view.partner_id == partner.id and created.view.reach is None
    assert created.client_secret is not None


async def test_exactly_one_owner(network_admin: Ctx, tree: Tree, partner: Any) -> None:
    with pytest.raises(ValidationFailed):
        await clients.create(network_admin, integration(partner.id, chapter_id=tree["paris"].id))
    with pytest.raises(ValidationFailed):
        await clients.create(network_admin, integration(None))  # type: ignore[arg-type]


async def test_client_credentials_only_for_confidential_partner_clients(
    network_admin: Ctx, tree: Tree, partner: Any
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        await clients.create(
            network_admin, site(tree["paris"], grant_types=["client_credentials"], scopes=["events:read"])
        )
    assert "grant_types" in fields(exc)
    with pytest.raises(ValidationFailed) as exc:
        await clients.create(network_admin, integration(partner.id, client_type="public"))
    assert "grant_types" in fields(exc)


async def test_grant_and_scope_rules(paris_admin: Ctx, tree: Tree) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"grant_types": ["refresh_token"]}, "grant_types"),
        ({"grant_types": ["implicit"]}, "grant_types.0"),
        ({"grant_types": ["password"]}, "grant_types.0"),
        ({"scopes": ["profile", "events:read"]}, "scopes"),  # refresh without offline_access
        ({"scopes": ["profile", "sudo"]}, "scopes.1"),
        ({"redirect_uris": []}, "redirect_uris"),
    ]
    for overrides, field in cases:
        with pytest.raises(ValidationFailed) as exc:
            await clients.create(paris_admin, site(tree["paris"], **overrides))
        assert field in fields(exc), overrides


async def test_a_chapter_client_cannot_reach_outside_its_subtree(
    paris_admin: Ctx, tree: Tree
) -> None:
    created = await clients.create(
        paris_admin, site(tree["paris"], reach=[tree["batignolles"].id])
    )
    assert created.view.reach == [tree["batignolles"].id]
    with pytest.raises(ValidationFailed) as exc:
        await clients.create(paris_admin, site(tree["paris"], reach=[tree["lyon"].id]))
    assert fields(exc) == {"reach.0"}
    with pytest.raises(ValidationFailed) as exc:
        await clients.create(paris_admin, site(tree["paris"], reach=[uuid.uuid4()]))
    assert "reach.0" in fields(exc)


@pytest.mark.parametrize(
    ("uri", "client_type", "ok"),
    [
        ("https://app.example.org/callback", "confidential", True),
        ("http://127.0.0.1:8765/callback", "public", True),
        ("http://[::1]/callback", "public", True),
        ("org.example.app:/callback", "public", True),
        ("org.example.app:/callback", "confidential", False),
        ("http://app.example.org/callback", "confidential", False),
        ("http://localhost:8000/callback", "public", False),
        ("https://app.example.org/callback#frag", "confidential", False),
        ("https://user:pw@app.example.org/callback", "confidential", False),
        ("https://*.example.org/callback", "confidential", False),
        ("https://app.example.org/call back", "confidential", False),
        ("javascript:alert(1)", "public", False),
        ("/callback", "confidential", False),
        ("https:///callback", "confidential", False),
        ("https://app.example.org:99999/callback", "confidential", False),
    ],
)
def test_redirect_uri_rules(uri: str, client_type: str, ok: bool) -> None:
    assert (redirect_uri_error(uri, client_type) is None) == ok


# -- reading and changing -----------------------------------------------------------------


async def test_clients_are_invisible_to_everyone_but_their_managers(
    session: AsyncSession, factory: Factory, paris_admin: Ctx, tree: Tree, partner: Any,
    network_admin: Ctx,
) -> None:
    mine = (await clients.create(paris_admin, site(tree["paris"]))).view
    theirs = (await clients.create(network_admin, integration(partner.id))).view
    lyon_admin = as_person(session, await factory.member(tree["lyon"], "admin"))
    with pytest.raises(NotFound):
        await clients.get(lyon_admin, mine.id)
    with pytest.raises(NotFound):
        await clients.get(paris_admin, theirs.id)
    with pytest.raises(NotFound):
        await clients.rotate_secret(lyon_admin, mine.id)
    with pytest.raises(Forbidden):
        await clients.list_clients(lyon_admin, chapter_id=tree["paris"].id)
    with pytest.raises(Forbidden):
        await clients.list_clients(paris_admin, partner_id=partner.id)
    assert [c.id for c in await clients.list_clients(paris_admin, chapter_id=tree["paris"].id)] == [
        mine.id
    ]
    assert [c.id for c in await clients.list_clients(network_admin, partner_id=partner.id)] == [
        theirs.id
    ]


async def test_update_replaces_redirect_uris_and_scopes(paris_admin: Ctx, tree: Tree) -> None:
    view = (await clients.create(paris_admin, site(tree["paris"]))).view
    new_uri = "https://paris.example.org/auth/done"
    updated = await clients.update(
        paris_admin,
        view.id,
        {"redirect_uris": [new_uri, new_uri], "scopes": ["offline_access", "events:write"]},
    )
    assert updated.redirect_uris == [new_uri]
    assert updated.scopes == ["events:write", "offline_access"]
    with pytest.raises(ValidationFailed) as exc:
        await clients.update(
            paris_admin, view.id, {"redirect_uris": ["http://evil.example/cb"], "name": "x"}
        )
    assert fields(exc) == {"redirect_uris.0"}
    with pytest.raises(ValidationFailed):
        await clients.update(paris_admin, view.id, {"scopes": None})
    again = await clients.get(paris_admin, view.id)
    assert again.redirect_uris == [new_uri] and again.name == "Paris site"


async def test_rotating_the_secret_keeps_the_old_one_only_as_the_previous_secret(
    session: AsyncSession, paris_admin: Ctx, tree: Tree
) -> None:
    created = await clients.create(paris_admin, site(tree["paris"]))
    rotated = await clients.rotate_secret(paris_admin, created.view.id)
    assert rotated.client_secret is not None and rotated.client_secret != created.client_secret
    assert rotated.view.secret_rotated_at is not None
    assert rotated.view.previous_secret_expires_at is not None
    row = await row_of(session, created.view.id)
    assert secret_matches(row.secret_hash, rotated.client_secret)
    assert created.client_secret is not None
    assert not secret_matches(row.secret_hash, created.client_secret)
    assert secret_matches(row.previous_secret_hash, created.client_secret)
    public = await clients.create(
        paris_admin, site(tree["paris"], client_type="public")
    )
    with pytest.raises(ValidationFailed):
        await clients.rotate_secret(paris_admin, public.view.id)


async def test_revoking_a_client_revokes_its_tokens(
    session: AsyncSession, factory: Factory, paris_admin: Ctx, tree: Tree
) -> None:
    view = (await clients.create(paris_admin, site(tree["paris"]))).view
    person_id = await factory.person()
    issued = await tokens.issue(
        session,
        kind=TokenKind.ACCESS,
        scopes={"profile"},
        ttl=timedelta(minutes=5),
        person_id=person_id,
        client_id=view.client_id,
    )
    revoked = await clients.revoke(paris_admin, view.id)
    assert revoked.revoked_at is not None
    row = (
        await session.exec(
            select(AccessToken)
            .where(AccessToken.id == issued.id)
            .execution_options(populate_existing=True)
        )
    ).one()
    assert row.revoked_at is not None
    assert await clients.revoke(paris_admin, view.id) == revoked  # idempotent
    assert await clients.list_clients(paris_admin, chapter_id=tree["paris"].id) == []
    listed = await clients.list_clients(
        paris_admin, chapter_id=tree["paris"].id, include_revoked=True
    )
    assert [c.id for c in listed] == [view.id]
    with pytest.raises(ValidationFailed):
        await clients.update(paris_admin, view.id, {"name": "again"})
