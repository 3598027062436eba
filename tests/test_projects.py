"""Project rules: ownership, visibility, the status machines of projects, needs and contributions."""

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import (
    Conflict,
    Forbidden,
    MissingScope,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.kit.models import Tombstone
from makesense_api.kit.pagination import Window
from makesense_api.people.models import Person
from makesense_api.projects import contributions, needs
from makesense_api.projects import service as projects
from makesense_api.projects.models import Contribution, Need, Project, ProjectCause, ProjectOwner
from makesense_api.projects.schemas import OwnerView
from tests.conftest import as_person
from tests.factories import Factory

WRITE = {"projects:write"}
READ = {"projects:read"}


@pytest.fixture
async def tree(factory: Factory) -> dict[str, ChapterView]:
    root = await factory.root(slug="net")
    europe = await factory.chapter(root, slug="europe", kind="region", name="Europe")
    france = await factory.chapter(europe, slug="france", kind="country", country_code="FR")
    paris = await factory.chapter(france, slug="paris", city="Paris", country_code="FR")
    lyon = await factory.chapter(france, slug="lyon", city="Lyon", country_code="FR")
    africa = await factory.chapter(root, slug="africa", kind="region", name="Africa")
    lagos = await factory.chapter(africa, slug="lagos", country_code="NG", timezone="Africa/Lagos")
    return {"root": root, "france": france, "paris": paris, "lyon": lyon, "lagos": lagos}


@pytest.fixture
async def who(factory: Factory, tree: dict[str, ChapterView]) -> dict[str, uuid.UUID]:
    """An owner-to-be and a bystander in Paris, organizers of France, Paris and Lagos."""
    return {
        "owner": await factory.member(tree["paris"]),
        "other": await factory.member(tree["paris"]),
        "volunteer": await factory.member(tree["lagos"]),
        "france_org": await factory.member(tree["france"], "organizer"),
        "paris_org": await factory.member(tree["paris"], "organizer"),
        "lagos_org": await factory.member(tree["lagos"], "organizer"),
    }


def new_project(chapter: ChapterView, **kw: Any) -> dict[str, Any]:
    return {
        "slug": f"p-{uuid.uuid4().hex[:8]}",
        "title": "Toits verts",
        "default_language": "fr",
        "home_chapter_id": chapter.id,
        **kw,
    }


async def count(session: AsyncSession, model: type[SQLModel]) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


async def name_of(session: AsyncSession, person_id: uuid.UUID) -> str:
    person = await session.get(Person, person_id)
    assert person is not None
    return person.display_name


def anonymous(session: AsyncSession, *languages: str) -> Ctx:
    return Ctx.of(session, Principal.anonymous(), languages)


# -- create ---------------------------------------------------------------------------------


async def test_a_person_creates_a_draft_they_own(
    session: AsyncSession, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    ctx = as_person(session, who["owner"], scopes=WRITE)
    view = await projects.create(ctx, new_project(tree["paris"], causes=[13, 4, 13]))
    assert (view.status, view.stage, view.causes) == ("draft", "idea", [4, 13])
    assert view.owners == [OwnerView(who["owner"], await name_of(session, who["owner"]))]
    assert view.home_chapter_id == tree["paris"].id
    # Any visible chapter will do, not only one's own.
    elsewhere = await projects.create(ctx, new_project(tree["lagos"]))
    assert elsewhere.owners[0].person_id == who["owner"]


async def test_create_needs_the_write_scope_and_a_visible_chapter(
    session: AsyncSession, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    with pytest.raises(Unauthenticated):
        await projects.create(anonymous(session), new_project(tree["paris"]))
    with pytest.raises(MissingScope):
        await projects.create(
            as_person(session, who["owner"], scopes=READ), new_project(tree["paris"])
        )
    paris_only = as_person(session, who["owner"], scopes=WRITE, reach=frozenset({tree["paris"].id}))
    with pytest.raises(ValidationFailed) as err:
        await projects.create(paris_only, new_project(tree["lagos"]))
    assert err.value.errors[0].field == "home_chapter_id"
    with pytest.raises(ValidationFailed):
        await projects.create(paris_only, new_project(tree["paris"], home_chapter_id=uuid.uuid4()))
    assert (await projects.create(paris_only, new_project(tree["paris"]))).status == "draft"


async def test_organizers_create_for_someone_only_in_their_subtree(
    session: AsyncSession, system: Ctx, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    blind = as_person(session, who["france_org"], scopes=WRITE)
    with pytest.raises(ValidationFailed):  # cannot see the person without people:read
        await projects.create(blind, new_project(tree["paris"], owner_id=who["owner"]))
    organizer = as_person(session, who["france_org"], scopes=WRITE | {"people:read"})
    view = await projects.create(organizer, new_project(tree["paris"], owner_id=who["owner"]))
    assert [o.person_id for o in view.owners] == [who["owner"]]
    with pytest.raises(Forbidden):
        await projects.create(organizer, new_project(tree["lagos"], owner_id=who["owner"]))
    member = as_person(session, who["other"], scopes=WRITE)
    with pytest.raises(Forbidden):
        await projects.create(member, new_project(tree["paris"], owner_id=who["owner"]))
    with pytest.raises(ValidationFailed) as err:
        await projects.create(organizer, new_project(tree["paris"], owner_id=uuid.uuid4()))
    assert err.value.errors[0].field == "owner_id"
    with pytest.raises(ValidationFailed) as err:
        await projects.create(system, new_project(tree["paris"]))
    assert err.value.errors[0].field == "owner_id"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"slug": "Bad Slug"}, "slug"),
        ({"slug": "taken"}, "slug"),
        ({"title": ""}, "title"),
        ({"causes": [13, 18]}, "causes.1"),
        ({"causes": [0]}, "causes.0"),
        ({"stage": "seed"}, "stage"),
        ({"default_language": "not a tag"}, "default_language"),
        ({"translations": {"??": {"title": "x"}}}, "translations.??"),
        ({"translations": {"en": {"name": "x"}}}, "translations.en.name"),
        ({"status": "published"}, "status"),
    ],
)
async def test_invalid_fields_are_named_and_nothing_is_written(
    session: AsyncSession,
    factory: Factory,
    tree: dict[str, ChapterView],
    who: dict[str, uuid.UUID],
    override: dict[str, Any],
    field: str,
) -> None:
    await factory.project(tree["paris"], who["owner"], slug="taken", causes=[1])
    before = [await count(session, m) for m in (Project, ProjectCause, ProjectOwner)]
    ctx = as_person(session, who["owner"], scopes=WRITE)
    with pytest.raises(ValidationFailed) as err:
        await projects.create(ctx, new_project(tree["paris"], **{"causes": [3], **override}))
    assert field in [e.field for e in err.value.errors]
    assert [await count(session, m) for m in (Project, ProjectCause, ProjectOwner)] == before


