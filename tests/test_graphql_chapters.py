"""Chapters, people and the viewer through the GraphQL schema."""

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.graphql.relay import to_global_id
from tests.factories import Factory
from tests.gql import count_statements, execute, run


@pytest.fixture
async def tree(factory: Factory) -> dict[str, ChapterView]:
    root = await factory.root(slug="net")
    france = await factory.chapter(root, slug="france", kind="country", country_code="FR")
    paris = await factory.chapter(
        france,
        slug="paris",
        city="Paris",
        country_code="FR",
        translations={"en": {"description": "Paris in English"}},
        description="Paris en français",
    )
    lyon = await factory.chapter(france, slug="lyon", city="Lyon", country_code="FR")
    return {"root": root, "france": france, "paris": paris, "lyon": lyon}


CHAPTER = """
query($slug: String!) {
  chapter(slug: $slug) {
    id slug name description language depth city
    parent { slug }
    ancestors { slug }
    children(first: 10) { edges { node { slug } } pageInfo { hasNextPage } }
  }
}"""


async def test_chapter_page_with_tree_and_language(
    session: AsyncSession, tree: dict[str, ChapterView]
) -> None:
    data = await run(session, CHAPTER, {"slug": "paris"}, languages=("en",))
    paris = data["chapter"]
    assert paris["id"] == to_global_id("Chapter", tree["paris"].id)
    assert (paris["description"], paris["language"]) == ("Paris in English", "en")
    assert paris["parent"] == {"slug": "france"}
    assert [a["slug"] for a in paris["ancestors"]] == ["net", "france"]
    france = (await run(session, CHAPTER, {"slug": "france"}))["chapter"]
    assert [e["node"]["slug"] for e in france["children"]["edges"]] == ["lyon", "paris"]
    assert (await run(session, CHAPTER, {"slug": "nowhere"}))["chapter"] is None


async def test_node_refetch_and_invalid_ids(
    session: AsyncSession, tree: dict[str, ChapterView]
) -> None:
    gid = to_global_id("Chapter", tree["lyon"].id)
    data = await run(
        session, "query($id: ID!) { node(id: $id) { id ... on Chapter { slug } } }", {"id": gid}
    )
    assert data["node"] == {"id": gid, "slug": "lyon"}
    data = await run(
        session,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [gid, "garbage", to_global_id("Person", tree["lyon"].id)]},
    )
    assert data["nodes"] == [{"id": gid}, None, None]


async def test_connections_paginate_and_count_on_demand(
    session: AsyncSession, tree: dict[str, ChapterView]
) -> None:
    query = """query($after: String) { chapters(first: 2, after: $after) {
      totalCount edges { cursor node { slug } } pageInfo { hasNextPage endCursor } } }"""
    first = (await run(session, query))["chapters"]
    assert [e["node"]["slug"] for e in first["edges"]] == ["france", "lyon"]
    assert first["totalCount"] == 4
    assert first["pageInfo"]["hasNextPage"]
    rest = (await run(session, query, {"after": first["pageInfo"]["endCursor"]}))["chapters"]
    assert [e["node"]["slug"] for e in rest["edges"]] == ["net", "paris"]
    last = await run(session, "{ chapters(last: 1) { edges { node { slug } } } }")
    assert [e["node"]["slug"] for e in last["chapters"]["edges"]] == ["paris"]
    for bad in ("first: 0", "first: 101", "last: 500", "first: 1, last: 1"):
        result = await execute(session, f"{{ chapters({bad}) {{ edges {{ cursor }} }} }}")
        assert result.errors, bad


async def test_nested_children_cost_constant_statements(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    for n in range(6):
        parent = await factory.chapter(tree["france"], slug=f"city-{n}")
        for m in range(3):
            await factory.chapter(parent, slug=f"city-{n}-{m}", kind="neighbourhood")
    query = """query($n: Int!) { chapters(first: $n, filter: {kind: "city"}) { edges { node {
        slug parent { slug } children(first: 5) { edges { node { slug } } } } } } }"""
    counts = []
    for size in (2, 8):
        with count_statements(session) as statements:
            data = await run(session, query, {"n": size})
        assert len(data["chapters"]["edges"]) == size
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


async def test_viewer_and_people_respect_privacy(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    organizer = await factory.member(tree["france"], "organizer")
    member = await factory.member(tree["paris"], email="m@example.org")
    outsider = await factory.person(email="o@example.org")
    query = "{ viewer { anonymous scopes person { displayName } } people(first: 50) { edges { node { id email } } } }"
    as_org = await run(session, query, principal=Principal.person(organizer))
    emails = {e["node"]["email"] for e in as_org["people"]["edges"]}
    assert "m@example.org" in emails
    assert "o@example.org" not in emails
    assert as_org["viewer"]["anonymous"] is False
    anon = await execute(session, "{ viewer { anonymous person { id } } }")
    assert anon.data == {"viewer": {"anonymous": True, "person": None}}
    hidden = await run(
        session,
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": to_global_id("Person", outsider)},
        principal=Principal.person(member),
    )
    assert hidden["node"] is None


MOVE = """mutation($input: ChapterMoveInput!) { chapterMove(input: $input) {
  __typename ... on ChapterPayload { chapter { slug depth } }
  ... on Error { code message } ... on ValidationError { fields { field message } } } }"""
CREATE = """mutation($input: ChapterCreateInput!) { chapterCreate(input: $input) {
  __typename ... on ChapterPayload { chapter { slug depth name } }
  ... on Error { code } ... on ValidationError { fields { field } }
  ... on ForbiddenError { requiredScope } } }"""


async def test_mutations_return_typed_results_and_write_nothing_on_failure(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    admin = Principal.person(await factory.member(tree["france"], "admin"))
    new = {
        "parentId": to_global_id("Chapter", tree["paris"].id),
        "slug": "montmartre",
        "name": "Montmartre",
        "defaultLanguage": "fr",
        "kind": "neighbourhood",
        "timezone": "Europe/Paris",
    }
    ok = await run(session, CREATE, {"input": new}, principal=admin)
    assert ok["chapterCreate"] == {
        "__typename": "ChapterPayload",
        "chapter": {"slug": "montmartre", "depth": 3, "name": "Montmartre"},
    }
    bad = await run(
        session, CREATE, {"input": {**new, "slug": "x y", "timezone": "Mars/Base"}}, principal=admin
    )
    assert bad["chapterCreate"]["__typename"] == "ValidationError"
    assert {f["field"] for f in bad["chapterCreate"]["fields"]} == {"slug", "timezone"}
    anon = await run(session, CREATE, {"input": {**new, "slug": "anon"}})
    assert anon["chapterCreate"]["__typename"] == "UnauthenticatedError"
    scoped = Principal.person(admin.person_id, scopes={"chapters:read"})  # type: ignore[arg-type]
    denied = await run(session, CREATE, {"input": {**new, "slug": "scoped"}}, principal=scoped)
    assert denied["chapterCreate"] == {
        "__typename": "ForbiddenError",
        "code": "insufficient_scope",
        "requiredScope": "chapters:write",
    }
    loop = await run(
        session,
        MOVE,
        {
            "input": {
                "id": to_global_id("Chapter", tree["france"].id),
                "parentId": to_global_id("Chapter", tree["paris"].id),
            }
        },
        principal=Principal.system(),
    )
    assert loop["chapterMove"]["__typename"] == "ValidationError"
    assert (await run(session, CHAPTER, {"slug": "france"}))["chapter"]["parent"] == {"slug": "net"}
    assert (await run(session, CHAPTER, {"slug": "scoped"}))["chapter"] is None
