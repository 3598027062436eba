"""Change feeds of every collection: a client that mirrors a collection through successive
`updated_since` calls ends up with exactly what a fresh full listing returns, deletions and
items hidden from it included, and never learns about items it could not see."""

from datetime import datetime
from typing import Any

import httpx
import pytest

from makesense_api.chapters import service as chapters
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.feeds import collections
from makesense_api.feeds.changes import Gone
from makesense_api.kit.clock import utcnow
from makesense_api.people import service as people
from makesense_api.programs import enrolments
from makesense_api.projects import contributions, needs
from tests.conftest import as_person
from tests.factories import Factory
from tests.gql import count_statements
from tests.test_rest_http import assert_problem, bearer

Tree = dict[str, ChapterView]
Item = dict[str, Any]
BEGINNING = "2000-01-01T00:00:00+00:00"


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


async def pages(client: httpx.AsyncClient, path: str, headers: dict[str, str],
                params: dict[str, Any]) -> list[Item]:
    """Every item of a collection, following `next_cursor` (small pages on purpose)."""
    items: list[Item] = []
    params = {"limit": 2, **params}
    while True:
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if body["next_cursor"] is None:
            return items
        params = {**params, "cursor": body["next_cursor"]}


class Mirror:
    """A client's copy of one collection, kept in step through the change feed."""

    def __init__(self, client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> None:
        self.client, self.path, self.headers = client, path, headers
        self.items: dict[str, Item] = {}
        self.since = BEGINNING
        self.gone: list[str] = []

    async def sync(self) -> list[Item]:
        """Apply the changes since the last sync; returns them."""
        started = utcnow().isoformat()
        changes = await pages(self.client, self.path, self.headers,
                              {"updated_since": self.since})
        self.gone = []
        for item in changes:
            if item.get("deleted") is True:
                self.items.pop(item["id"], None)
                self.gone.append(item["id"])
            else:
                self.items[item["id"]] = item
        self.since = started
        return changes

    async def assert_faithful(self) -> None:
        """The mirror equals a fresh full listing."""
        await self.sync()
        full = await pages(self.client, self.path, self.headers, {})
        assert self.items == {i["id"]: i for i in full}


async def token(factory: Factory, person: Any, *scopes: str, reach: Any = None) -> dict[str, str]:
    return bearer(await factory.token(person, set(scopes), reach))


# -- needs -----------------------------------------------------------------------------------


async def test_needs_mirror_through_edits_and_a_hidden_project(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    owner = await factory.member(tree["paris"])
    project = await factory.project(tree["paris"], owner)
    first = await factory.need(project.id)
    mirror = Mirror(client, f"/v1/projects/{project.id}/needs", {})
    await mirror.assert_faithful()
    assert list(mirror.items) == [str(first.id)]
    second = await factory.need(project.id, skill="cooking")
    await needs.update(factory.ctx, first.id, {"title": "Logo, in colour"})
    await needs.fill(factory.ctx, second.id)
    await mirror.assert_faithful()
    assert mirror.items[str(second.id)]["status"] == "filled"
    assert mirror.items[str(first.id)]["title"] == "Logo, in colour"
    quiet = await mirror.sync()
    assert quiet == []
    await chapters.update(factory.ctx, tree["paris"].id, {"status": "closed"})
    gone = await client.get(mirror.path, params={"updated_since": mirror.since})
    assert_problem(gone, 404, "not_found")


# -- contributions -----------------------------------------------------------------------------


async def test_contributions_mirror_withdrawals_and_a_lost_role(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    owner = await factory.member(tree["paris"])
    project = await factory.project(tree["paris"], owner)
    need = await factory.need(project.id)
    organizer = await factory.member(tree["paris"], "organizer")
    mirror = Mirror(client, "/v1/contributions",
                    await token(factory, organizer, "projects:write"))
    helpers = [await factory.member(tree["lyon"]) for _ in range(3)]
    offers = [
        await contributions.offer(as_person(factory.ctx.session, h, scopes={"projects:write"}),
                                  need.id, {"message": "I can help"})
        for h in helpers
    ]
    await mirror.assert_faithful()
    assert len(mirror.items) == 3
    await contributions.accept(factory.ctx, offers[0].id)
    mine = as_person(factory.ctx.session, helpers[1], scopes={"projects:write"})
    await contributions.withdraw(mine, offers[1].id)
    await mirror.assert_faithful()
    assert mirror.gone == [str(offers[1].id)]
    assert mirror.items[str(offers[0].id)]["status"] == "accepted"
    # Demoted to a plain member: nothing is theirs to see any more.
    await people.set_role(factory.ctx, tree["paris"].id, organizer, "member")
    await mirror.assert_faithful()
    assert mirror.items == {} and set(mirror.gone) == {str(offers[0].id), str(offers[2].id)}
    # A helper's own feed keeps their offer and never mentions the others.
    own = Mirror(client, "/v1/contributions", await token(factory, helpers[2], "projects:read"))
    await own.assert_faithful()
    assert list(own.items) == [str(offers[2].id)]


# -- enrolments --------------------------------------------------------------------------------


async def test_enrolments_mirror_and_an_ended_membership(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    program = await factory.program(tree["france"])
    organizer = await factory.member(tree["france"], "organizer")
    path = f"/v1/programs/{program.id}/enrolments"
    mirror = Mirror(client, path, await token(factory, organizer, "programs:write", "profile"))
    await mirror.assert_faithful()
    assert mirror.items == {}
    volunteers = [await factory.member(tree["paris"]) for _ in range(3)]
    enrolled = [
        await enrolments.enrol(factory.ctx, program.id, {"person_id": v}) for v in volunteers
    ]
    await mirror.assert_faithful()
    assert len(mirror.items) == 3
    await enrolments.drop(factory.ctx, enrolled[0].id)
    await enrolments.complete(factory.ctx, enrolled[1].id)
    await mirror.assert_faithful()
    assert [mirror.items[str(e.id)]["status"] for e in enrolled] == [
        "dropped", "completed", "enrolled"]
    # The organizer leaves France: every enrolment they saw is gone.
    await people.remove_member(factory.ctx, tree["france"].id, organizer)
    await mirror.assert_faithful()
    assert mirror.items == {} and len(mirror.gone) == 3


# -- people --------------------------------------------------------------------------------


async def test_people_mirror_joins_leaves_and_reach(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    organizer = await factory.member(tree["paris"], "organizer")
    mirror = Mirror(client, "/v1/people", await token(factory, organizer, "people:read"))
    ana = await factory.member(tree["paris"], email="ana@example.org")
    await mirror.assert_faithful()
    assert set(mirror.items) == {str(ana), str(organizer)}
    assert mirror.items[str(ana)]["email"] == "ana@example.org"
    # Someone known before joins Paris: their row did not change, they appear anyway.
    bea = await factory.person(display_name="Bea")
    await factory.member(tree["lagos"])
    await people.set_role(factory.ctx, tree["batignolles"].id, bea, "member")
    await people.update(factory.ctx, ana, {"city": "Paris"})
    await mirror.assert_faithful()
    assert str(bea) in mirror.items and mirror.items[str(ana)]["city"] == "Paris"
    # Ana leaves: she is out of the organizer's reach and marked gone.
    await people.remove_member(factory.ctx, tree["paris"].id, ana)
    await mirror.assert_faithful()
    assert mirror.gone == [str(ana)]
    # A token restricted to Lyon sees only the organizer themself and nothing of Paris.
    lyon = Mirror(client, "/v1/people", await token(
        factory, organizer, "people:read", "profile", reach=[tree["lyon"].id]))
    await lyon.assert_faithful()
    assert set(lyon.items) <= {str(organizer)}
    assert str(ana) not in lyon.gone and str(bea) not in lyon.items


async def test_people_feed_reveals_nothing_to_other_chapters(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    lagos = await factory.member(tree["lagos"], "organizer")
    mirror = Mirror(client, "/v1/people", await token(factory, lagos, "people:read"))
    await mirror.assert_faithful()
    since = mirror.since
    ana = await factory.member(tree["paris"])
    await people.remove_member(factory.ctx, tree["paris"].id, ana)
    changes = await pages(client, "/v1/people", mirror.headers, {"updated_since": since})
    assert changes == []
    assert_problem(await client.get("/v1/people", params={"updated_since": since}),
                   401, "unauthenticated")


# -- chapter members -------------------------------------------------------------------------


async def test_members_mirror_through_roles_and_removals(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    organizer = await factory.member(tree["france"], "organizer")
    mirror = Mirror(client, "/v1/chapters/paris/members",
                    await token(factory, organizer, "people:read"))
    ana = await factory.member(tree["paris"])
    bea = await factory.member(tree["paris"])
    await mirror.assert_faithful()
    assert {m["person_id"] for m in mirror.items.values()} == {str(ana), str(bea)}
    await people.set_role(factory.ctx, tree["paris"].id, ana, "organizer")
    await people.remove_member(factory.ctx, tree["paris"].id, bea)
    await factory.member(tree["lyon"])
    await mirror.assert_faithful()
    assert [m["role"] for m in mirror.items.values()] == ["organizer"]
    assert len(mirror.gone) == 1


# -- projects, with the shared reader ------------------------------------------------------------


async def test_projects_mirror_hides_a_closed_chapters_projects(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    owner = await factory.member(tree["lyon"])
    mirror = Mirror(client, "/v1/projects", {})
    await mirror.assert_faithful()
    lyon = await factory.project(tree["lyon"], owner)
    await factory.project(tree["lyon"], owner, publish=False)
    paris = await factory.project(tree["paris"], owner)
    await mirror.assert_faithful()
    assert set(mirror.items) == {str(lyon.id), str(paris.id)}
    await chapters.update(factory.ctx, tree["lyon"].id, {"status": "closed"})
    await mirror.assert_faithful()
    assert mirror.gone == [str(lyon.id)]


# -- the shared reader, at the service level ------------------------------------------------------


async def test_feed_pages_cost_the_same_whatever_their_size(system: Ctx, factory: Factory,
                                                           tree: Tree) -> None:
    organizer = await factory.member(tree["paris"], "organizer")
    for _ in range(12):
        await factory.member(tree["paris"])
    ctx = as_person(system.session, organizer, scopes={"people:read"})
    since = datetime(2000, 1, 1).astimezone()

    async def statements(limit: int) -> int:
        with count_statements(system.session) as seen:
            page = await collections.people_changes(ctx, since, limit=limit)
        assert len(page.items) == limit and not any(isinstance(i, Gone) for i in page.items)
        return len(seen)

    assert await statements(2) == await statements(12)


async def test_feed_cursors_never_skip_nor_repeat(system: Ctx, factory: Factory,
                                                 tree: Tree) -> None:
    owner = await factory.member(tree["paris"])
    project = await factory.project(tree["paris"], owner)
    made = [await factory.need(project.id) for _ in range(5)]
    since = datetime(2000, 1, 1).astimezone()
    seen: list[Any] = []
    cursor = None
    while True:
        page = await collections.need_changes(system, project.id, since, cursor, 2)
        seen += [n.id for n in page.items]
        if not page.has_next:
            break
        cursor = page.end_cursor
    assert seen == [n.id for n in made]


async def test_nested_feeds_take_no_other_filter(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    owner = await factory.member(tree["paris"])
    project = await factory.project(tree["paris"], owner)
    organizer = await token(factory, await factory.member(tree["paris"], "organizer"),
                            "people:read", "projects:write")
    for path, extra in [
        (f"/v1/projects/{project.id}/needs", {"status": "open"}),
        ("/v1/contributions", {"status": "offered"}),
        ("/v1/people", {"skill": "cooking"}),
        ("/v1/chapters/paris/members", {"role": "admin"}),
    ]:
        response = await client.get(path, headers=organizer,
                                    params={"updated_since": BEGINNING, **extra})
        body = assert_problem(response, 422, "validation_failed")
        assert body["errors"][0]["field"] == next(iter(extra)), path
        naive = await client.get(path, headers=organizer,
                                 params={"updated_since": "2026-01-01T00:00:00"})
        assert_problem(naive, 422, "validation_failed")
    forged = await client.get("/v1/people", headers=organizer,
                              params={"updated_since": BEGINNING, "cursor": "bm9wZQ"})
    assert assert_problem(forged, 422, "validation_failed")["errors"][0]["field"] == "cursor"