# -- visibility -------------------------------------------------------------------------------


async def test_drafts_are_seen_by_owners_and_reviewers_only(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    draft = await factory.project(tree["paris"], who["owner"], publish=False)
    seen_by = [
        as_person(session, who["owner"], scopes=READ),
        as_person(session, who["france_org"], scopes=READ),
        as_person(session, who["paris_org"], scopes=READ),
    ]
    for ctx in seen_by:
        assert (await projects.get(ctx, draft.id)).status == "draft"
        assert [p.id for p in (await projects.list_projects(ctx)).items] == [draft.id]
    hidden_from = [
        anonymous(session),
        as_person(session, who["owner"], scopes={"profile"}),
        as_person(session, who["other"], scopes=READ),
        as_person(session, who["lagos_org"], scopes=READ),
        as_person(session, who["france_org"], scopes={"events:read"}),
    ]
    for ctx in hidden_from:
        with pytest.raises(NotFound):
            await projects.get(ctx, draft.id)
        assert (await projects.list_projects(ctx)).items == []


async def test_published_projects_are_public_within_the_token_reach(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    project = await factory.project(tree["paris"], who["owner"])
    assert (await projects.get_by_slug(anonymous(session), project.slug)).id == project.id
    lagos_only = as_person(session, who["owner"], reach=frozenset({tree["lagos"].id}))
    with pytest.raises(NotFound):
        await projects.get(lagos_only, project.id)
    assert (await projects.get_many(lagos_only, [project.id])) == {}
    assert (await projects.get_many(anonymous(session), [project.id])).keys() == {project.id}


async def test_translations_follow_accept_language(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    project = await factory.project(
        tree["paris"],
        who["owner"],
        title="Toits verts",
        description="Des jardins sur les toits",
        translations={"en": {"title": "Green roofs"}, "pt-br": {"description": "Jardins"}},
    )
    english = await projects.get(anonymous(session, "en-GB"), project.id)
    assert (english.language, english.title, english.description) == (
        "en",
        "Green roofs",
        "Des jardins sur les toits",
    )
    brazilian = await projects.get(anonymous(session, "pt-BR"), project.id)
    assert (brazilian.language, brazilian.title, brazilian.description) == (
        "pt-BR",
        "Toits verts",
        "Jardins",
    )
    assert (await projects.get(anonymous(session, "ja"), project.id)).language == "fr"


# -- edit, publish, archive, owners -----------------------------------------------------------


async def test_owners_and_organizers_of_the_home_chapter_manage(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    draft = await factory.project(tree["paris"], who["owner"], publish=False)
    owner = as_person(session, who["owner"], scopes=WRITE)
    changed = await projects.update(
        owner, draft.id, {"title": "Jardins", "causes": [2, 11], "stage": "launch"}
    )
    assert (changed.title, changed.causes, changed.stage) == ("Jardins", [2, 11], "launch")
    assert changed.updated_at >= draft.updated_at
    with pytest.raises(ValidationFailed) as err:
        await projects.update(owner, draft.id, {"title": None, "causes": None})
    assert [e.field for e in err.value.errors] == ["title", "causes"]
    with pytest.raises(MissingScope):
        await projects.update(as_person(session, who["owner"], scopes=READ), draft.id, {})
    with pytest.raises(Unauthenticated):
        await projects.publish(anonymous(session), draft.id)
    with pytest.raises(NotFound):  # a draft is invisible to a bystander
        await projects.publish(as_person(session, who["other"], scopes=WRITE), draft.id)
    published = await projects.publish(owner, draft.id)
    assert published.status == "published"
    with pytest.raises(Forbidden):  # visible now, but still not theirs
        await projects.update(as_person(session, who["other"], scopes=WRITE), draft.id, {})
    organizer = as_person(session, who["france_org"], scopes=WRITE)
    assert (await projects.update(organizer, draft.id, {"description": None})).description is None

    lagos = await factory.project(tree["lagos"], who["volunteer"])
    with pytest.raises(Forbidden):
        await projects.archive(as_person(session, who["paris_org"], scopes=WRITE), lagos.id)
    lagos_org = as_person(session, who["lagos_org"], scopes=WRITE)
    assert (await projects.archive(lagos_org, lagos.id)).status == "archived"


async def test_project_status_machine(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    draft = await factory.project(tree["paris"], who["owner"], publish=False)
    owner = as_person(session, who["owner"], scopes=WRITE)
    with pytest.raises(Conflict):
        await projects.archive(owner, draft.id)
    await projects.publish(owner, draft.id)
    with pytest.raises(Conflict):
        await projects.publish(owner, draft.id)
    await projects.archive(owner, draft.id)
    with pytest.raises(Conflict):
        await projects.publish(owner, draft.id)
    assert (await projects.get(anonymous(session), draft.id)).status == "archived"


async def test_slug_changes_stay_unique(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    first = await factory.project(tree["paris"], who["owner"], slug="first")
    await factory.project(tree["paris"], who["owner"], slug="second")
    owner = as_person(session, who["owner"], scopes=WRITE)
    with pytest.raises(ValidationFailed) as err:
        await projects.update(owner, first.id, {"slug": "second", "title": "Renamed"})
    assert err.value.errors[0].field == "slug"
    assert (await projects.get(owner, first.id)).title == first.title
    assert (await projects.update(owner, first.id, {"slug": "first"})).slug == "first"
    assert (await projects.update(owner, first.id, {"slug": "third"})).slug == "third"


async def test_owners_are_added_and_removed_by_managers(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    project = await factory.project(tree["paris"], who["owner"])
    owner = as_person(session, who["owner"], scopes=WRITE)
    co = as_person(session, who["other"], scopes=WRITE)
    with pytest.raises(Forbidden):
        await projects.add_owner(co, project.id, who["other"])
    # An owner names a co-owner only if they may see that person (organizers, people:read):
    # otherwise the person is "no such person", as an unknown id would be.
    with pytest.raises(ValidationFailed):
        await projects.add_owner(owner, project.id, who["other"])
    organizer = as_person(session, who["paris_org"], scopes=WRITE | {"people:read"})
    added = await projects.add_owner(organizer, project.id, who["other"])
    assert {o.person_id for o in added.owners} == {who["owner"], who["other"]}
    again = await projects.add_owner(organizer, project.id, who["other"])
    assert len(again.owners) == 2
    assert (await projects.update(co, project.id, {"stage": "growth"})).stage == "growth"
    with pytest.raises(ValidationFailed):
        await projects.add_owner(owner, project.id, uuid.uuid4())
    with pytest.raises(NotFound):
        await projects.remove_owner(owner, project.id, who["volunteer"])
    with pytest.raises(Forbidden):
        await projects.add_owner(
            as_person(session, who["lagos_org"], scopes=WRITE), project.id, who["lagos_org"]
        )
    left = await projects.remove_owner(co, project.id, who["owner"])
    assert [o.person_id for o in left.owners] == [who["other"]]
    with pytest.raises(Conflict):
        await projects.remove_owner(co, project.id, who["other"])
    with pytest.raises(Forbidden):  # the former owner no longer manages it
        await projects.update(owner, project.id, {"stage": "scale"})


async def test_erased_people_neither_own_nor_show(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    project = await factory.project(tree["paris"], who["owner"])
    erased = await session.get(Person, who["other"])
    assert erased is not None
    erased.erased_at = utcnow()
    session.add(erased)
    await session.flush()
    with pytest.raises(ValidationFailed) as err:
        await projects.add_owner(
            as_person(session, who["owner"], scopes=WRITE), project.id, who["other"]
        )
    assert err.value.errors[0].field == "person_id"


# -- lists ------------------------------------------------------------------------------------


async def test_list_filters_and_keyset_pages(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    roofs = await factory.project(tree["paris"], who["owner"], title="Green roofs", causes=[13])
    club = await factory.project(
        tree["lyon"], who["other"], title="Code club", causes=[4], stage="launch"
    )
    market = await factory.project(
        tree["lagos"], who["volunteer"], title="Market_100%", causes=[13, 2], stage="growth"
    )
    draft = await factory.project(tree["paris"], who["owner"], publish=False, causes=[13])
    await projects.archive(factory.ctx, market.id)
    anon = anonymous(session)

    async def ids(flt: dict[str, Any], ctx: Ctx = anon) -> list[uuid.UUID]:
        return [p.id for p in (await projects.list_projects(ctx, flt, limit=100)).items]

    assert await ids({}) == [roofs.id, club.id, market.id]
    assert await ids({"subtree": tree["france"].id}) == [roofs.id, club.id]
    assert await ids({"cause": 13}) == [roofs.id, market.id]
    assert await ids({"stage": "launch"}) == [club.id]
    assert await ids({"status": "archived"}) == [market.id]
    assert await ids({"status": "draft"}) == []
    assert await ids({"text": "ROOF"}) == [roofs.id]
    assert await ids({"text": "_100%"}) == [market.id]
    assert await ids({"text": "%"}) == [market.id]
    assert await ids({"owner_id": who["owner"]}) == [roofs.id]
    owner = as_person(session, who["owner"], scopes=READ)
    assert await ids({"owner_id": who["owner"]}, owner) == [roofs.id, draft.id]
    assert await ids({"status": "draft", "cause": 13}, owner) == [draft.id]
    for bad, field in [({"cause": 18}, "cause"), ({"stage": "x"}, "stage"), ({"y": 1}, "y")]:
        with pytest.raises(ValidationFailed) as err:
            await projects.list_projects(anon, bad)
        assert err.value.errors[0].field == field

    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        page = await projects.list_projects(anon, after=cursor, limit=2)
        seen += [p.id for p in page.items]
        cursor = page.end_cursor
        if not page.has_next:
            break
    assert seen == [roofs.id, club.id, market.id]


async def test_listing_costs_the_same_statements_for_5_or_20_projects(
    session: AsyncSession,
    connection: AsyncConnection,
    factory: Factory,
    tree: dict[str, ChapterView],
    who: dict[str, uuid.UUID],
) -> None:
    for chapter, n in ((tree["paris"], 5), (tree["lyon"], 20)):
        for _ in range(n):
            project = await factory.project(chapter, who["owner"], causes=[3, 13])
            await projects.add_owner(factory.ctx, project.id, who["other"])
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    async def listed(chapter: ChapterView, ctx: Ctx) -> int:
        statements.clear()
        page = await projects.list_projects(ctx, {"subtree": chapter.id}, limit=100)
        assert all(len(p.owners) == 2 and p.causes == [3, 13] for p in page.items)
        return len(statements)

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        for ctx in (anonymous(session), as_person(session, who["france_org"], scopes=READ)):
            assert await listed(tree["paris"], ctx) == await listed(tree["lyon"], ctx) == 3
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)


# -- needs ------------------------------------------------------------------------------------


async def test_needs_are_managed_by_the_project_managers(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    project = await factory.project(tree["paris"], who["owner"])
    owner = as_person(session, who["owner"], scopes=WRITE)
    need = await needs.create(owner, project.id, {"skill": " Web  Design ", "title": "Site"})
    assert (need.skill, need.status) == ("web-design", "open")
    organizer = as_person(session, who["france_org"], scopes=WRITE)
    other = await needs.create(organizer, project.id, {"skill": "photo", "title": "Pics"})
    changed = await needs.update(owner, other.id, {"skill": "Photography", "title": "Pix"})
    assert (changed.skill, changed.title) == ("photography", "Pix")
    with pytest.raises(ValidationFailed):
        await needs.update(owner, other.id, {"skill": None})
    denied: list[tuple[Ctx, type[Exception]]] = [
        (anonymous(session), Unauthenticated),
        (as_person(session, who["owner"], scopes=READ), MissingScope),
        (as_person(session, who["other"], scopes=WRITE), Forbidden),
        (as_person(session, who["lagos_org"], scopes=WRITE), Forbidden),
    ]
    for ctx, error in denied:
        with pytest.raises(error):
            await needs.create(ctx, project.id, {"skill": "x", "title": "x"})
        with pytest.raises(error):
            await needs.fill(ctx, need.id)
    lagos = await factory.project(tree["lagos"], who["volunteer"])
    with pytest.raises(Forbidden):
        await needs.create(
            as_person(session, who["paris_org"], scopes=WRITE),
            lagos.id,
            {"skill": "x", "title": "x"},
        )
    listed = await needs.list_needs(anonymous(session), project.id)
    assert [n.id for n in listed.items] == [need.id, other.id]


async def test_need_status_machine_and_validation(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    project = await factory.project(tree["paris"], who["owner"])
    need = await factory.need(project.id)
    owner = as_person(session, who["owner"], scopes=WRITE)
    assert (await needs.fill(owner, need.id)).status == "filled"
    with pytest.raises(Conflict):
        await needs.fill(owner, need.id)
    assert [n.id for n in (await needs.list_needs(owner, project.id, "filled")).items] == [need.id]
    assert (await needs.reopen(owner, need.id)).status == "open"
    with pytest.raises(Conflict):
        await needs.reopen(owner, need.id)
    with pytest.raises(ValidationFailed):
        await needs.list_needs(owner, project.id, "closed")
    before = await count(session, Need)
    for bad in ({"skill": "  ", "title": "x"}, {"skill": "x" * 65, "title": "x"}, {"title": "x"}):
        with pytest.raises(ValidationFailed) as err:
            await needs.create(owner, project.id, bad)
        assert err.value.errors[0].field == "skill"
    assert await count(session, Need) == before
    await projects.archive(owner, project.id)
    with pytest.raises(Conflict):
        await needs.create(owner, project.id, {"skill": "x", "title": "x"})


async def test_needs_of_drafts_are_hidden_with_their_project(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    draft = await factory.project(tree["paris"], who["owner"], publish=False)
    need = await factory.need(draft.id)
    with pytest.raises(NotFound):
        await needs.get(anonymous(session), need.id)
    with pytest.raises(NotFound):
        await needs.list_needs(anonymous(session), draft.id)
    assert (await needs.get(as_person(session, who["owner"], scopes=READ), need.id)).id
    await projects.publish(factory.ctx, draft.id)
    assert (await needs.get(anonymous(session), need.id)).skill == "web-design"


# -- contributions ------------------------------------------------------------------------------


@pytest.fixture
async def need(factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]) -> Any:
    """An open need of a published Paris project owned by `owner`."""
    project = await factory.project(tree["paris"], who["owner"])
    return await factory.need(project.id)


async def test_offering_help_is_idempotent(
    session: AsyncSession, need: Any, who: dict[str, uuid.UUID]
) -> None:
    volunteer = as_person(session, who["volunteer"], scopes=WRITE)
    first = await contributions.offer(volunteer, need.id, {"message": "I build sites"})
    assert (first.status, first.person_id, first.project_id) == (
        "offered",
        who["volunteer"],
        need.project_id,
    )
    assert first.display_name == await name_of(session, who["volunteer"])
    again = await contributions.offer(volunteer, need.id, {"message": "me again"})
    assert (again.id, again.message) == (first.id, "I build sites")
    assert await count(session, Contribution) == 1
    # A concurrent twin that slipped past the lookup meets the unique key and gets the winner.
    async with use_case(session):
        twin = await contributions._insert_offer(volunteer, need.id, who["volunteer"], None)
    assert twin == first.id
    assert await count(session, Contribution) == 1


async def test_offers_need_a_person_the_scope_and_an_open_published_need(
    session: AsyncSession,
    factory: Factory,
    tree: dict[str, ChapterView],
    need: Any,
    who: dict[str, uuid.UUID],
) -> None:
    with pytest.raises(Unauthenticated):
        await contributions.offer(anonymous(session), need.id)
    with pytest.raises(MissingScope):
        await contributions.offer(as_person(session, who["volunteer"], scopes=READ), need.id)
    partner = Ctx.of(session, Principal.partner(uuid.uuid4(), {"projects:write"}))
    with pytest.raises(Forbidden):
        await contributions.offer(partner, need.id)
    draft = await factory.project(tree["paris"], who["owner"], publish=False)
    draft_need = await factory.need(draft.id)
    with pytest.raises(NotFound):
        await contributions.offer(as_person(session, who["volunteer"], scopes=WRITE), draft_need.id)
    with pytest.raises(Conflict):  # the owner sees the draft, but it takes no offers yet
        await contributions.offer(as_person(session, who["owner"], scopes=WRITE), draft_need.id)
    await needs.fill(factory.ctx, need.id)
    before = await count(session, Contribution)
    with pytest.raises(Conflict):
        await contributions.offer(as_person(session, who["volunteer"], scopes=WRITE), need.id)
    with pytest.raises(ValidationFailed):
        await contributions.offer(
            as_person(session, who["volunteer"], scopes=WRITE), need.id, {"message": "x" * 2001}
        )
    assert await count(session, Contribution) == before


async def test_contribution_status_machine(
    session: AsyncSession, need: Any, who: dict[str, uuid.UUID]
) -> None:
    owner = as_person(session, who["owner"], scopes=WRITE)
    taken = await contributions.offer(as_person(session, who["volunteer"], scopes=WRITE), need.id)
    refused = await contributions.offer(as_person(session, who["other"], scopes=WRITE), need.id)
    with pytest.raises(Conflict):
        await contributions.complete(owner, taken.id, {"hours": 2})
    assert (await contributions.accept(owner, taken.id)).status == "accepted"
    assert (await needs.get(owner, need.id)).status == "open"  # managers fill needs
    with pytest.raises(Conflict):
        await contributions.accept(owner, taken.id)
    with pytest.raises(Conflict):
        await contributions.decline(owner, taken.id)
    for hours in (-1, 10_000.5, float("nan")):
        with pytest.raises(ValidationFailed) as err:
            await contributions.complete(owner, taken.id, {"hours": hours})
        assert err.value.errors[0].field == "hours"
    done = await contributions.complete(owner, taken.id, {"hours": 3.5})
    assert (done.status, done.hours) == ("done", 3.5)
    with pytest.raises(Conflict):
        await contributions.complete(owner, taken.id, {"hours": 1})
    assert (await contributions.decline(owner, refused.id)).status == "declined"
    for move in (contributions.accept, contributions.decline):
        with pytest.raises(Conflict):
            await move(owner, refused.id)
    assert (await contributions.get(owner, refused.id)).status == "declined"


async def test_who_answers_and_sees_contributions(
    session: AsyncSession,
    factory: Factory,
    tree: dict[str, ChapterView],
    need: Any,
    who: dict[str, uuid.UUID],
) -> None:
    volunteer = as_person(session, who["volunteer"], scopes=WRITE)
    offered = await contributions.offer(volunteer, need.id)
    with pytest.raises(Forbidden):  # the contributor cannot accept their own offer
        await contributions.accept(volunteer, offered.id)
    for ctx in (
        anonymous(session),
        as_person(session, who["other"], scopes=WRITE),
        as_person(session, who["lagos_org"], scopes=WRITE),
        as_person(session, who["france_org"], scopes=READ),
    ):
        with pytest.raises(NotFound):
            await contributions.get(ctx, offered.id)
        assert (await contributions.list_contributions(ctx, need_id=need.id)).items == []
    for ctx in (
        volunteer,
        as_person(session, who["owner"], scopes=READ),
        as_person(session, who["france_org"], scopes=WRITE),
    ):
        listed = await contributions.list_contributions(ctx, project_id=need.project_id)
        assert [c.id for c in listed.items] == [offered.id]
    organizer = as_person(session, who["france_org"], scopes=WRITE)
    assert (await contributions.accept(organizer, offered.id)).status == "accepted"

    lagos = await factory.project(tree["lagos"], who["lagos_org"])
    lagos_offer = await contributions.offer(
        as_person(session, who["other"], scopes=WRITE), (await factory.need(lagos.id)).id
    )
    with pytest.raises(NotFound):
        await contributions.decline(
            as_person(session, who["paris_org"], scopes=WRITE), lagos_offer.id
        )
    mine = await contributions.list_contributions(volunteer, person_id=who["volunteer"])
    assert [c.id for c in mine.items] == [offered.id]
    accepted = await contributions.list_contributions(organizer, status="accepted")
    assert [c.id for c in accepted.items] == [offered.id]
    with pytest.raises(ValidationFailed):
        await contributions.list_contributions(organizer, status="maybe")


async def test_the_contributor_withdraws_an_unanswered_offer(
    session: AsyncSession, tree: dict[str, ChapterView], need: Any, who: dict[str, uuid.UUID]
) -> None:
    volunteer = as_person(session, who["volunteer"], scopes=WRITE)
    owner = as_person(session, who["owner"], scopes=WRITE)
    offered = await contributions.offer(volunteer, need.id)
    with pytest.raises(Forbidden):
        await contributions.withdraw(owner, offered.id)
    with pytest.raises(MissingScope):
        await contributions.withdraw(as_person(session, who["volunteer"], scopes=READ), offered.id)
    await contributions.withdraw(volunteer, offered.id)
    with pytest.raises(NotFound):
        await contributions.get(owner, offered.id)
    stones = (await session.exec(select(Tombstone).where(Tombstone.entity_id == offered.id))).all()
    assert [(t.entity, t.chapter_id) for t in stones] == [("contribution", tree["paris"].id)]
    again = await contributions.offer(volunteer, need.id)
    await contributions.accept(owner, again.id)
    with pytest.raises(Conflict):
        await contributions.withdraw(volunteer, again.id)
    assert await count(session, Contribution) == 1


# -- batches for nested lists and counts --------------------------------------------------------


async def test_counting_matches_the_list_for_each_caller(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, uuid.UUID]
) -> None:
    await factory.project(tree["paris"], who["owner"], causes=[13])
    await factory.project(tree["lyon"], who["other"], causes=[4])
    await factory.project(tree["paris"], who["owner"], publish=False, causes=[13])
    owner = as_person(session, who["owner"], scopes=READ)
    cases: list[tuple[Ctx, dict[str, Any], int]] = [
        (anonymous(session), {}, 2),
        (anonymous(session), {"cause": 13}, 1),
        (anonymous(session), {"subtree": tree["lagos"].id}, 0),
        (owner, {}, 3),
        (owner, {"status": "draft"}, 1),
    ]
    for ctx, flt, expected in cases:
        listed = await projects.list_projects(ctx, flt, limit=100)
        assert await projects.count_projects(ctx, flt) == len(listed.items) == expected
    with pytest.raises(ValidationFailed):
        await projects.count_projects(anonymous(session), {"stage": "x"})


@contextlib.contextmanager
def recorded(connection: AsyncConnection) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)


async def test_needs_of_many_projects_come_in_one_query(
    session: AsyncSession,
    connection: AsyncConnection,
    factory: Factory,
    tree: dict[str, ChapterView],
    who: dict[str, uuid.UUID],
) -> None:
    public = await factory.project(tree["paris"], who["owner"])
    draft = await factory.project(tree["paris"], who["owner"], publish=False)
    made = [await factory.need(public.id) for _ in range(3)]
    hidden = await factory.need(draft.id)
    await needs.fill(factory.ctx, made[1].id)
    anon, owner = anonymous(session), as_person(session, who["owner"], scopes=READ)
    with recorded(connection) as statements:
        pages = await needs.pages_for_projects(anon, [public.id, draft.id], Window(first=2))
    assert len(statements) == 1
    assert [n.id for n in pages[public.id].items] == [made[0].id, made[1].id]
    assert pages[public.id].has_next
    assert pages[draft.id].items == []  # hidden with its project
    rest = Window(first=2, after=pages[public.id].end_cursor)
    page = (await needs.pages_for_projects(anon, [public.id], rest))[public.id]
    assert [n.id for n in page.items] == [made[2].id]
    page = (await needs.pages_for_projects(anon, [public.id], Window(first=5), "open"))[public.id]
    assert [n.id for n in page.items] == [made[0].id, made[2].id]
    with pytest.raises(ValidationFailed):
        await needs.pages_for_projects(anon, [public.id], Window(first=5), "closed")
    assert list(await needs.get_many(anon, [made[0].id, hidden.id])) == [made[0].id]
    assert set(await needs.get_many(owner, [made[0].id, hidden.id])) == {made[0].id, hidden.id}


async def test_contributions_of_many_needs_come_in_two_queries(
    session: AsyncSession,
    connection: AsyncConnection,
    need: Any,
    who: dict[str, uuid.UUID],
    factory: Factory,
) -> None:
    other_need = await factory.need(need.project_id)
    offers = [
        await contributions.offer(as_person(session, p, scopes=WRITE), need.id)
        for p in (who["volunteer"], who["other"])
    ]
    volunteer = as_person(session, who["volunteer"], scopes=WRITE)
    owner = as_person(session, who["owner"], scopes=READ)
    with recorded(connection) as statements:
        pages = await contributions.pages_for_needs(
            owner, [need.id, other_need.id], Window(first=5)
        )
    assert len(statements) == 2  # the pages, then projects and contributors' names
    assert [c.id for c in pages[need.id].items] == [o.id for o in offers]
    assert pages[need.id].items[0].display_name == await name_of(session, who["volunteer"])
    assert pages[other_need.id].items == []
    # The contributor sees their own offer only; anonymous callers see none.
    mine = await contributions.pages_for_needs(volunteer, [need.id], Window(first=5))
    assert [c.id for c in mine[need.id].items] == [offers[0].id]
    none = await contributions.pages_for_needs(anonymous(session), [need.id], Window(first=5))
    assert none[need.id].items == []
    assert set(await contributions.get_many(volunteer, [o.id for o in offers])) == {offers[0].id}
    assert set(await contributions.get_many(owner, [o.id for o in offers])) == {
        o.id for o in offers
    }
