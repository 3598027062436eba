"""People and memberships: personal data rules, roles along the tree, profile edits."""

import uuid
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import Conflict, Forbidden, MissingScope, NotFound, ValidationFailed
from makesense_api.kit.models import Tombstone
from makesense_api.people import accounts
from makesense_api.people import service as people
from makesense_api.people.models import Membership, Person, PersonCause, PersonSkill
from makesense_api.people.schemas import PersonCreate
from tests.conftest import as_person
from tests.factories import Factory

Tree = dict[str, ChapterView]
CONTACT = {"email": "Ines@Example.org", "phone": "+33 6 12 34 56 78"}


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


async def count(session: AsyncSession, model: type[SQLModel], *where: Any) -> int:
    stmt = select(func.count()).select_from(model).where(*where)
    return (await session.exec(stmt)).one()


# -- personal data ------------------------------------------------------------------------


async def test_person_sees_own_contact_details_only_with_profile_scope(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    ines = await factory.member(tree["paris"], **CONTACT)
    me = await people.get(as_person(session, ines), ines)
    assert (me.email, me.phone) == ("ines@example.org", "+33 6 12 34 56 78")
    without_profile = as_person(session, ines, scopes={"events:read"})
    with pytest.raises(NotFound):
        await people.get(without_profile, ines)


async def test_organizers_see_their_members_with_people_read(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    ines = await factory.member(tree["batignolles"], **CONTACT)
    for chapter in ("batignolles", "paris", "france"):
        organizer = await factory.member(tree[chapter], "organizer")
        seen = await people.get(as_person(session, organizer, scopes={"people:read"}), ines)
        assert seen.email == "ines@example.org"
    no_scope = as_person(session, organizer, scopes={"events:write", "profile"})
    with pytest.raises(NotFound):
        await people.get(no_scope, ines)


@pytest.mark.parametrize(
    ("chapter", "role"),
    [("lagos", "organizer"), ("lyon", "admin"), ("paris", "member"), (None, None)],
)
async def test_others_cannot_see_a_person_at_all(
    session: AsyncSession, factory: Factory, tree: Tree, chapter: str | None, role: str | None
) -> None:
    ines = await factory.member(tree["paris"], **CONTACT)
    if chapter is None:
        ctx = Ctx.of(session, Principal.anonymous())
    else:
        ctx = as_person(session, await factory.member(tree[chapter], role or "member"))
    with pytest.raises(NotFound):
        await people.get(ctx, ines)
    assert await people.get_many(ctx, [ines]) == {}


async def test_an_organizer_of_paris_cannot_see_a_lagos_member(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    paris_member = await factory.member(tree["paris"], **CONTACT)
    lagos_member = await factory.member(tree["lagos"], email="ade@example.org")
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    with pytest.raises(NotFound):
        await people.get(organizer, lagos_member)
    listed = await people.list_people(organizer, limit=100)
    ids = {p.id for p in listed.items}
    assert paris_member in ids
    assert lagos_member not in ids
    with pytest.raises(NotFound):
        await people.memberships_of(organizer, lagos_member)


async def test_reach_narrows_what_an_organizer_sees(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    ines = await factory.member(tree["paris"])
    organizer = await factory.member(tree["france"], "organizer")
    lyon_only = as_person(session, organizer, reach=frozenset({tree["lyon"].id}))
    with pytest.raises(NotFound):
        await people.get(lyon_only, ines)
    assert (await people.get(as_person(session, organizer), ines)).id == ines


# -- memberships --------------------------------------------------------------------------


async def test_only_admins_set_roles_and_admin_rights_inherit_down(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    ines = await factory.member(tree["paris"])
    france_admin = as_person(session, await factory.member(tree["france"], "admin"))
    view = await people.set_role(france_admin, tree["batignolles"].id, ines, "organizer")
    assert (view.role, view.chapter_id) == ("organizer", tree["batignolles"].id)
    view = await people.set_role(france_admin, tree["paris"].id, ines, "organizer")
    assert view.role == "organizer"
    for chapter, role in (("paris", "organizer"), ("paris", "member"), ("lagos", "admin")):
        other = as_person(session, await factory.member(tree[chapter], role))
        with pytest.raises(Forbidden):
            await people.set_role(other, tree["paris"].id, ines, "admin")
    with pytest.raises(Forbidden):
        await people.set_role(france_admin, tree["lagos"].id, ines, "member")
    with pytest.raises(ValidationFailed) as err:
        await people.set_role(france_admin, tree["paris"].id, ines, "owner")
    assert err.value.errors[0].field == "role"


async def test_admins_cannot_enrol_people_they_cannot_see(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    stranger = await factory.member(tree["lagos"], **CONTACT)
    admin = as_person(session, await factory.member(tree["paris"], "admin"))
    before = await count(session, Membership)
    for person_id in (stranger, uuid.uuid4()):
        with pytest.raises(ValidationFailed) as err:
            await people.set_role(admin, tree["paris"].id, person_id, "member")
        assert err.value.errors[0].field == "person_id"
    assert await count(session, Membership) == before
    with pytest.raises(NotFound):
        await people.get(admin, stranger)
    # Once the person joins on their own, the admin manages their role.
    await people.join(as_person(session, stranger), tree["paris"].id)
    assert (await people.set_role(admin, tree["paris"].id, stranger, "organizer")).role == (
        "organizer"
    )


async def test_organizer_lists_members_of_the_subtree_only(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    paris = {await factory.member(tree["paris"]) for _ in range(3)}
    await factory.member(tree["lagos"])
    organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    page = await people.list_members(organizer, tree["paris"].id, limit=100)
    assert {m.person_id for m in page.items} == paris
    assert {m.role for m in page.items} == {"member"}
    with pytest.raises(Forbidden):
        await people.list_members(organizer, tree["lagos"].id)
    member = as_person(session, next(iter(paris)))
    with pytest.raises(Forbidden):
        await people.list_members(member, tree["paris"].id)


async def test_join_is_idempotent(session: AsyncSession, factory: Factory, tree: Tree) -> None:
    person = await factory.person()
    me = as_person(session, person)
    first = await people.join(me, tree["lyon"].id)
    again = await people.join(me, tree["lyon"].id)
    assert first.id == again.id
    assert first.role == "member"
    assert await count(session, Membership, Membership.person_id == person) == 1


async def test_last_admin_stays_and_members_leave_on_their_own(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    first_admin = await factory.member(tree["lyon"], "admin")
    admin = as_person(session, first_admin)
    with pytest.raises(Conflict):
        await people.remove_member(admin, tree["lyon"].id, first_admin)
    with pytest.raises(Conflict):
        await people.set_role(admin, tree["lyon"].id, first_admin, "member")
    second_admin = await factory.member(tree["lyon"], "admin")
    await people.remove_member(admin, tree["lyon"].id, first_admin)
    with pytest.raises(Conflict):
        await people.remove_member(as_person(session, second_admin), tree["lyon"].id, second_admin)

    leaver, stayer = await factory.member(tree["lyon"]), await factory.member(tree["lyon"])
    with pytest.raises(Forbidden):
        await people.remove_member(as_person(session, leaver), tree["lyon"].id, stayer)
    membership_id = (await session.exec(select(Membership.id).where(
        Membership.person_id == leaver, Membership.chapter_id == tree["lyon"].id
    ))).one()
    await people.remove_member(as_person(session, leaver), tree["lyon"].id, leaver)
    assert await count(session, Membership, Membership.person_id == leaver) == 0
    assert await count(session, Tombstone, Tombstone.entity_id == membership_id) == 1
    with pytest.raises(NotFound):
        await people.remove_member(as_person(session, leaver), tree["lyon"].id, leaver)


# -- profiles -----------------------------------------------------------------------------


async def test_people_edit_only_their_own_profile(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    ines = await factory.member(tree["paris"])
    updated = await people.update(as_person(session, ines), ines, {
        "display_name": "Inès", "bio": "Designer", "languages": ["fr", "pt-br"],
        "skills": ["Web Design", "web   design", " PHOTOGRAPHY "], "causes": [13, 4, 13],
    })
    assert (updated.display_name, updated.bio) == ("Inès", "Designer")
    assert updated.languages == ["fr", "pt-BR"]
    assert updated.skills == ["photography", "web-design"]
    assert updated.causes == [4, 13]
    assert await count(session, PersonSkill, PersonSkill.person_id == ines) == 2

    organizer = await factory.member(tree["paris"], "organizer")
    with pytest.raises(Forbidden):
        await people.update(as_person(session, organizer), ines, {"bio": "hacked"})
    outsider = await factory.member(tree["lagos"], "admin")
    with pytest.raises(NotFound):
        await people.update(as_person(session, outsider), ines, {"bio": "hacked"})
    assert (await people.get(as_person(session, ines), ines)).bio == "Designer"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"causes": [3, 0]}, "causes.1"),
        ({"causes": [18]}, "causes.0"),
        ({"languages": ["fr", "not a language"]}, "languages.1"),
        ({"country_code": "XX"}, "country_code"),
        ({"country_code": "fr"}, "country_code"),
        ({"skills": ["   "]}, "skills.0"),
        ({"phone": "call me"}, "phone"),
        ({"email": "nope"}, "email"),
        ({"display_name": None}, "display_name"),
        ({"languages": None}, "languages"),
        ({"open_to_matching": None}, "open_to_matching"),
        ({"home_chapter_id": str(uuid.uuid4())}, "home_chapter_id"),
    ],
)
async def test_invalid_profile_fields_are_named_and_nothing_is_written(
    session: AsyncSession, factory: Factory, tree: Tree, data: dict[str, Any], field: str
) -> None:
    ines = await factory.member(tree["paris"], skills=["design"], causes=[5], languages=["fr"])
    me = as_person(session, ines)
    with pytest.raises(ValidationFailed) as err:
        await people.update(me, ines, {"bio": "changed", **data})
    assert field in [e.field for e in err.value.errors]
    view = await people.get(me, ines)
    assert (view.bio, view.skills, view.causes, view.languages) == (None, ["design"], [5], ["fr"])

    if field == "home_chapter_id":
        return  # registering someone sets their home chapter to the registering chapter
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    before = [await count(session, m) for m in (Person, PersonSkill, PersonCause, Membership)]
    with pytest.raises(ValidationFailed) as err:
        await people.create(organizer, tree["paris"].id, {"display_name": "New", **data})
    assert field in [e.field for e in err.value.errors]
    after = [await count(session, m) for m in (Person, PersonSkill, PersonCause, Membership)]
    assert after == before


async def test_home_chapter_must_be_a_chapter_the_caller_sees(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    from makesense_api.chapters import service as chapters

    await chapters.update(system, tree["lyon"].id, {"status": "closed"})
    ines = await factory.member(tree["paris"])
    me = as_person(session, ines)
    with pytest.raises(ValidationFailed) as err:
        await people.update(me, ines, {"home_chapter_id": str(tree["lyon"].id)})
    assert err.value.errors[0].field == "home_chapter_id"
    moved = await people.update(me, ines, {"home_chapter_id": str(tree["lagos"].id)})
    assert moved.home_chapter_id == tree["lagos"].id
    cleared = await people.update(me, ines, {"home_chapter_id": None})
    assert cleared.home_chapter_id is None


async def test_organizers_register_people_without_login(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    created = await people.create(organizer, tree["batignolles"].id, {
        "display_name": "Walk-in", "email": "Walk.In@Example.org", "skills": ["Cooking"],
    })
    assert (created.email, created.skills) == ("walk.in@example.org", ["cooking"])
    assert created.home_chapter_id == tree["batignolles"].id
    members = await people.list_members(organizer, tree["batignolles"].id)
    assert [m.person_id for m in members.items] == [created.id]
    lagos_organizer = as_person(session, await factory.member(tree["lagos"], "organizer"))
    with pytest.raises(Forbidden):
        await people.create(lagos_organizer, tree["paris"].id, {"display_name": "Nope"})


# -- transactions -------------------------------------------------------------------------


async def test_failed_use_case_leaves_nothing_and_the_transaction_goes_on(
    session: AsyncSession, system: Ctx
) -> None:
    before = await count(session, Person)

    async def half_done() -> None:
        async with use_case(session):
            await people.new_person(system, PersonCreate(display_name="Half-done",
                                                         skills=["x"], causes=[1]))
            raise Conflict("changed my mind")

    # A use-case that writes, then fails: its writes go, the caller's transaction stays usable.
    with pytest.raises(Conflict):
        await half_done()
    assert await count(session, Person) == before
    assert await count(session, PersonSkill, PersonSkill.skill == "x") == 0

    # A real one: sign-up inserts the person, then the account's unique e-mail refuses it.
    anon = Ctx.of(session, Principal.anonymous())
    await accounts.sign_up(anon, "taken@example.org", "a long enough password", "First")
    with pytest.raises(ValidationFailed):
        await accounts.sign_up(anon, "taken@example.org", "a long enough password", "Second")
    assert await count(session, Person, Person.display_name == "Second") == 0

    later = await people.new_person(system, PersonCreate(display_name="Later"))
    assert await count(session, Person) == before + 2
    assert (await people.get(system, later.id)).display_name == "Later"


async def test_memberships_and_member_lists_respect_reach_and_visibility(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    person = await factory.member(tree["paris"])
    await people.set_role(system, tree["lagos"].id, person, "member")
    organizer = await factory.member(tree["root"], "organizer")
    france_only = as_person(session, organizer, reach=frozenset({tree["france"].id}))
    chapters_seen = {m.chapter_id for m in await people.memberships_of(france_only, person)}
    assert chapters_seen == {tree["paris"].id}
    with pytest.raises(NotFound):
        await people.list_people(france_only, chapter_id=tree["lagos"].id)
    everywhere = as_person(session, organizer)
    assert len(await people.memberships_of(everywhere, person)) == 2


async def test_listing_people_needs_the_scope_and_joining_needs_a_visible_chapter(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    organizer = await factory.member(tree["paris"], "organizer")
    with pytest.raises(MissingScope):
        await people.list_people(as_person(session, organizer, scopes={"profile"}))
    from makesense_api.chapters import service as chapters

    await chapters.update(system, tree["lyon"].id, {"status": "closed"})
    joiner = as_person(session, await factory.person())
    with pytest.raises(NotFound):
        await people.join(joiner, tree["lyon"].id)
