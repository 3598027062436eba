"""Chapter writes and chapter members through REST, with allowed and denied callers."""

from typing import Any

import httpx
import pytest

from makesense_api.chapters.schemas import ChapterView
from tests.factories import Factory
from tests.test_rest_http import assert_problem, bearer

Tree = dict[str, ChapterView]


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


async def as_member(factory: Factory, chapter: ChapterView, role: str, *scopes: str,
                    reach: Any = None) -> dict[str, str]:
    person = await factory.member(chapter, role)
    return bearer(await factory.token(person, set(scopes), reach))


def new_chapter(parent: ChapterView, slug: str = "marais", **overrides: Any) -> dict[str, Any]:
    return {"slug": slug, "name": "Le Marais", "default_language": "fr", "kind": "neighbourhood",
            "parent_id": str(parent.id), "timezone": "Europe/Paris", **overrides}


# -- chapters ------------------------------------------------------------------------------


async def test_create_a_chapter_under_one_the_caller_administers(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    admin = await as_member(factory, tree["paris"], "admin", "chapters:write")
    retry = {**admin, "Idempotency-Key": "marais-1"}
    created = await client.post("/v1/chapters", json=new_chapter(tree["paris"]), headers=retry)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/chapters/marais"
    assert (created.json()["depth"], created.json()["parent_id"]) == (4, str(tree["paris"].id))
    replayed = await client.post("/v1/chapters", json=new_chapter(tree["paris"]), headers=retry)
    assert replayed.status_code == 201 and replayed.json()["id"] == created.json()["id"]
    taken = await client.post("/v1/chapters", json=new_chapter(tree["paris"]), headers=admin)
    assert assert_problem(taken, 422, "validation_failed")["errors"][0]["field"] == "slug"
    assert (await client.get("/v1/chapters/marais")).status_code == 200
    # Denied: elsewhere, without the scope, anonymously, under an unknown parent.
    lyon = await client.post("/v1/chapters", json=new_chapter(tree["lyon"], "croix-rousse"),
                             headers=admin)
    assert_problem(lyon, 403, "forbidden")
    reader = await as_member(factory, tree["paris"], "admin", "chapters:read")
    denied = await client.post("/v1/chapters", json=new_chapter(tree["paris"], "x1"),
                               headers=reader)
    assert_problem(denied, 403, "insufficient_scope")
    assert "insufficient_scope" in denied.headers["www-authenticate"]
    assert_problem(await client.post("/v1/chapters", json=new_chapter(tree["paris"], "x2")),
                   401, "unauthenticated")
    orphan = new_chapter(tree["paris"], "x3", parent_id="00000000-0000-7000-8000-000000000000")
    body = assert_problem(await client.post("/v1/chapters", json=orphan, headers=admin),
                          422, "validation_failed")
    assert body["errors"][0]["field"] == "parent_id"


async def test_edit_with_etags(client: httpx.AsyncClient, factory: Factory, tree: Tree) -> None:
    admin = await as_member(factory, tree["france"], "admin", "chapters:write")
    current = await client.get("/v1/chapters/lyon", headers=admin)
    etag = current.headers["etag"]
    edited = await client.patch("/v1/chapters/lyon", json={"city": "Lyon 1er"},
                                headers={**admin, "If-Match": etag})
    assert edited.status_code == 200, edited.text
    assert edited.json()["city"] == "Lyon 1er" and edited.headers["etag"] != etag
    stale = await client.patch("/v1/chapters/lyon", json={"city": "Lyon 2e"},
                               headers={**admin, "If-Match": etag})
    assert_problem(stale, 412, "precondition_failed")
    same = await client.get("/v1/chapters/lyon", headers={**admin,
                                                          "If-None-Match": edited.headers["etag"]})
    assert same.status_code == 304
    invalid = await client.patch("/v1/chapters/lyon", json={"timezone": "Mars/Olympus"},
                                 headers=admin)
    assert assert_problem(invalid, 422, "validation_failed")["errors"][0]["field"] == "timezone"
    lagos = await as_member(factory, tree["lagos"], "admin", "chapters:write")
    assert_problem(await client.patch("/v1/chapters/lyon", json={"city": "x"}, headers=lagos),
                   403, "forbidden")
    assert_problem(await client.patch("/v1/chapters/atlantis", json={"city": "x"},
                                      headers=admin), 404, "not_found")


async def test_move_and_close(client: httpx.AsyncClient, factory: Factory, tree: Tree) -> None:
    network = await as_member(factory, tree["root"], "admin", "chapters:write")
    moved = await client.post("/v1/chapters/batignolles/move",
                              json={"parent_id": str(tree["lyon"].id)}, headers=network)
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] == str(tree["lyon"].id)
    loop = await client.post("/v1/chapters/france/move",
                             json={"parent_id": str(tree["lyon"].id)}, headers=network)
    assert assert_problem(loop, 422, "validation_failed")["errors"][0]["field"] == "parent_id"
    paris_admin = await as_member(factory, tree["paris"], "admin", "chapters:write")
    away = await client.post("/v1/chapters/paris/move",
                             json={"parent_id": str(tree["africa"].id)}, headers=paris_admin)
    assert_problem(away, 403, "forbidden")
    closed = await client.post("/v1/chapters/lyon/close", headers=network)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert_problem(await client.get("/v1/chapters/lyon"), 404, "not_found")
    assert (await client.get("/v1/chapters/lyon", headers=network)).status_code == 200
    assert_problem(await client.post("/v1/chapters/paris/close", headers=await as_member(
        factory, tree["paris"], "organizer", "chapters:write")), 403, "forbidden")


