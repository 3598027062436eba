"""Chapter rules: the tree, validation, visibility and who may change what."""

import uuid

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.policy import CHAPTER_MEMBER_READ
from makesense_api.authz.principal import Principal
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter, ChapterClosure
from makesense_api.chapters.schemas import ChapterView
from makesense_api.chapters.service import ChapterFilter
from makesense_api.context import Ctx
from makesense_api.kit.errors import (
    Conflict,
    Forbidden,
    MissingScope,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.kit.pagination import Window, encode_cursor
from makesense_api.people import service as people
from tests.conftest import as_person
from tests.factories import Factory


@pytest.fixture
async def tree(factory: Factory) -> dict[str, ChapterView]:
    root = await factory.root(slug="net")
    europe = await factory.chapter(root, slug="europe", kind="region", name="Europe")
    france = await factory.chapter(europe, slug="france", kind="country", country_code="FR")
    paris = await factory.chapter(
        france, slug="paris", city="Paris", country_code="FR", latitude=48.8566, longitude=2.3522
    )
    lyon = await factory.chapter(
        france, slug="lyon", city="Lyon", country_code="FR", latitude=45.764, longitude=4.8357
    )
    africa = await factory.chapter(root, slug="africa", kind="region", name="Africa")
    lagos = await factory.chapter(
        africa,
        slug="lagos",
        country_code="NG",
        timezone="Africa/Lagos",
        latitude=6.5244,
        longitude=3.3792,
    )
    return {
        "root": root,
        "europe": europe,
        "france": france,
        "paris": paris,
        "lyon": lyon,
        "africa": africa,
        "lagos": lagos,
    }


def new_city(parent: ChapterView, **kw: object) -> dict[str, object]:
    return {
        "slug": f"city-{uuid.uuid4().hex[:8]}",
        "name": "City",
        "default_language": "fr",
        "kind": "city",
        "parent_id": parent.id,
        "timezone": "Europe/Paris",
        **kw,
    }


async def test_subtree_and_ancestors_are_single_lookups(
    system: Ctx, tree: dict[str, ChapterView]
) -> None:
    page = await chapters.list_chapters(system, ChapterFilter(subtree=tree["france"].id), limit=100)
    assert {c.slug for c in page.items} == {"france", "paris", "lyon"}
    chain = await chapters.ancestors(system, tree["paris"].id)
    assert [c.slug for c in chain] == ["net", "europe", "france"]
    assert tree["paris"].depth == 3


async def test_move_rewrites_closure_and_depths(
    system: Ctx, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    quarter = await factory.chapter(tree["lyon"], slug="croix-rousse", kind="neighbourhood")
    moved = await chapters.move(system, tree["lyon"].id, tree["africa"].id)
    assert moved.parent_id == tree["africa"].id and moved.depth == 2
    chain = await chapters.ancestors(system, quarter.id)
    assert [c.slug for c in chain] == ["net", "africa", "lyon"]
    assert (await chapters.get(system, quarter.id)).depth == 3
    france = await chapters.list_chapters(system, ChapterFilter(subtree=tree["france"].id))
    assert {c.slug for c in france.items} == {"france", "paris"}


async def test_move_under_own_descendant_is_refused_and_writes_nothing(
    system: Ctx, session: AsyncSession, tree: dict[str, ChapterView]
) -> None:
    before = (await session.exec(select(func.count()).select_from(ChapterClosure))).one()
    with pytest.raises(ValidationFailed) as err:
        await chapters.move(system, tree["europe"].id, tree["paris"].id)
    assert err.value.errors[0].field == "parent_id"
    with pytest.raises(ValidationFailed):
        await chapters.move(system, tree["europe"].id, tree["europe"].id)
    assert (await session.exec(select(func.count()).select_from(ChapterClosure))).one() == before
    assert (await chapters.get(system, tree["europe"].id)).parent_id == tree["root"].id


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"country_code": "XX"}, "country_code"),
        ({"country_code": "fr"}, "country_code"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"default_language": "not a tag"}, "default_language"),
        ({"languages": ["fr", "zz-9999-bad"]}, "languages.1"),
        ({"slug": "Bad Slug"}, "slug"),
        ({"latitude": 91.0, "longitude": 0.0}, "latitude"),
        ({"translations": {"??": {"name": "x"}}}, "translations.??"),
    ],
)
async def test_invalid_fields_are_named_and_nothing_is_written(
    system: Ctx,
    session: AsyncSession,
    tree: dict[str, ChapterView],
    override: dict[str, object],
    field: str,
) -> None:
    before = (await session.exec(select(func.count()).select_from(Chapter))).one()
    with pytest.raises(ValidationFailed) as err:
        await chapters.create(system, new_city(tree["france"], **override))
    assert field in [e.field for e in err.value.errors]
    assert (await session.exec(select(func.count()).select_from(Chapter))).one() == before


