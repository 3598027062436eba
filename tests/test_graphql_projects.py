"""Projects, needs, contributions and matching through the GraphQL schema."""

import uuid
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.graphql.relay import to_global_id
from makesense_api.people import service as people
from makesense_api.people.schemas import PersonCreate
from makesense_api.projects import contributions, needs
from makesense_api.projects import service as projects
from makesense_api.projects.models import Contribution, Need, Project
from tests.factories import Factory
from tests.gql import count_statements, execute, run

PARIS = {"latitude": 48.8566, "longitude": 2.3522}


@pytest.fixture
async def tree(factory: Factory) -> dict[str, ChapterView]:
    root = await factory.root(slug="net")
    france = await factory.chapter(root, slug="france", kind="country", country_code="FR")
    paris = await factory.chapter(france, slug="paris", name="Paris", languages=["fr"], **PARIS)
    lyon = await factory.chapter(france, slug="lyon", name="Lyon")
    africa = await factory.chapter(root, slug="africa", kind="region")
    lagos = await factory.chapter(africa, slug="lagos", timezone="Africa/Lagos")
    return {"root": root, "france": france, "paris": paris, "lyon": lyon, "lagos": lagos}


async def named(
    factory: Factory, chapter: ChapterView, name: str, role: str = "member", **kw: Any
) -> Principal:
    """A member of `chapter` called `name`, as a caller with every scope."""
    person = await people.new_person(factory.ctx, PersonCreate(display_name=name, **kw))
    await people.set_role(factory.ctx, chapter.id, person.id, role)
    return Principal.person(person.id)


@pytest.fixture
async def who(factory: Factory, tree: dict[str, ChapterView]) -> dict[str, Principal]:
    """Callers: an owner, a volunteer who does web design, a bystander, organizers."""
    paris = tree["paris"]
    return {
        "owner": await named(factory, paris, "Olga"),
        "volunteer": await named(
            factory,
            paris,
            "Vera",
            home_chapter_id=paris.id,
            languages=["fr"],
            skills=["web-design"],
            causes=[13],
            open_to_matching=True,
        ),
        "other": await named(factory, paris, "Omar"),
        "paris_org": await named(factory, paris, "Paula", "organizer"),
        "lagos_org": await named(factory, tree["lagos"], "Lami", "organizer"),
    }


def pid(principal: Principal) -> uuid.UUID:
    assert principal.person_id is not None
    return principal.person_id


def gid(type_name: str, view: Any) -> str:
    return to_global_id(type_name, view.id)


async def rows(session: AsyncSession, model: type[SQLModel]) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


# -- reading ------------------------------------------------------------------------------------

PROJECT_PAGE = """query($slug: String!) { project(slug: $slug) {
  id slug title description language stage status causes
  owners { id displayName } homeChapter { slug }
  open: needs(status: "open", first: 10) { edges { node { title } } }
  needs(first: 2) {
    edges { cursor node { id skill title status project { slug }
      contributions(first: 5) { edges { node { status contributor { displayName } } } } } }
    pageInfo { hasNextPage endCursor } } } }"""


