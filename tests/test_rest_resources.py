"""Every REST resource kind through HTTP, with allowed and denied callers.

Denied cases follow the access model: invisible objects are 404, a missing identity is 401, a
missing scope or role on a visible object is 403.
"""

import uuid
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


# -- chapters ------------------------------------------------------------------------------


async def test_chapters_visibility_reach_and_private_contacts(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    from makesense_api.chapters import service as chapters

    marais = await factory.chapter(
        tree["paris"], slug="marais",
        contacts=[{"kind": "whatsapp", "value": "https://chat", "private": True},
                  {"kind": "email", "value": "marais@example.org"}],
    )
    await chapters.update(factory.ctx, marais.id, {"status": "closed"})
    anonymous = await client.get("/v1/chapters", params={"subtree": "paris"})
    assert [c["slug"] for c in anonymous.json()["items"]] == ["batignolles", "paris"]
    assert_problem(await client.get("/v1/chapters/marais"), 404, "not_found")
    admin = await as_member(factory, tree["paris"], "admin", "chapters:write")
    seen = await client.get("/v1/chapters/marais", headers=admin)
    assert seen.status_code == 200
    assert [c["kind"] for c in seen.json()["contacts"]] == ["whatsapp", "email"]
    lagos_only = await as_member(factory, tree["paris"], "member", "chapters:read",
                                 reach=[tree["lagos"].id])
    listed = await client.get("/v1/chapters", headers=lagos_only)
    assert [c["slug"] for c in listed.json()["items"]] == ["lagos"]
    assert (await client.get("/v1/chapters/paris", headers=lagos_only)).status_code == 404
    by_country = await client.get("/v1/chapters", params={"country": "NG"})
    assert [c["slug"] for c in by_country.json()["items"]] == ["lagos"]


# -- events --------------------------------------------------------------------------------


def new_event(chapter: ChapterView, **overrides: Any) -> dict[str, Any]:
    return {
        "chapter_id": str(chapter.id), "title": "Repair café", "format": "in_person",
        "venue_name": "La Ruche", "timezone": "Europe/Paris", "language": "fr",
        "starts_at": "2031-03-01T18:00", "ends_at": "2031-03-01T20:00", "capacity": 1,
        "waitlist_enabled": False, **overrides,
    }


async def test_event_life_cycle_for_its_organizers(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    organizer = await as_member(factory, tree["france"], "organizer", "events:write")
    created = await client.post("/v1/events", json=new_event(tree["paris"]), headers=organizer)
    assert created.status_code == 201, created.text
    event = created.json()
    assert created.headers["location"] == f"/v1/events/{event['id']}"
    assert (event["status"], event["starts_local"]) == ("draft", "2031-03-01T18:00:00+01:00")
    url = f"/v1/events/{event['id']}"
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers=organizer)).status_code == 200
    published = await client.post(url + "/publish", headers=organizer)
    assert published.json()["status"] == "published"
    assert published.json()["check_in_code"]
    public = (await client.get(url)).json()
    assert public["check_in_code"] is None and public["sequence"] >= 1
    assert_problem(await client.post(url + "/publish", headers=organizer), 409, "conflict")
    cancelled = await client.post(url + "/cancel", headers=organizer)
    assert cancelled.json()["status"] == "cancelled"