# -- members ---------------------------------------------------------------------------------


async def test_members_for_organizers_and_admins(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    ana = await factory.member(tree["paris"])
    organizer = await as_member(factory, tree["france"], "organizer", "people:read")
    listed = await client.get("/v1/chapters/paris/members", headers=organizer)
    assert listed.status_code == 200, listed.text
    assert [m["person_id"] for m in listed.json()["items"]] == [str(ana)]
    assert_problem(await client.get("/v1/chapters/paris/members"), 401, "unauthenticated")
    member = bearer(await factory.token(ana, {"people:read"}))
    assert_problem(await client.get("/v1/chapters/paris/members", headers=member),
                   403, "forbidden")
    lagos = await as_member(factory, tree["lagos"], "organizer", "people:read",
                            reach=[tree["lagos"].id])
    assert_problem(await client.get("/v1/chapters/paris/members", headers=lagos),
                   404, "not_found")
    admin_id = await factory.member(tree["paris"], "admin")
    admin = bearer(await factory.token(admin_id, {"chapters:write", "people:read"}))
    stranger = await factory.member(tree["lyon"])
    unseen = await client.post("/v1/chapters/paris/members", json={"person_id": str(stranger)},
                               headers=admin)
    assert assert_problem(unseen, 422, "validation_failed")["errors"][0]["field"] == "person_id"
    bea = await factory.member(tree["batignolles"])
    added = await client.post("/v1/chapters/paris/members",
                              json={"person_id": str(bea), "role": "organizer"}, headers=admin)
    assert added.status_code == 201, added.text
    assert added.json()["role"] == "organizer"
    url = f"/v1/chapters/paris/members/{bea}"
    current = await client.get(url, headers=admin)
    assert current.status_code == 200
    demoted = await client.patch(url, json={"role": "member"},
                                 headers={**admin, "If-Match": current.headers["etag"]})
    assert demoted.json()["role"] == "member"
    stale = await client.patch(url, json={"role": "admin"},
                               headers={**admin, "If-Match": current.headers["etag"]})
    assert_problem(stale, 412, "precondition_failed")
    assert_problem(await client.patch(url, json={"role": "boss"}, headers=admin),
                   422, "validation_failed")
    assert_problem(await client.post("/v1/chapters/paris/members", headers=organizer,
                                     json={"person_id": str(bea)}), 403, "insufficient_scope")
    gone = await client.delete(url, headers=admin)
    assert gone.status_code == 204
    assert_problem(await client.get(url, headers=admin), 404, "not_found")
    last = await client.delete(f"/v1/chapters/paris/members/{admin_id}", headers=admin)
    assert_problem(last, 409, "conflict")
    roles = await client.get("/v1/chapters/paris/members", params={"role": "admin"},
                             headers=admin)
    assert [m["person_id"] for m in roles.json()["items"]] == [str(admin_id)]