async def test_a_chapter_site_shows_a_project_page(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, Any]
) -> None:
    project = await factory.project(
        tree["paris"],
        pid(who["owner"]),
        slug="toits-verts",
        title="Toits verts",
        description="Des jardins sur les toits",
        translations={"en": {"title": "Green roofs"}},
        causes=[13, 11],
        stage="launch",
    )
    await projects.add_owner(factory.ctx, project.id, pid(who["other"]))
    site, photos, flyers = [
        await factory.need(project.id, skill=s, title=s) for s in ("web-design", "photo", "print")
    ]
    await needs.fill(factory.ctx, photos.id)
    await contributions.offer(Ctx.of(session, who["volunteer"]), site.id)

    page = (await run(session, PROJECT_PAGE, {"slug": "toits-verts"}, languages=("en",)))["project"]
    assert page["id"] == gid("Project", project)
    assert (page["title"], page["language"]) == ("Green roofs", "en")
    assert page["description"] == "Des jardins sur les toits"  # falls back to the default text
    assert (page["stage"], page["status"], page["causes"]) == ("launch", "published", [11, 13])
    assert [o["displayName"] for o in page["owners"]] == ["Olga", "Omar"]
    assert page["owners"][0]["id"] == to_global_id("Person", pid(who["owner"]))
    assert page["homeChapter"] == {"slug": "paris"}
    assert [e["node"]["title"] for e in page["open"]["edges"]] == ["web-design", "print"]
    edges = page["needs"]["edges"]
    assert [(e["node"]["title"], e["node"]["status"]) for e in edges] == [
        ("web-design", "open"),
        ("photo", "filled"),
    ]
    assert edges[0]["node"]["project"] == {"slug": "toits-verts"}
    # Offers are for the contributor and the project's managers only.
    assert edges[0]["node"]["contributions"]["edges"] == []
    assert page["needs"]["pageInfo"]["hasNextPage"]
    after = page["needs"]["pageInfo"]["endCursor"]
    more = await run(
        session,
        'query($a: String) { project(slug: "toits-verts") { needs(first: 2, after: $a) {'
        " edges { node { title } } pageInfo { hasNextPage } } } }",
        {"a": after},
    )
    assert more["project"]["needs"]["edges"] == [{"node": {"title": flyers.title}}]
    managed = (await run(session, PROJECT_PAGE, {"slug": "toits-verts"}, who["owner"]))["project"]
    offers = managed["needs"]["edges"][0]["node"]["contributions"]["edges"]
    assert offers == [{"node": {"status": "offered", "contributor": {"displayName": "Vera"}}}]


NODE = """query($id: ID!) { node(id: $id) { id
  ... on Project { slug status }
  ... on Need { title project { slug } }
  ... on Contribution { status need { title } contributor { displayName } } } }"""


async def test_drafts_and_offers_stay_hidden_from_those_who_may_not_see_them(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, Any]
) -> None:
    draft = await factory.project(tree["paris"], pid(who["owner"]), slug="secret", publish=False)
    hidden_need = await factory.need(draft.id, title="Hidden")
    public = await factory.project(tree["paris"], pid(who["owner"]), slug="open")
    need = await factory.need(public.id, title="Visible")
    offer = await contributions.offer(Ctx.of(session, who["volunteer"]), need.id)
    query = '{ project(slug: "secret") { slug } }'
    assert (await run(session, query))["project"] is None
    assert (await run(session, query, principal=who["lagos_org"]))["project"] is None
    assert (await run(session, query, principal=who["owner"]))["project"] == {"slug": "secret"}
    assert (await run(session, query, principal=who["paris_org"]))["project"] == {"slug": "secret"}
    for hidden in (gid("Project", draft), gid("Need", hidden_need), gid("Contribution", offer)):
        assert (await run(session, NODE, {"id": hidden}))["node"] is None
    assert (await run(session, NODE, {"id": gid("Project", draft)}, who["owner"]))["node"] == {
        "id": gid("Project", draft),
        "slug": "secret",
        "status": "draft",
    }
    assert (await run(session, NODE, {"id": gid("Need", need)}))["node"]["project"] == {
        "slug": "open"
    }
    for allowed in ("volunteer", "owner", "paris_org"):
        seen = (await run(session, NODE, {"id": gid("Contribution", offer)}, who[allowed]))["node"]
        assert seen["need"] == {"title": "Visible"}
        assert seen["contributor"] == {"displayName": "Vera"}
    for denied in ("other", "lagos_org"):
        found = await run(session, NODE, {"id": gid("Contribution", offer)}, who[denied])
        assert found["node"] is None