async def test_events_denied_to_other_chapters_and_reach(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    draft = await factory.event(tree["paris"], publish=False)
    url = f"/v1/events/{draft.id}"
    lagos = await as_member(factory, tree["lagos"], "organizer", "events:write")
    assert_problem(await client.get(url, headers=lagos), 404, "not_found")
    assert_problem(await client.patch(url, json={"title": "x"}, headers=lagos), 404, "not_found")
    assert_problem(
        await client.post("/v1/events", json=new_event(tree["paris"]), headers=lagos),
        403, "forbidden",
    )
    reached = await as_member(factory, tree["france"], "organizer", "events:write",
                              reach=[tree["lyon"].id])
    assert_problem(await client.post(url + "/publish", headers=reached), 404, "not_found")
    paris = await as_member(factory, tree["paris"], "organizer", "events:read")
    assert_problem(await client.post(url + "/publish", headers=paris), 403, "insufficient_scope")


async def test_event_search_filters(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    online = await factory.event(tree["lyon"], format="online", venue_name=None,
                                 online_url="https://meet", causes=[13])
    await factory.event(tree["lagos"], timezone="Africa/Lagos")
    found = await client.get("/v1/events", params={"chapter_id": str(tree["france"].id),
                                                   "format": "online", "cause": 13})
    assert [e["id"] for e in found.json()["items"]] == [str(online.id)]
    assert found.json()["items"][0]["online_url"] is None
    lagos = await client.get("/v1/events", params={"country": "NG"})
    assert len(lagos.json()["items"]) == 1
    partial = await client.get("/v1/events", params={"near_lat": 48.8})
    assert_problem(partial, 422, "validation_failed")


async def test_registrations_for_people_and_organizers(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    event = await factory.event(tree["paris"], capacity=1, waitlist_enabled=False)
    url = f"/v1/events/{event.id}/registrations"
    assert_problem(await client.post(url), 401, "unauthenticated")
    person = await factory.member(tree["paris"])
    me = bearer(await factory.token(person, {"registrations:write", "profile"}))
    registered = await client.post(url, headers=me)
    assert registered.status_code == 201, registered.text
    registration = registered.json()
    assert registration["status"] == "registered"
    again = await client.post(url, headers=me)
    assert again.json()["id"] == registration["id"]
    other = bearer(await factory.token(await factory.member(tree["paris"]),
                                       {"registrations:write"}))
    assert_problem(await client.post(url, headers=other), 409, "capacity_full")
    # Attendee lists: the host chapter's organizers only.
    organizer = await as_member(factory, tree["paris"], "organizer", "registrations:write")
    listed = await client.get(url, headers=organizer)
    assert [r["id"] for r in listed.json()["items"]] == [registration["id"]]
    lagos = await as_member(factory, tree["lagos"], "organizer", "registrations:write")
    assert_problem(await client.get(url, headers=lagos), 404, "not_found")
    assert_problem(await client.get(url, headers=me), 404, "not_found")
    reg_url = f"/v1/registrations/{registration['id']}"
    assert (await client.get(reg_url, headers=me)).status_code == 200
    assert_problem(await client.get(reg_url, headers=lagos), 404, "not_found")
    assert_problem(await client.post(reg_url + "/check-in", headers=me), 403, "forbidden")
    mine = await client.get("/v1/me/registrations", headers=me)
    assert [r["id"] for r in mine.json()["items"]] == [registration["id"]]
    assert_problem(await client.get("/v1/me/registrations"), 401, "unauthenticated")
    cancelled = await client.post(reg_url + "/cancel", headers=me)
    assert cancelled.json()["status"] == "cancelled"
    seated = await client.post(url, headers=other)
    assert seated.json()["status"] == "registered"
    checked = await client.post(
        f"/v1/registrations/{seated.json()['id']}/check-in", json={"status": "no_show"},
        headers=organizer,
    )
    assert checked.json()["status"] == "no_show"


# -- projects ------------------------------------------------------------------------------


async def test_projects_needs_and_contributions(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    owner = await factory.member(tree["paris"])
    owner_auth = bearer(await factory.token(owner, {"projects:write"}))
    created = await client.post("/v1/projects", headers=owner_auth, json={
        "slug": "compost", "title": "Compost", "default_language": "fr",
        "home_chapter_id": str(tree["paris"].id), "causes": [11, 12],
    })
    assert created.status_code == 201, created.text
    project = created.json()
    url = f"/v1/projects/{project['id']}"
    assert_problem(await client.get(url), 404, "not_found")
    assert (await client.post(url + "/publish", headers=owner_auth)).status_code == 200
    assert (await client.get(url)).json()["status"] == "published"
    need = await client.post(url + "/needs", json={"skill": "Design", "title": "Logo"},
                             headers=owner_auth)
    assert need.status_code == 201 and need.json()["skill"] == "design"
    stranger = bearer(await factory.token(await factory.member(tree["lagos"]),
                                          {"projects:write"}))
    assert_problem(
        await client.post(url + "/needs", json={"skill": "x", "title": "y"}, headers=stranger),
        403, "forbidden",
    )
    assert [n["title"] for n in (await client.get(url + "/needs")).json()["items"]] == ["Logo"]
    offer = await client.post(f"/v1/needs/{need.json()['id']}/contributions",
                              json={"message": "I can help"}, headers=stranger)
    assert offer.status_code == 201, offer.text
    contribution = f"/v1/contributions/{offer.json()['id']}"
    assert_problem(await client.get(contribution), 404, "not_found")
    assert_problem(await client.post(contribution + "/accept", headers=stranger), 403, "forbidden")
    accepted = await client.post(contribution + "/accept", headers=owner_auth)
    assert accepted.json()["status"] == "accepted"
    done = await client.post(contribution + "/complete", json={"hours": 3}, headers=owner_auth)
    assert done.json()["hours"] == 3
    listed = await client.get("/v1/contributions", params={"project_id": project["id"]},
                              headers=owner_auth)
    assert [c["status"] for c in listed.json()["items"]] == ["done"]


# -- programs ------------------------------------------------------------------------------


async def test_programs_and_enrolments(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    program = await factory.program(tree["france"])
    url = f"/v1/programs/{program.id}"
    public = (await client.get(url)).json()
    assert public["private_links"] is None
    person = await factory.member(tree["paris"])
    me = bearer(await factory.token(person, {"programs:write"}))
    enrolled = await client.post(url + "/enrolments", headers=me)
    assert enrolled.status_code == 201, enrolled.text
    assert (await client.get(url, headers=me)).json()["private_links"]
    organizer = await as_member(factory, tree["france"], "organizer", "programs:write")
    listed = await client.get(url + "/enrolments", headers=organizer)
    assert [e["person_id"] for e in listed.json()["items"]] == [str(person)]
    lagos = await as_member(factory, tree["lagos"], "organizer", "programs:read")
    assert (await client.get(url + "/enrolments", headers=lagos)).json()["items"] == []
    assert_problem(await client.get(url + "/enrolments"), 401, "unauthenticated")
    enrolment = f"/v1/enrolments/{enrolled.json()['id']}"
    assert_problem(await client.post(enrolment + "/complete", headers=me), 403, "forbidden")
    dropped = await client.post(enrolment + "/drop", headers=me)
    assert dropped.json()["status"] == "dropped"
    draft = await factory.program(tree["france"], publish=False)
    assert_problem(await client.get(f"/v1/programs/{draft.id}"), 404, "not_found")


# -- people --------------------------------------------------------------------------------


async def test_people_are_scoped_to_organizers(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    member = await factory.member(tree["paris"], email="ana@example.org")
    organizer = await as_member(factory, tree["france"], "organizer", "people:write")
    seen = await client.get(f"/v1/people/{member}", headers=organizer)
    assert seen.json()["email"] == "ana@example.org"
    listed = await client.get("/v1/people", params={"chapter_id": str(tree["paris"].id)},
                              headers=organizer)
    assert str(member) in [p["id"] for p in listed.json()["items"]]
    lagos = await as_member(factory, tree["lagos"], "organizer", "people:read")
    assert_problem(await client.get(f"/v1/people/{member}", headers=lagos), 404, "not_found")
    no_scope = await as_member(factory, tree["paris"], "organizer", "events:read")
    assert_problem(await client.get("/v1/people", headers=no_scope), 403, "insufficient_scope")
    assert_problem(await client.get(f"/v1/people/{member}"), 404, "not_found")
    registered = await client.post("/v1/people", headers=organizer, json={
        "display_name": "Bea", "home_chapter_id": str(tree["lyon"].id)})
    assert registered.status_code == 201, registered.text
    assert_problem(
        await client.post("/v1/people", headers=lagos, json={
            "display_name": "Bea", "home_chapter_id": str(tree["lyon"].id)}),
        403, "insufficient_scope",
    )


async def test_me(client: httpx.AsyncClient, factory: Factory, tree: Tree) -> None:
    assert_problem(await client.get("/v1/me"), 401, "unauthenticated")
    person = await factory.member(tree["paris"])
    me = await client.get("/v1/me", headers=bearer(
        await factory.token(person, {"profile"}, [tree["paris"].id])))
    body = me.json()
    assert (body["person"]["id"], body["scopes"], body["reach"]) == (
        str(person), ["profile"], [str(tree["paris"].id)])
    bare = await client.get("/v1/me", headers=bearer(await factory.token(person, {"events:read"})))
    assert bare.json()["person"] is None


# -- impact --------------------------------------------------------------------------------


async def test_impact_reports_and_goals(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    params = {"chapter_id": str(tree["france"].id), "start": "2026-01-01T00:00:00Z",
              "end": "2027-01-01T00:00:00Z"}
    report = await client.get("/v1/impact/report", params=params)
    assert report.status_code == 200, report.text
    assert [p["label"] for p in report.json()["periods"]] == ["2026-H1", "2026-H2"]
    detail = {**params, "detail": "true"}
    assert_problem(await client.get("/v1/impact/report", params=detail), 401, "unauthenticated")
    member = await as_member(factory, tree["france"], "member", "impact:read")
    assert (await client.get("/v1/impact/report", params=detail, headers=member)
            ).json()["detailed"] is True
    lagos = await as_member(factory, tree["lagos"], "member", "impact:read")
    assert_problem(await client.get("/v1/impact/report", params=detail, headers=lagos),
                   403, "forbidden")
    goal = {"chapter_id": str(tree["france"].id), "target": 1000,
            "starts_at": "2026-01-01T00:00:00Z", "deadline": "2031-01-01T00:00:00Z"}
    admin = await as_member(factory, tree["france"], "admin", "impact:write")
    assert_problem(await client.post("/v1/impact/goals", json=goal, headers=member),
                   403, "insufficient_scope")
    created = await client.post("/v1/impact/goals", json=goal, headers=admin)
    assert created.status_code == 201, created.text
    progress = await client.get(f"/v1/impact/goals/{created.json()['id']}/progress")
    assert progress.json()["remaining"] == 1000
    assert_problem(await client.get(f"/v1/impact/goals/{uuid.uuid4()}"), 404, "not_found")
