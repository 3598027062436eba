"""Partner organisations and grants, and what grants let a partner's tokens do."""

import uuid
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.policy import (
    CHAPTER_MANAGE,
    EVENTS_MANAGE,
    EVENTS_REVIEW,
    IMPACT_MANAGE,
    MEMBERS_READ,
)
from makesense_api.authz.principal import ALL_SCOPES, Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.kit.errors import (
    Forbidden,
    MissingScope,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.kit.models import Tombstone
from makesense_api.partners import service as partners
from makesense_api.partners.models import PartnerGrant
from makesense_api.partners.schemas import PartnerView
from makesense_api.people import service as people
from tests.conftest import as_person
from tests.factories import Factory

Tree = dict[str, ChapterView]


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


@pytest.fixture
async def partner(factory: Factory, tree: Tree) -> PartnerView:
    view: PartnerView = await factory.partner(slug="crm-coop", name="CRM Coop")
    return view


def as_partner(session: AsyncSession, partner_id: uuid.UUID, *scopes: str,
               reach: set[uuid.UUID] | None = None) -> Ctx:
    principal = Principal.partner(partner_id, set(scopes),
                                  reach=frozenset(reach) if reach is not None else None)
    return Ctx.of(session, principal)


async def grant_rows(session: AsyncSession, *where: Any) -> int:
    stmt = select(func.count()).select_from(PartnerGrant).where(*where)
    return (await session.exec(stmt)).one()


# -- partner organisations ----------------------------------------------------------------


async def test_network_admins_manage_partner_organisations(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    network_admin = as_person(session, await factory.member(tree["root"], "admin"))
    created = await partners.create(network_admin, {
        "slug": "whatsbot", "name": "WhatsBot", "website": "https://whatsbot.example.org",
    })
    assert (created.slug, created.active) == ("whatsbot", True)
    assert created.website is not None
    assert created.website.startswith("https://whatsbot.example.org")
    updated = await partners.update(network_admin, created.id, {"name": "WhatsBot Ltd",
                                                                "website": None})
    assert (updated.name, updated.website) == ("WhatsBot Ltd", None)
    page = await partners.list_partners(network_admin)
    assert [p.slug for p in page.items] == ["whatsbot"]
    deactivated = await partners.update(network_admin, created.id, {"active": False})
    assert not deactivated.active
    assert (await partners.list_partners(network_admin, active=True)).items == []


async def test_only_network_admins_manage_partners(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    root_admin = await factory.member(tree["root"], "admin")
    denied: list[tuple[Ctx, type[Exception]]] = [
        (as_person(session, await factory.member(tree["france"], "admin")), Forbidden),
        (as_person(session, await factory.member(tree["root"], "organizer")), Forbidden),
        (as_person(session, root_admin, reach=frozenset({tree["france"].id})), Forbidden),
        (as_person(session, root_admin, scopes={"chapters:read"}), MissingScope),
        (Ctx.of(session, Principal.anonymous()), Unauthenticated),
        (as_partner(session, partner.id, *ALL_SCOPES), Forbidden),
    ]
    for ctx, error in denied:
        with pytest.raises(error):
            await partners.create(ctx, {"slug": "sneaky", "name": "Sneaky"})
        with pytest.raises(error):
            await partners.update(ctx, partner.id, {"name": "Renamed"})
        with pytest.raises(error):
            await partners.list_partners(ctx)
        with pytest.raises(error):
            await partners.grants_of_partner(ctx, partner.id)


async def test_partner_reads_are_not_found_for_outsiders(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    other = await factory.partner()
    assert (await partners.get(as_partner(session, partner.id), partner.id)).slug == "crm-coop"
    network_admin = as_person(session, await factory.member(tree["root"], "admin"))
    assert (await partners.get(network_admin, other.id)).id == other.id
    for ctx in (as_partner(session, other.id, *ALL_SCOPES),
                as_person(session, await factory.member(tree["paris"], "admin"))):
        with pytest.raises(NotFound):
            await partners.get(ctx, partner.id)
    with pytest.raises(NotFound):
        await partners.get(network_admin, uuid.uuid4())


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"slug": "Bad Slug"}, "slug"),
        ({"slug": "crm-coop"}, "slug"),
        ({"name": ""}, "name"),
        ({"website": "not a url"}, "website"),
        ({"website": "https://example.org/" + "x" * 500}, "website"),
        ({"owner": "me"}, "owner"),
    ],
)
async def test_partner_input_errors_name_the_field(
    system: Ctx, partner: PartnerView, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        await partners.create(system, {"slug": "new-one", "name": "New", **data})
    assert field in [e.field for e in err.value.errors]
    assert [p.slug for p in (await partners.list_partners(system)).items] == ["crm-coop"]


async def test_partner_update_refuses_null_for_required_fields(
    system: Ctx, partner: PartnerView
) -> None:
    with pytest.raises(ValidationFailed) as err:
        await partners.update(system, partner.id, {"name": None, "active": None})
    assert {e.field for e in err.value.errors} == {"name", "active"}


# -- grants -------------------------------------------------------------------------------


async def test_chapter_admins_grant_and_regrant_merges(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    admin = as_person(session, await factory.member(tree["paris"], "admin"))
    first = await partners.grant(admin, {"partner_id": partner.id, "chapter_id": tree["paris"].id,
                                         "scopes": ["events:write"]})
    assert (first.partner.slug, first.chapter_slug, first.scopes) == (
        "crm-coop", "paris", ["events:write"]
    )
    merged = await partners.grant(admin, {
        "partner_id": partner.id, "chapter_id": tree["paris"].id,
        "scopes": ["people:read", "events:write", "people:read"],
    })
    assert merged.scopes == ["events:write", "people:read"]
    again = await partners.grant(admin, {"partner_id": partner.id,
                                         "chapter_id": tree["paris"].id,
                                         "scopes": ["events:write"]})
    assert again.scopes == ["events:write", "people:read"]
    assert await grant_rows(session, PartnerGrant.partner_id == partner.id) == 2
    # Ancestors' admins may grant too: admin rights inherit down the tree.
    network_admin = as_person(session, await factory.member(tree["root"], "admin"))
    await partners.grant(network_admin, {"partner_id": partner.id,
                                         "chapter_id": tree["lyon"].id, "scopes": ["events:read"]})


@pytest.mark.parametrize(
    ("scopes", "fields"),
    [
        (["chapters:write"], ["scopes.0"]),
        (["events:read", "profile"], ["scopes.1"]),
        (["offline_access", "events:delete", "people:read"], ["scopes.0", "scopes.1"]),
        ([""], ["scopes.0"]),
        ([], ["scopes"]),
    ],
)
async def test_ungrantable_scopes_are_refused_and_nothing_is_written(
    session: AsyncSession, system: Ctx, tree: Tree, partner: PartnerView,
    scopes: list[str], fields: list[str],
) -> None:
    with pytest.raises(ValidationFailed) as err:
        await partners.grant(system, {"partner_id": partner.id,
                                      "chapter_id": tree["paris"].id, "scopes": scopes})
    assert [e.field for e in err.value.errors] == fields
    assert await grant_rows(session) == 0


async def test_chapters_write_is_refused_by_name(system: Ctx, tree: Tree,
                                                 partner: PartnerView) -> None:
    with pytest.raises(ValidationFailed) as err:
        await partners.grant(system, {"partner_id": partner.id, "chapter_id": tree["paris"].id,
                                      "scopes": ["events:write", "chapters:write"]})
    assert "administer" in err.value.errors[0].message


async def test_who_may_grant(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    data = {"partner_id": partner.id, "chapter_id": tree["paris"].id, "scopes": ["events:read"]}
    for chapter, role in (("paris", "organizer"), ("lyon", "admin"), ("batignolles", "admin")):
        ctx = as_person(session, await factory.member(tree[chapter], role))
        with pytest.raises(Forbidden):
            await partners.grant(ctx, data)
    with pytest.raises(Forbidden):
        await partners.grant(as_partner(session, partner.id, *ALL_SCOPES), data)
    admin = as_person(session, await factory.member(tree["paris"], "admin"))
    with pytest.raises(ValidationFailed) as err:
        await partners.grant(admin, {**data, "partner_id": uuid.uuid4()})
    assert err.value.errors[0].field == "partner_id"
    with pytest.raises(NotFound):
        await partners.grant(admin, {**data, "chapter_id": uuid.uuid4()})
    assert await grant_rows(session) == 0


async def test_inactive_partners_get_no_new_grants(
    session: AsyncSession, system: Ctx, tree: Tree, partner: PartnerView
) -> None:
    await partners.update(system, partner.id, {"active": False})
    with pytest.raises(ValidationFailed) as err:
        await partners.grant(system, {"partner_id": partner.id, "chapter_id": tree["paris"].id,
                                      "scopes": ["events:read"]})
    assert err.value.errors[0].field == "partner_id"


# -- what a grant allows ------------------------------------------------------------------


async def test_a_grant_reaches_the_subtree_and_nothing_else(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    await factory.grant(partner.id, tree["paris"], "events:write")
    ctx = as_partner(session, partner.id, "events:write")
    assert await ctx.authz.can(EVENTS_MANAGE, tree["paris"].id)
    assert await ctx.authz.can(EVENTS_MANAGE, tree["batignolles"].id)
    assert await ctx.authz.can(EVENTS_REVIEW, tree["paris"].id)
    for other in ("lyon", "france", "root", "lagos"):
        assert not await ctx.authz.can(EVENTS_MANAGE, tree[other].id)
    with pytest.raises(Forbidden):
        await ctx.authz.require(EVENTS_MANAGE, tree["lyon"].id)


async def test_token_reach_limits_a_partner_with_wider_grants(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    await factory.grant(partner.id, tree["paris"], "events:write")
    await factory.grant(partner.id, tree["lyon"], "events:write")
    unrestricted = as_partner(session, partner.id, "events:write")
    assert await unrestricted.authz.can(EVENTS_MANAGE, tree["lyon"].id)
    paris_only = as_partner(session, partner.id, "events:write", reach={tree["paris"].id})
    assert await paris_only.authz.can(EVENTS_MANAGE, tree["paris"].id)
    assert await paris_only.authz.can(EVENTS_MANAGE, tree["batignolles"].id)
    assert not await paris_only.authz.can(EVENTS_MANAGE, tree["lyon"].id)


async def test_grants_never_administer_chapters(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    every = sorted(partners.GRANTABLE_SCOPES)
    await factory.grant(partner.id, tree["root"], *every)
    # Even a row written behind the service's back does not confer admin rights.
    session.add(PartnerGrant(partner_id=partner.id, chapter_id=tree["root"].id,
                             scope="chapters:write"))
    await session.flush()
    ctx = as_partner(session, partner.id, *ALL_SCOPES)
    assert await ctx.authz.can(EVENTS_MANAGE, tree["paris"].id)
    for chapter in ("root", "paris"):
        assert not await ctx.authz.can(CHAPTER_MANAGE, tree[chapter].id)
        assert not await ctx.authz.can(IMPACT_MANAGE, tree[chapter].id)
    with pytest.raises(Forbidden):
        await partners.grant(ctx, {"partner_id": partner.id, "chapter_id": tree["paris"].id,
                                   "scopes": ["events:read"]})


async def test_a_token_without_the_scope_cannot_use_the_grant(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    await factory.grant(partner.id, tree["paris"], "events:write")
    read_only_token = as_partner(session, partner.id, "events:read")
    assert await read_only_token.authz.can(EVENTS_REVIEW, tree["paris"].id)
    assert not await read_only_token.authz.can(EVENTS_MANAGE, tree["paris"].id)
    with pytest.raises(MissingScope):
        await read_only_token.authz.require(EVENTS_MANAGE, tree["paris"].id)
    other_token = as_partner(session, partner.id, "people:read", "projects:write")
    assert not await other_token.authz.can(EVENTS_REVIEW, tree["paris"].id)
    # And a grant narrower than the token: read granted, write asked.
    await factory.grant(partner.id, tree["lyon"], "events:read")
    writer = as_partner(session, partner.id, "events:write")
    assert await writer.authz.can(EVENTS_REVIEW, tree["lyon"].id)
    assert not await writer.authz.can(EVENTS_MANAGE, tree["lyon"].id)


async def test_people_read_grant_shows_members_of_the_subtree_only(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    ines = await factory.member(tree["batignolles"], email="ines@example.org")
    ade = await factory.member(tree["lagos"], email="ade@example.org")
    await factory.grant(partner.id, tree["paris"], "people:read")
    ctx = as_partner(session, partner.id, "people:read")
    assert await ctx.authz.can(MEMBERS_READ, tree["paris"].id)
    assert (await people.get(ctx, ines)).email == "ines@example.org"
    with pytest.raises(NotFound):
        await people.get(ctx, ade)


async def test_revoke_removes_access_and_leaves_tombstones(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    view = await factory.grant(partner.id, tree["paris"], "events:write", "people:read")
    assert view.scopes == ["events:write", "people:read"]
    ids = set((await session.exec(select(PartnerGrant.id).where(
        PartnerGrant.partner_id == partner.id
    ))).all())
    admin = as_person(session, await factory.member(tree["paris"], "admin"))
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    with pytest.raises(Forbidden):
        await partners.revoke(organizer, partner.id, tree["paris"].id)
    assert await as_partner(session, partner.id, "events:write").authz.can(
        EVENTS_MANAGE, tree["paris"].id
    )

    await partners.revoke(admin, partner.id, tree["paris"].id)
    assert await grant_rows(session, PartnerGrant.partner_id == partner.id) == 0
    tombstones = (await session.exec(select(Tombstone).where(
        Tombstone.entity == "partner_grant"
    ))).all()
    assert {t.entity_id for t in tombstones} == ids
    assert {t.chapter_id for t in tombstones} == {tree["paris"].id}
    fresh = as_partner(session, partner.id, "events:write", "people:read")
    assert not await fresh.authz.can(EVENTS_MANAGE, tree["paris"].id)
    assert not await fresh.authz.can(MEMBERS_READ, tree["paris"].id)
    with pytest.raises(NotFound):
        await partners.revoke(admin, partner.id, tree["paris"].id)


async def test_revoke_some_scopes_and_only_on_that_chapter(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    await factory.grant(partner.id, tree["france"], "events:read")
    await factory.grant(partner.id, tree["paris"], "events:write", "people:read")
    admin = as_person(session, await factory.member(tree["paris"], "admin"))
    await partners.revoke(admin, partner.id, tree["paris"].id, scopes=["people:read"])
    remaining = await partners.grants_of_chapter(admin, tree["paris"].id)
    assert [g.scopes for g in remaining] == [["events:write"]]
    # The grant on France is not the Paris admin's to withdraw.
    with pytest.raises(Forbidden):
        await partners.revoke(admin, partner.id, tree["france"].id)
    with pytest.raises(NotFound):
        await partners.revoke(admin, partner.id, tree["paris"].id, scopes=["people:read"])
    assert await grant_rows(session, PartnerGrant.chapter_id == tree["france"].id) == 1


async def test_grant_lists_are_grouped_and_guarded(
    session: AsyncSession, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    other = await factory.partner(slug="zoom-sync")
    await factory.grant(partner.id, tree["paris"], "people:read", "events:write")
    await factory.grant(partner.id, tree["batignolles"], "events:read")
    await factory.grant(other.id, tree["paris"], "programs:read")
    await factory.grant(partner.id, tree["lagos"], "events:read")

    paris_admin = as_person(session, await factory.member(tree["paris"], "admin"))
    on_paris = await partners.grants_of_chapter(paris_admin, tree["paris"].id)
    assert [(g.partner.slug, g.chapter_slug, g.scopes) for g in on_paris] == [
        ("crm-coop", "paris", ["events:write", "people:read"]),
        ("zoom-sync", "paris", ["programs:read"]),
    ]
    subtree = await partners.grants_of_chapter(paris_admin, tree["paris"].id, subtree=True)
    assert [(g.partner.slug, g.chapter_slug) for g in subtree] == [
        ("crm-coop", "batignolles"), ("crm-coop", "paris"), ("zoom-sync", "paris"),
    ]
    with pytest.raises(Forbidden):
        await partners.grants_of_chapter(paris_admin, tree["lagos"].id)
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    with pytest.raises(Forbidden):
        await partners.grants_of_chapter(organizer, tree["paris"].id)
    with pytest.raises(Forbidden):
        await partners.grants_of_partner(paris_admin, partner.id)

    network_admin = as_person(session, await factory.member(tree["root"], "admin"))
    of_partner = await partners.grants_of_partner(network_admin, partner.id)
    assert [(g.chapter_slug, g.scopes) for g in of_partner] == [
        ("batignolles", ["events:read"]),
        ("lagos", ["events:read"]),
        ("paris", ["events:write", "people:read"]),
    ]
    assert all(g.granted_at <= g.updated_at for g in of_partner)
    with pytest.raises(NotFound):
        await partners.grants_of_partner(network_admin, uuid.uuid4())


async def test_an_inactive_partners_grants_stop_working(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree, partner: PartnerView
) -> None:
    await factory.grant(partner.id, tree["paris"], "events:write")
    assert await as_partner(session, partner.id, "events:write").authz.can(
        EVENTS_MANAGE, tree["paris"].id
    )
    await partners.update(system, partner.id, {"active": False})
    ctx = as_partner(session, partner.id, "events:write")
    assert not await ctx.authz.can(EVENTS_MANAGE, tree["paris"].id)
    assert await ctx.authz.chapters_allowing(EVENTS_MANAGE, {tree["paris"].id}) == set()