PROJECTS = """query($filter: ProjectFilterInput, $first: Int, $after: String, $last: Int) {
  projects(filter: $filter, first: $first, after: $after, last: $last) {
    totalCount edges { node { slug } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""


async def test_the_project_list_filters_pages_and_counts(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, Any]
) -> None:
    owner = pid(who["owner"])
    await factory.project(tree["paris"], owner, slug="roofs", title="Green roofs", causes=[13])
    await factory.project(tree["lyon"], owner, slug="club", title="Code club", stage="launch")
    await factory.project(tree["lagos"], owner, slug="market", title="Market", causes=[2, 13])
    await factory.project(tree["paris"], owner, slug="draft", publish=False)

    async def slugs(flt: dict[str, Any], principal: Principal | None = None) -> list[str]:
        data = await run(session, PROJECTS, {"filter": flt, "first": 10}, principal)
        assert data["projects"]["totalCount"] == len(data["projects"]["edges"])
        return [e["node"]["slug"] for e in data["projects"]["edges"]]

    assert await slugs({}) == ["roofs", "club", "market"]
    assert await slugs({"subtree": gid("Chapter", tree["france"])}) == ["roofs", "club"]
    assert await slugs({"cause": 13}) == ["roofs", "market"]
    assert await slugs({"stage": "launch"}) == ["club"]
    assert await slugs({"text": "ROOF"}) == ["roofs"]
    assert await slugs({"status": "draft"}) == []
    assert await slugs({"status": "draft"}, who["owner"]) == ["draft"]

    first = (await run(session, PROJECTS, {"first": 2}))["projects"]
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"]) == (3, True)
    rest = await run(session, PROJECTS, {"first": 2, "after": first["pageInfo"]["endCursor"]})
    assert [e["node"]["slug"] for e in rest["projects"]["edges"]] == ["market"]
    last = (await run(session, PROJECTS, {"last": 1}))["projects"]
    assert [e["node"]["slug"] for e in last["edges"]] == ["market"]

    # The count is one more statement, run only when asked.
    bare = "{ projects(first: 2) { edges { node { slug } } } }"
    counted = "{ projects(first: 2) { totalCount edges { node { slug } } } }"
    with count_statements(session) as without:
        await run(session, bare)
    with count_statements(session) as with_count:
        await run(session, counted)
    assert len(with_count) == len(without) + 1

    for bad in ({"subtree": "garbage"}, {"cause": 18}, {"stage": "x"}):
        result = await execute(session, PROJECTS, {"filter": bad, "first": 2})
        assert result.errors, bad
    assert (await execute(session, PROJECTS, {"first": 0})).errors


async def test_nested_lists_cost_the_same_statements_for_5_or_50_projects(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, Any]
) -> None:
    volunteer = Ctx.of(session, who["volunteer"])
    for chapter, n in ((tree["paris"], 5), (tree["lyon"], 50)):
        for _ in range(n):
            project = await factory.project(chapter, pid(who["owner"]), causes=[13])
            first_need = await factory.need(project.id)
            await factory.need(project.id, skill="photo")
            await contributions.offer(volunteer, first_need.id, {"message": "count me in"})
    query = """query($subtree: ID!) { projects(first: 50, filter: {subtree: $subtree}) {
      totalCount edges { node { slug causes owners { displayName } homeChapter { slug }
        needs(first: 5) { edges { node { title project { slug }
          contributions(first: 5) { edges { node { status contributor { displayName }
            need { title } } } } } } } } } } }"""
    counts = []
    for chapter, n in ((tree["paris"], 5), (tree["lyon"], 50)):
        with count_statements(session) as statements:
            data = await run(session, query, {"subtree": gid("Chapter", chapter)}, who["owner"])
        edges = data["projects"]["edges"]
        assert len(edges) == data["projects"]["totalCount"] == n
        for edge in edges:
            need_edges = edge["node"]["needs"]["edges"]
            assert len(need_edges) == 2
            assert len(need_edges[0]["node"]["contributions"]["edges"]) == 1
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


# -- mutations ----------------------------------------------------------------------------------

SELECTIONS = {
    "project": "... on ProjectPayload { project { id slug title status stage causes "
    "owners { displayName } } }",
    "need": "... on NeedPayload { need { id skill title status } }",
    "contribution": "... on ContributionPayload { contribution { id status message hours "
    "contributor { displayName } } }",
    "contributionWithdraw": "... on ContributionWithdrawPayload { withdrawnId }",
}


async def mutate(
    session: AsyncSession, name: str, input: dict[str, Any], principal: Principal | None = None
) -> dict[str, Any]:
    """Run one mutation and return its result, whatever its type."""
    selection = SELECTIONS.get(name) or next(v for k, v in SELECTIONS.items() if name.startswith(k))
    query = f"""mutation($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) {{
      __typename {selection}
      ... on Error {{ code message }} ... on ValidationError {{ fields {{ field message }} }} }} }}"""
    result: dict[str, Any] = (await run(session, query, {"input": input}, principal))[name]
    return result


def fields_of(result: dict[str, Any]) -> set[str]:
    assert result["__typename"] == "ValidationError", result
    return {f["field"] for f in result["fields"]}


@pytest.fixture
async def scene(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, Any]
) -> dict[str, str]:
    """Global IDs of a published Paris project owned by `owner`, its open need, and a
    volunteer's offer on another need of it."""
    project = await factory.project(tree["paris"], pid(who["owner"]), slug="roofs")
    need = await factory.need(project.id, title="Website")
    other_need = await factory.need(project.id, title="Photos")
    offer = await contributions.offer(Ctx.of(session, who["volunteer"]), other_need.id)
    return {
        "project": gid("Project", project),
        "need": gid("Need", need),
        "contribution": gid("Contribution", offer),
    }