async def test_unknown_parent_and_duplicate_slug(system: Ctx, tree: dict[str, ChapterView]) -> None:
    with pytest.raises(ValidationFailed) as err:
        await chapters.create(system, {**new_city(tree["france"]), "parent_id": uuid.uuid4()})
    assert err.value.errors[0].field == "parent_id"
    with pytest.raises(ValidationFailed) as err:
        await chapters.create(system, new_city(tree["france"], slug="paris"))
    assert err.value.errors[0].field == "slug"


async def test_admin_role_inherits_down_the_tree_and_stops_outside(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    admin = await factory.member(tree["france"], "admin")
    ctx = as_person(session, admin)
    created = await chapters.create(ctx, new_city(tree["paris"], kind="neighbourhood"))
    assert created.depth == 4
    await chapters.update(ctx, tree["lyon"].id, {"city": "Lyon 1er"})
    with pytest.raises(Forbidden):
        await chapters.create(ctx, new_city(tree["lagos"]))
    with pytest.raises(Forbidden):
        await chapters.update(ctx, tree["lagos"].id, {"city": "Ikeja"})
    # Moving needs admin rights at both ends.
    with pytest.raises(Forbidden):
        await chapters.move(ctx, tree["lyon"].id, tree["africa"].id)


async def test_organizer_and_scopes_are_not_enough_to_manage(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    organizer = await factory.member(tree["france"], "organizer")
    with pytest.raises(Forbidden):
        await chapters.update(as_person(session, organizer), tree["paris"].id, {"city": "x"})
    admin = await factory.member(tree["france"], "admin")
    no_scope = as_person(session, admin, scopes={"chapters:read"})
    with pytest.raises(MissingScope):
        await chapters.update(no_scope, tree["paris"].id, {"city": "x"})
    anon = Ctx.of(session, Principal.anonymous())
    with pytest.raises(Unauthenticated):
        await chapters.update(anon, tree["paris"].id, {"city": "x"})


async def test_reach_restricts_a_token_to_its_subtree(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    admin = await factory.member(tree["root"], "admin")
    paris_only = as_person(session, admin, reach=frozenset({tree["paris"].id}))
    await chapters.update(paris_only, tree["paris"].id, {"city": "Paris 11e"})
    with pytest.raises(NotFound):
        await chapters.update(paris_only, tree["lyon"].id, {"city": "x"})
    with pytest.raises(NotFound):
        await chapters.get(paris_only, tree["lyon"].id)
    listed = await chapters.list_chapters(paris_only, ChapterFilter(), limit=100)
    assert {c.slug for c in listed.items} == {"paris"}


async def test_closed_chapters_and_private_contacts(
    session: AsyncSession, system: Ctx, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    await chapters.update(
        system,
        tree["lyon"].id,
        {
            "status": "closed",
        },
    )
    await chapters.update(
        system,
        tree["paris"].id,
        {
            "contacts": [
                {"kind": "email", "value": "paris@example.org"},
                {"kind": "whatsapp", "value": "https://chat.whatsapp.com/x", "private": True},
            ]
        },
    )
    anon = Ctx.of(session, Principal.anonymous())
    with pytest.raises(NotFound):
        await chapters.get(anon, tree["lyon"].id)
    public = await chapters.get_by_slug(anon, "paris")
    assert [c.kind for c in public.contacts] == ["email"]
    member = as_person(session, await factory.member(tree["paris"]))
    assert len((await chapters.get_by_slug(member, "paris")).contacts) == 2
    outsider = as_person(session, await factory.member(tree["lagos"]))
    assert len((await chapters.get_by_slug(outsider, "paris")).contacts) == 1


async def test_translations_follow_accept_language(
    session: AsyncSession, system: Ctx, tree: dict[str, ChapterView]
) -> None:
    await chapters.update(
        system,
        tree["paris"].id,
        {
            "name": "Paris",
            "description": "Le chapitre parisien",
            "translations": {"en": {"description": "The Paris chapter"}, "es": {"name": "París"}},
        },
    )
    english = Ctx.of(session, Principal.anonymous(), ("en-GB", "fr"))
    view = await chapters.get(english, tree["paris"].id)
    assert (view.language, view.name, view.description) == ("en", "Paris", "The Paris chapter")
    spanish = Ctx.of(session, Principal.anonymous(), ("es",))
    view = await chapters.get(spanish, tree["paris"].id)
    assert (view.name, view.description) == ("París", "Le chapitre parisien")
    other = Ctx.of(session, Principal.anonymous(), ("ja",))
    assert (await chapters.get(other, tree["paris"].id)).language == "fr"


async def test_filters_country_text_near_and_keyset_pages(
    system: Ctx, tree: dict[str, ChapterView]
) -> None:
    fr = await chapters.list_chapters(system, ChapterFilter(country_code="fr"), limit=100)
    assert {c.slug for c in fr.items} == {"france", "paris", "lyon"}
    near = await chapters.list_chapters(system, ChapterFilter(near=(48.85, 2.35, 50)))
    assert [c.slug for c in near.items] == ["paris"]
    wide = await chapters.list_chapters(system, ChapterFilter(near=(48.85, 2.35, 450)))
    assert {c.slug for c in wide.items} == {"paris", "lyon"}
    text = await chapters.list_chapters(system, ChapterFilter(text="LAG"))
    assert [c.slug for c in text.items] == ["lagos"]
    seen: list[str] = []
    cursor = None
    while True:
        page = await chapters.list_chapters(
            system, ChapterFilter(subtree=tree["root"].id), after=cursor, limit=2
        )
        seen += [c.slug for c in page.items]
        cursor = page.end_cursor
        if not page.has_next:
            break
    assert seen == sorted(seen) and len(seen) == 7
    with pytest.raises(ValidationFailed):
        await chapters.list_chapters(system, ChapterFilter(), after="garbage!", limit=2)
    with pytest.raises(ValidationFailed):
        await chapters.list_chapters(system, ChapterFilter(), limit=101)


async def test_relay_windows_page_backwards_and_forwards(
    system: Ctx, tree: dict[str, ChapterView]
) -> None:
    flt = ChapterFilter(subtree=tree["root"].id)
    everything = [c.slug for c in (await chapters.list_chapters(system, flt, limit=100)).items]
    last3 = await chapters.list_chapters(system, flt, after=Window(last=3))
    assert [c.slug for c in last3.items] == everything[-3:]
    assert last3.has_previous and not last3.has_next
    assert len(last3.cursors) == 3
    before = await chapters.list_chapters(system, flt, after=Window(last=2, before=last3.start_cursor))
    assert [c.slug for c in before.items] == everything[-5:-3]
    assert before.has_next
    first2 = await chapters.list_chapters(system, flt, after=Window(first=2, after=before.end_cursor))
    assert [c.slug for c in first2.items] == everything[-3:-1]
    with pytest.raises(ValidationFailed):
        await chapters.list_chapters(system, flt, after=Window(first=1, last=1))
    with pytest.raises(ValidationFailed):
        await chapters.list_chapters(system, flt, after=Window(last=0))


async def test_children_of_many_parents_in_one_query(
    system: Ctx, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    for n in range(3):
        await factory.chapter(tree["paris"], slug=f"paris-{n}", kind="neighbourhood")
    pages = await chapters.children_of(
        system, [tree["root"].id, tree["france"].id, tree["paris"].id, tree["lagos"].id],
        Window(first=2),
    )
    assert [c.slug for c in pages[tree["root"].id].items] == ["africa", "europe"]
    assert [c.slug for c in pages[tree["france"].id].items] == ["lyon", "paris"]
    paris = pages[tree["paris"].id]
    assert [c.slug for c in paris.items] == ["paris-0", "paris-1"]
    assert paris.has_next
    assert pages[tree["lagos"].id].items == []
    more = await chapters.children_of(system, [tree["paris"].id], Window(first=2, after=paris.end_cursor))
    assert [c.slug for c in more[tree["paris"].id].items] == ["paris-2"]


@pytest.mark.parametrize(
    "values",
    [[{"u": 1}], [{"a": 1}], [[1]], [1], [True], [None], [{"t": "2026-01-01T00:00:00"}], ["a", "b"]],
)
async def test_tampered_cursors_are_field_errors(
    system: Ctx, tree: dict[str, ChapterView], values: list[object]
) -> None:
    cursor = encode_cursor(values)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as err:
        await chapters.list_chapters(system, ChapterFilter(), after=cursor)
    assert err.value.errors[0].field == "after"
    with pytest.raises(ValidationFailed):
        await chapters.list_chapters(system, ChapterFilter(), after=Window(last=2, before=cursor))


async def test_moving_away_needs_the_current_parents_admins(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    both = await factory.member(tree["lagos"], "admin")
    await people.set_role(factory.ctx, tree["europe"].id, both, "admin")
    ctx = as_person(session, both)
    with pytest.raises(Forbidden):
        await chapters.move(ctx, tree["lagos"].id, tree["europe"].id)
    await people.set_role(factory.ctx, tree["africa"].id, both, "admin")
    moved = await chapters.move(as_person(session, both), tree["lagos"].id, tree["europe"].id)
    assert moved.parent_id == tree["europe"].id


async def test_move_refreshes_depths_of_loaded_descendants(
    system: Ctx, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    quarter = await factory.chapter(tree["paris"], slug="batignolles", kind="neighbourhood")
    assert (await chapters.get(system, quarter.id)).depth == 4
    await chapters.move(system, tree["paris"].id, tree["europe"].id)
    assert (await chapters.get(system, quarter.id)).depth == 3


async def test_root_is_created_once_and_only_by_the_service(
    session: AsyncSession, system: Ctx, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    admin = await factory.member(tree["root"], "admin")
    data = {"slug": "other", "name": "Other", "default_language": "en", "kind": "network",
            "timezone": "UTC"}
    with pytest.raises(Forbidden):
        await chapters.create_root(as_person(session, admin), data)
    with pytest.raises(Conflict):
        await chapters.create_root(system, data)


async def test_plain_membership_does_not_carry_down_the_tree(
    session: AsyncSession, system: Ctx, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    await chapters.update(system, tree["lagos"].id, {"contacts": [
        {"kind": "whatsapp", "value": "https://chat.example.org/lagos", "private": True}]})
    root_member = as_person(session, await factory.member(tree["root"]))
    assert (await chapters.get(root_member, tree["lagos"].id)).contacts == []
    root_organizer = as_person(session, await factory.member(tree["root"], "organizer"))
    assert len((await chapters.get(root_organizer, tree["lagos"].id)).contacts) == 1
    lagos_member = as_person(session, await factory.member(tree["lagos"]))
    assert len((await chapters.get(lagos_member, tree["lagos"].id)).contacts) == 1


async def test_closed_chapter_stays_visible_to_its_admins(
    session: AsyncSession, system: Ctx, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    admin = as_person(session, await factory.member(tree["lyon"], "admin"))
    await chapters.update(system, tree["lyon"].id, {"status": "closed"})
    assert (await chapters.get(admin, tree["lyon"].id)).status == "closed"
    member = as_person(session, await factory.member(tree["paris"]))
    with pytest.raises(NotFound):
        await chapters.get(member, tree["lyon"].id)


async def test_update_validates_fields_and_refuses_nulls(
    system: Ctx, session: AsyncSession, tree: dict[str, ChapterView]
) -> None:
    for change, field in (({"timezone": "Nowhere/City"}, "timezone"), ({"name": None}, "name"),
                          ({"kind": None}, "kind"), ({"country_code": "ZZ"}, "country_code")):
        with pytest.raises(ValidationFailed) as err:
            await chapters.update(system, tree["paris"].id, change)
        assert err.value.errors[0].field == field
    assert (await chapters.get(system, tree["paris"].id)).timezone == "Europe/Paris"


async def test_authorizer_sees_role_changes_within_a_request(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    ctx = as_person(session, await factory.person())
    assert not await ctx.authz.can(CHAPTER_MEMBER_READ, tree["lyon"].id)
    await people.join(ctx, tree["lyon"].id)
    # The same authorizer (one request) must not answer from its stale cache.
    assert await ctx.authz.can(CHAPTER_MEMBER_READ, tree["lyon"].id)
