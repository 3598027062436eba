"""Compiled plans (graphql/compiled.py): a document that ran once without errors runs from its
plan afterwards, and a plan answers exactly what the full path answers, for every caller."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from starlette.routing import Route

from makesense_api.app import create_app
from makesense_api.config import Settings
from makesense_api.graphql.compiled import Plans
from makesense_api.graphql.relay import to_global_id
from makesense_api.graphql.view import GraphQLView
from makesense_api.kit.db import Database
from tests.factories import Factory

GQL = {"Accept": "application/graphql-response+json"}

LIST = """query Upcoming($country: String, $first: Int) {
  events(filter: {country: $country}, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        __typename id title startsAt seatsTaken seatsLeft capacity causes format status
        venue { name address } location { latitude longitude }
        hostChapter { name city slug parent { slug } }
        cohosts { slug }
        ...Times
        ... on Node { id }
        again: title
      }
    }
  }
}
fragment Times on Event { endsAt timezone }"""

SITE = """query($slug: String!) {
  chapter(slug: $slug) {
    name language contacts { kind value private }
    events(first: 10) { edges { node { title seatsLeft hostChapter { slug } } } }
  }
}"""

NODE = """query($id: ID!) { node(id: $id) { __typename ... on Event { title status } } }"""
SKIPPED = """query($skip: Boolean!) { events { edges { node { title @skip(if: $skip) } } } }"""


@pytest.fixture
async def served(
    settings: Settings, app_database: Database
) -> AsyncIterator[tuple[httpx.AsyncClient, Plans]]:
    app = create_app(settings.model_copy(update={"ratelimit_enabled": False}), app_database)
    view = next(r.endpoint for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    assert isinstance(view, GraphQLView)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c, view.plans


class Counting:
    """Counts the requests a view answered from a plan."""

    def __init__(self, plans: Plans, monkeypatch: pytest.MonkeyPatch) -> None:
        self.compiled = 0
        run = plans.run

        async def counted(*args: Any, **kwargs: Any) -> Any:
            result = await run(*args, **kwargs)
            self.compiled += result is not None
            return result

        monkeypatch.setattr(plans, "run", counted)


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> httpx.Response:
    headers = dict(GQL)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


async def world(factory: Factory) -> dict[str, Any]:
    root = await factory.root(slug="net")
    france = await factory.chapter(root, slug="france", kind="country", country_code="FR")
    paris = await factory.chapter(
        france, slug="paris", city="Paris", country_code="FR",
        contacts=[{"kind": "email", "value": "paris@example.org"},
                  {"kind": "whatsapp", "value": "https://chat.example.org/p", "private": True}],
    )
    lyon = await factory.chapter(france, slug="lyon", city="Lyon", country_code="FR")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    events = []
    for n, (host, extra) in enumerate([
        (paris, {"capacity": 10, "causes": [13, 4], "cohost_ids": [lyon.id]}),
        (lyon, {"latitude": 45.76, "longitude": 4.83}),
        (paris, {"visibility": "members", "title": "Members only"}),
        (paris, {"capacity": 5}),
    ]):
        at = start + timedelta(hours=n)
        events.append(await factory.event(host, starts_at=at, ends_at=at + timedelta(hours=2),
                                          **extra))
    draft = await factory.event(paris, publish=False, title="Draft plan")
    return {"paris": paris, "lyon": lyon, "events": events, "draft": draft}


async def twice(
    client: httpx.AsyncClient, counting: Counting, query: str,
    variables: dict[str, Any] | None = None, token: str | None = None,
) -> tuple[httpx.Response, httpx.Response]:
    """The same request until it runs from a plan (a document is compiled after two runs on
    the full path); the first answer and the compiled one."""
    first = await post(client, query, variables, token)
    await post(client, query, variables, token)
    before = counting.compiled
    second = await post(client, query, variables, token)
    assert counting.compiled == before + 1, "the second request did not run from a plan"
    return first, second


async def test_a_plan_answers_what_the_full_path_answers(
    served: tuple[httpx.AsyncClient, Plans], factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, plans = served
    counting = Counting(plans, monkeypatch)
    await world(factory)
    for query, variables in (
        (LIST, {"country": "FR", "first": 3}),
        (LIST, {"country": "FR", "first": 2}),
        (SITE, {"slug": "paris"}),
    ):
        full, compiled = await twice(client, counting, query, variables)
        assert full.status_code == compiled.status_code == 200
        assert full.json() == compiled.json()
        assert "errors" not in full.json()
    listed = full.json()  # the last: the chapter page
    assert [c["kind"] for c in listed["data"]["chapter"]["contacts"]] == ["email"]
    first_page = (await post(client, LIST, {"country": "FR", "first": 3})).json()
    edges = first_page["data"]["events"]["edges"]
    assert [e["node"]["title"] for e in edges][0:1] and len(edges) == 3
    assert edges[0]["node"]["causes"] == [4, 13] and edges[0]["node"]["cohosts"] == [
        {"slug": "lyon"}
    ]
    assert first_page["extensions"]["cost"]["requested"] > 1


async def test_a_plan_keeps_every_callers_visibility(
    served: tuple[httpx.AsyncClient, Plans], factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, plans = served
    counting = Counting(plans, monkeypatch)
    places = await world(factory)
    organizer = await factory.member(places["paris"], "organizer")
    token = await factory.token(organizer, ["events:read", "chapters:read"])
    query = """query($first: Int) { events(filter: {status: null}, first: $first) {
      edges { node { title status checkInCode hostChapter { contacts { kind } } } } } }"""
    # The organizer's requests compile the document; the anonymous caller then runs the plan.
    full, compiled = await twice(client, counting, query, {"first": 20}, token)
    assert full.json() == compiled.json()
    seen_by_organizer = {e["node"]["title"] for e in compiled.json()["data"]["events"]["edges"]}
    assert {"Draft plan", "Members only"} <= seen_by_organizer
    before = counting.compiled
    anonymous = await post(client, query, {"first": 20})
    assert counting.compiled == before + 1
    nodes = [e["node"] for e in anonymous.json()["data"]["events"]["edges"]]
    assert {n["title"] for n in nodes}.isdisjoint({"Draft plan", "Members only"})
    assert all(n["checkInCode"] is None and n["status"] == "PUBLISHED" for n in nodes)
    assert all(c["kind"] != "whatsapp" for n in nodes for c in n["hostChapter"]["contacts"])
    # ... and the organizer still sees everything through the same plan.
    again = await post(client, query, {"first": 20}, token)
    assert again.json() == compiled.json()


async def test_failures_are_answered_by_the_full_path(
    served: tuple[httpx.AsyncClient, Plans], factory: Factory, monkeypatch: pytest.MonkeyPatch,
    settings: Settings, app_database: Database,
) -> None:
    client, plans = served
    counting = Counting(plans, monkeypatch)
    places = await world(factory)
    await twice(client, counting, LIST, {"country": "FR", "first": 2})
    expensive = """query($first: Int) { events(first: $first) { edges { node {
      registrations(first: $first) { edges { node { id } } } } } } }"""
    await twice(client, counting, expensive, {"first": 2})
    # Once compiled, a request that fails is answered as a fresh server answers it.
    fresh = create_app(settings.model_copy(update={"ratelimit_enabled": False}), app_database)
    async with LifespanManager(fresh) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
            for query, variables in (
                (LIST, {"country": "FR", "first": 500}),  # a resolver refuses the page size
                (LIST, {"country": "FR", "first": "many"}),  # variables do not coerce
                (expensive, {"first": 100}),  # over the cost budget
            ):
                compiled = await post(client, query, variables)
                reference = await post(other, query, variables)
                assert compiled.status_code == reference.status_code
                body, expected = compiled.json(), reference.json()
                for answer in (body, expected):
                    for error in answer.get("errors", []):
                        error.get("extensions", {}).pop("request_id", None)
                assert body == expected and "errors" in body
    event_id = to_global_id("Event", places["events"][0].id)
    # Interfaces (node) and directives are left to the full path, and still answer.
    for query, variables in ((NODE, {"id": event_id}), (SKIPPED, {"skip": True})):
        before = counting.compiled
        for _ in range(3):
            response = await post(client, query, variables)
            assert response.status_code == 200 and "errors" not in response.json()
        assert counting.compiled == before
    assert (await post(client, NODE, {"id": event_id})).json()["data"]["node"]["title"]


async def test_an_unexpected_failure_is_logged_and_answered_by_the_full_path(
    served: tuple[httpx.AsyncClient, Plans], factory: Factory, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, plans = served
    counting = Counting(plans, monkeypatch)
    await world(factory)
    query = "{ events(first: 2) { edges { node { title hostChapter { name } } } } }"
    _, compiled = await twice(client, counting, query)
    assert "errors" not in compiled.json()

    async def broken(*_: Any) -> Any:
        raise RuntimeError("the chapter store is down")

    monkeypatch.setattr("makesense_api.chapters.service.get_many", broken)
    with caplog.at_level("WARNING", logger="makesense_api.graphql"):
        answer = (await post(client, query)).json()
    # The full path's answer: data with the failed field nulled, the error masked.
    assert [e["node"]["hostChapter"] for e in answer["data"]["events"]["edges"]] == [None, None]
    assert {e["extensions"]["code"] for e in answer["errors"]} == {"INTERNAL_SERVER_ERROR"}
    assert "the chapter store is down" not in str(answer)
    gave_way = [r for r in caplog.records if r.getMessage().startswith("compiled plan gave way")]
    assert len(gave_way) == 1 and "the chapter store is down" in str(gave_way[0].exc_info)


async def test_after_a_database_error_the_full_path_reads_afresh(
    served: tuple[httpx.AsyncClient, Plans], factory: Factory, monkeypatch: pytest.MonkeyPatch,
    app_database: Database,
) -> None:
    if app_database.dialect == "postgresql":
        # Requests here commit into savepoints of the test's transaction, and a savepoint
        # cannot stand for a request transaction rolled back after a failed statement.
        pytest.skip("needs a request transaction of its own (checked by hand on PostgreSQL)")
    client, plans = served
    counting = Counting(plans, monkeypatch)
    await world(factory)
    query = "{ events(first: 2) { edges { node { title hostChapter { name } } } } }"
    await twice(client, counting, query)

    async def failing(ctx: Any, ids: Any) -> Any:
        await ctx.session.exec(text("SELECT * FROM no_such_table"))

    monkeypatch.setattr("makesense_api.chapters.service.get_many", failing)
    answer = (await post(client, query)).json()
    # The events are read again by the full path, only the chapters are missing (PostgreSQL
    # refuses every statement of a transaction after a failed one: it is rolled back first).
    edges = answer["data"]["events"]["edges"]
    assert len(edges) == 2 and all(e["node"]["title"] for e in edges)
    assert [e["node"]["hostChapter"] for e in edges] == [None, None]