async def test_project_mutations_succeed_and_fail_with_typed_errors(
    session: AsyncSession, tree: dict[str, ChapterView], who: dict[str, Any], scene: dict[str, str]
) -> None:
    owner, paris = who["owner"], gid("Chapter", tree["paris"])
    new = {"homeChapterId": paris, "slug": "bikes", "title": "Vélos", "defaultLanguage": "fr"}
    created = await mutate(session, "projectCreate", {**new, "causes": [11]}, owner)
    assert created["project"]["status"] == "draft"
    assert created["project"]["owners"] == [{"displayName": "Olga"}]
    project = created["project"]["id"]
    before = await rows(session, Project)
    bad = await mutate(
        session, "projectCreate", {**new, "slug": "x y", "defaultLanguage": "?"}, owner
    )
    assert fields_of(bad) == {"slug", "default_language"}
    bad_id = await mutate(session, "projectCreate", {**new, "homeChapterId": "garbage"}, owner)
    assert fields_of(bad_id) == {"home_chapter_id"}
    anonymous = await mutate(session, "projectCreate", new)
    assert anonymous["__typename"] == "UnauthenticatedError"
    assert await rows(session, Project) == before

    changes = {
        "id": project,
        "title": "Vélos partagés",
        "stage": "launch",
        "translations": [{"language": "en", "title": "Shared bikes"}],
    }
    updated = await mutate(session, "projectUpdate", changes, owner)
    assert (updated["project"]["title"], updated["project"]["stage"]) == (
        "Vélos partagés",
        "launch",
    )
    bad = await mutate(
        session, "projectUpdate", {"id": project, "title": "X", "slug": "x y"}, owner
    )
    assert fields_of(bad) == {"slug"}
    assert (await run(session, '{ project(slug: "bikes") { title } }', principal=owner)) == {
        "project": {"title": "Vélos partagés"}  # the failed update wrote nothing
    }
    foreign = await mutate(
        session, "projectUpdate", {"id": scene["project"], "title": "X"}, who["lagos_org"]
    )
    assert foreign["__typename"] == "ForbiddenError"

    published = await mutate(session, "projectPublish", {"id": project}, owner)
    assert published["project"]["status"] == "published"
    again = await mutate(session, "projectPublish", {"id": project}, owner)
    assert again["__typename"] == "ConflictError"
    not_a_project = await mutate(session, "projectPublish", {"id": scene["need"]}, owner)
    assert fields_of(not_a_project) == {"id"}

    other = to_global_id("Person", pid(who["other"]))
    added = await mutate(
        session, "projectAddOwner", {"projectId": project, "personId": other}, who["paris_org"]
    )
    assert [o["displayName"] for o in added["project"]["owners"]] == ["Olga", "Omar"]
    wrong = await mutate(
        session, "projectAddOwner", {"projectId": project, "personId": paris}, owner
    )
    assert fields_of(wrong) == {"personId"}
    removed = await mutate(
        session, "projectRemoveOwner", {"projectId": project, "personId": other}, owner
    )
    assert [o["displayName"] for o in removed["project"]["owners"]] == ["Olga"]
    last = await mutate(
        session,
        "projectRemoveOwner",
        {"projectId": project, "personId": to_global_id("Person", pid(owner))},
        owner,
    )
    assert last["__typename"] == "ConflictError"

    draft = (await mutate(session, "projectCreate", {**new, "slug": "draft"}, owner))["project"]
    early = await mutate(session, "projectArchive", {"id": draft["id"]}, owner)
    assert early["__typename"] == "ConflictError"
    archived = await mutate(session, "projectArchive", {"id": project}, owner)
    assert archived["project"]["status"] == "archived"


async def test_need_mutations_succeed_and_fail_with_typed_errors(
    session: AsyncSession, who: dict[str, Any], scene: dict[str, str]
) -> None:
    owner = who["owner"]
    before = await rows(session, Need)
    foreign = await mutate(
        session,
        "needCreate",
        {"projectId": scene["project"], "skill": "x", "title": "x"},
        who["lagos_org"],
    )
    assert foreign["__typename"] == "ForbiddenError"
    blank = await mutate(
        session, "needCreate", {"projectId": scene["project"], "skill": " ", "title": ""}, owner
    )
    assert fields_of(blank) == {"skill", "title"}
    assert await rows(session, Need) == before
    created = await mutate(
        session,
        "needCreate",
        {"projectId": scene["project"], "skill": " Photo Graphy ", "title": "Pictures"},
        who["paris_org"],
    )
    assert (created["need"]["skill"], created["need"]["status"]) == ("photo-graphy", "open")
    need = created["need"]["id"]

    updated = await mutate(session, "needUpdate", {"id": need, "title": "Photos"}, owner)
    assert updated["need"]["title"] == "Photos"
    cleared = await mutate(session, "needUpdate", {"id": need, "skill": None}, owner)
    assert fields_of(cleared) == {"skill"}

    filled = await mutate(session, "needFill", {"id": need}, owner)
    assert filled["need"]["status"] == "filled"
    assert (await mutate(session, "needFill", {"id": need}, owner))["__typename"] == "ConflictError"
    reopened = await mutate(session, "needReopen", {"id": need}, owner)
    assert reopened["need"]["status"] == "open"
    twice = await mutate(session, "needReopen", {"id": need}, owner)
    assert twice["__typename"] == "ConflictError"
    bystander = await mutate(session, "needFill", {"id": need}, who["other"])
    assert bystander["__typename"] == "ForbiddenError"

    await mutate(session, "projectArchive", {"id": scene["project"]}, owner)
    closed = await mutate(
        session, "needCreate", {"projectId": scene["project"], "skill": "x", "title": "x"}, owner
    )
    assert closed["__typename"] == "ConflictError"
    assert await rows(session, Need) == before + 1


async def test_contribution_mutations_succeed_and_fail_with_typed_errors(
    session: AsyncSession, who: dict[str, Any], scene: dict[str, str]
) -> None:
    owner, volunteer = who["owner"], who["volunteer"]
    offer = {"needId": scene["need"], "message": "I build sites"}
    offered = await mutate(session, "contributionOffer", offer, volunteer)
    assert offered["contribution"]["status"] == "offered"
    assert offered["contribution"]["contributor"] == {"displayName": "Vera"}
    first = offered["contribution"]["id"]
    assert (await mutate(session, "contributionOffer", offer))["__typename"] == (
        "UnauthenticatedError"
    )
    assert fields_of(await mutate(session, "contributionOffer", {"needId": "x"}, volunteer)) == {
        "needId"
    }
    second = (await mutate(session, "contributionOffer", offer, who["other"]))["contribution"]["id"]

    own = await mutate(session, "contributionAccept", {"id": first}, volunteer)
    assert own["__typename"] == "ForbiddenError"
    unseen = await mutate(session, "contributionAccept", {"id": first}, who["lagos_org"])
    assert unseen["__typename"] == "NotFoundError"  # offers elsewhere are not even visible
    accepted = await mutate(session, "contributionAccept", {"id": first}, owner)
    assert accepted["contribution"]["status"] == "accepted"
    twice = await mutate(session, "contributionAccept", {"id": first}, owner)
    assert twice["__typename"] == "ConflictError"

    late = await mutate(session, "contributionDecline", {"id": first}, owner)
    assert late["__typename"] == "ConflictError"
    not_yet = await mutate(session, "contributionComplete", {"id": second, "hours": 2}, owner)
    assert not_yet["__typename"] == "ConflictError"
    negative = await mutate(session, "contributionComplete", {"id": first, "hours": -1}, owner)
    assert fields_of(negative) == {"hours"}
    done = await mutate(session, "contributionComplete", {"id": first, "hours": 3.5}, owner)
    assert (done["contribution"]["status"], done["contribution"]["hours"]) == ("done", 3.5)

    not_theirs = await mutate(session, "contributionWithdraw", {"id": second}, owner)
    assert not_theirs["__typename"] == "ForbiddenError"
    answered = await mutate(session, "contributionWithdraw", {"id": first}, volunteer)
    assert answered["__typename"] == "ConflictError"
    before = await rows(session, Contribution)
    withdrawn = await mutate(session, "contributionWithdraw", {"id": second}, who["other"])
    assert withdrawn == {"__typename": "ContributionWithdrawPayload", "withdrawnId": second}
    assert await rows(session, Contribution) == before - 1

    declined = await mutate(session, "contributionDecline", {"id": scene["contribution"]}, owner)
    assert declined["contribution"]["status"] == "declined"
    await mutate(session, "needFill", {"id": scene["need"]}, owner)
    closed = await mutate(session, "contributionOffer", offer, who["paris_org"])
    assert closed["__typename"] == "ConflictError"


# Each mutation's input; string values naming a key of `scene` (or chapter, person) become IDs.
MUTATIONS: dict[str, dict[str, Any]] = {
    "projectCreate": {
        "homeChapterId": "chapter",
        "slug": "x",
        "title": "x",
        "defaultLanguage": "fr",
    },
    "projectUpdate": {"id": "project", "title": "x"},
    "projectPublish": {"id": "project"},
    "projectArchive": {"id": "project"},
    "projectAddOwner": {"projectId": "project", "personId": "person"},
    "projectRemoveOwner": {"projectId": "project", "personId": "person"},
    "needCreate": {"projectId": "project", "skill": "x", "title": "x"},
    "needUpdate": {"id": "need", "title": "x"},
    "needFill": {"id": "need"},
    "needReopen": {"id": "need"},
    "contributionOffer": {"needId": "need"},
    "contributionAccept": {"id": "contribution"},
    "contributionDecline": {"id": "contribution"},
    "contributionComplete": {"id": "contribution", "hours": 1.5},
    "contributionWithdraw": {"id": "contribution"},
}


@pytest.mark.parametrize("name", list(MUTATIONS))
async def test_every_mutation_needs_a_caller(
    session: AsyncSession,
    tree: dict[str, ChapterView],
    who: dict[str, Any],
    scene: dict[str, str],
    name: str,
) -> None:
    ids = {
        **scene,
        "chapter": gid("Chapter", tree["paris"]),
        "person": to_global_id("Person", pid(who["other"])),
    }
    values = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in MUTATIONS[name].items()}
    result = await mutate(session, name, values)
    assert (result["__typename"], result["code"]) == ("UnauthenticatedError", "unauthenticated")


# -- matching -----------------------------------------------------------------------------------


async def test_matching_fields_explain_their_ranking(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView], who: dict[str, Any]
) -> None:
    project = await factory.project(tree["paris"], pid(who["owner"]), slug="roofs", causes=[13])
    site = await factory.need(project.id, skill="web-design", title="Website")
    await factory.need(project.id, skill="accounting", title="Books")
    query = """{ matchingNeeds(first: 5) { score reasons need { id title project { slug } } } }"""
    found = (await run(session, query, principal=who["volunteer"]))["matchingNeeds"]
    assert [m["need"]["title"] for m in found] == ["Website", "Books"]
    assert found[0]["need"]["id"] == gid("Need", site)
    assert found[0]["need"]["project"] == {"slug": "roofs"}
    assert found[0]["reasons"][0] == "skill: web-design"
    assert "causes: 13" in found[1]["reasons"]
    assert found[0]["score"] > found[1]["score"]
    anonymous = await execute(session, query)
    assert [e.message for e in anonymous.errors] == ["needs are matched for a signed-in person"]

    for_need = """query($need: ID!) { matchingPeople(needId: $need, first: 5) {
      score reasons person { id displayName } } }"""
    ranked = (await run(session, for_need, {"need": gid("Need", site)}, who["paris_org"]))[
        "matchingPeople"
    ]
    assert ranked[0]["person"] == {
        "id": to_global_id("Person", pid(who["volunteer"])),
        "displayName": "Vera",
    }
    assert ranked[0]["reasons"][:2] == ["skill: web-design", "causes: 13"]
    denied = await execute(session, for_need, {"need": gid("Need", site)}, who["lagos_org"])
    assert "not allowed" in denied.errors[0].message
    malformed = await execute(session, for_need, {"need": "garbage"}, who["paris_org"])
    assert "needId" in malformed.errors[0].message
