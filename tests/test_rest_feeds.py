"""Change feeds (`updated_since`) through HTTP, and the service functions REST added."""

import uuid

import httpx
import pytest

from makesense_api.chapters import service as chapters
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events import service as events
from makesense_api.feeds.changes import Gone
from makesense_api.kit.clock import utcnow
from makesense_api.kit.errors import Unauthenticated, ValidationFailed
from makesense_api.kit.models import Tombstone
from makesense_api.people import service as people
from tests.conftest import as_person
from tests.factories import Factory
from tests.test_rest_http import assert_problem, bearer

Tree = dict[str, ChapterView]


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


async def feed(client: httpx.AsyncClient, path: str, since: str,
               headers: dict[str, str] | None = None, limit: int = 3) -> list[dict[str, object]]:
    """Every item of a change feed, following the pages."""
    items: list[dict[str, object]] = []
    params: dict[str, object] = {"updated_since": since, "limit": limit}
    while True:
        response = await client.get(path, params=params, headers=headers or {})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if body["next_cursor"] is None:
            return items
        params = {**params, "cursor": body["next_cursor"]}


async def test_chapter_feed_reports_changes_and_closures(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    everything = await feed(client, "/v1/chapters", "2000-01-01T00:00:00Z")
    assert {c["slug"] for c in everything} == {c.slug for c in tree.values()}
    stamps = [c["updated_at"] for c in everything]
    assert stamps == sorted(stamps)
    since = utcnow().isoformat()
    await chapters.update(factory.ctx, tree["lyon"].id, {"status": "closed"})
    await chapters.update(factory.ctx, tree["paris"].id, {"city": "Paris 17e"})
    changed = await feed(client, "/v1/chapters", since)
    assert [c.get("slug") for c in changed] == [None, "paris"]
    assert changed[0]["id"] == str(tree["lyon"].id) and changed[0]["deleted"] is True
    admin = await factory.member(tree["france"], "admin")
    as_admin = bearer(await factory.token(admin, {"chapters:write"}))
    seen = await feed(client, "/v1/chapters", since, as_admin)
    assert [c.get("status") for c in seen] == ["closed", "active"]
    lagos_only = bearer(await factory.token(admin, {"chapters:read"}, [tree["lagos"].id]))
    assert await feed(client, "/v1/chapters", since, lagos_only) == []


async def test_event_feed_hides_without_revealing_drafts(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    since = utcnow().isoformat()
    public = await factory.event(tree["paris"])
    draft = await factory.event(tree["paris"], publish=False)
    gone = uuid.uuid4()
    factory.ctx.session.add(Tombstone(entity="event", entity_id=gone, chapter_id=tree["paris"].id))
    await events.update(factory.ctx, public.id, {"visibility": "members"})
    anonymous = await feed(client, "/v1/events", since)
    assert {e["id"] for e in anonymous} == {str(public.id), str(gone)}
    assert all(e["deleted"] is True for e in anonymous)
    assert str(draft.id) not in {e["id"] for e in anonymous}
    member = bearer(await factory.token(await factory.member(tree["paris"]), {"chapters:read"}))
    as_member = await feed(client, "/v1/events", since, member)
    assert [e.get("title") is not None for e in as_member] == [False, True]


async def test_feeds_take_no_other_filter(client: httpx.AsyncClient, tree: Tree) -> None:
    response = await client.get("/v1/events", params={
        "updated_since": "2026-01-01T00:00:00Z", "country": "FR"})
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "country"
    assert_problem(await client.get("/v1/projects", params={"updated_since": "yesterday"}),
                   422, "validation_failed")
    assert_problem(await client.get("/v1/programs", params={
        "updated_since": "2026-01-01T00:00:00"}), 422, "validation_failed")


async def test_project_and_program_feeds(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    since = utcnow().isoformat()
    owner = await factory.member(tree["paris"])
    project = await factory.project(tree["paris"], owner)
    await factory.project(tree["paris"], owner, publish=False)
    program = await factory.program(tree["france"])
    assert [p["id"] for p in await feed(client, "/v1/projects", since)] == [str(project.id)]
    assert [p["id"] for p in await feed(client, "/v1/programs", since)] == [str(program.id)]


# -- service functions added for REST -------------------------------------------------------


async def test_list_under_resolves_slugs(system: Ctx, tree: Tree) -> None:
    page = await chapters.list_under(system, "france", chapters.ChapterFilter())
    assert [c.slug for c in page.items] == ["batignolles", "france", "lyon", "paris"]
    with pytest.raises(ValidationFailed) as caught:
        await chapters.list_under(system, "atlantis", chapters.ChapterFilter())
    assert caught.value.errors[0].field == "subtree"


async def test_caller_describes_the_token(
    system: Ctx, factory: Factory, tree: Tree
) -> None:
    person = await factory.member(tree["paris"])
    me = await people.caller(as_person(system.session, person, scopes={"profile"}))
    assert me.person is not None and me.person.id == person and me.scopes == ["profile"]
    bare = await people.caller(as_person(system.session, person, scopes={"events:read"}))
    assert bare.person is None
    with pytest.raises(Unauthenticated):
        await people.caller(Ctx.of(system.session, system.principal.anonymous()))


async def test_changes_since_pages_in_change_order(system: Ctx, tree: Tree) -> None:
    first = await chapters.changes_since(system, utcnow().replace(year=2000), limit=5)
    rest = await chapters.changes_since(system, utcnow().replace(year=2000), first.end_cursor, 5)
    assert len(first.items) == 5 and first.has_next and len(rest.items) == 3
    assert not any(isinstance(c, Gone) for c in [*first.items, *rest.items])


# -- calendars and JSON-LD ------------------------------------------------------------------


async def test_chapter_calendar(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    import icalendar

    paris = await factory.event(tree["paris"], title="Atelier")
    lagos = await factory.event(tree["lagos"], timezone="Africa/Lagos", title="Lagos meetup")
    called_off = await factory.event(tree["batignolles"], title="Pique-nique")
    await events.cancel(factory.ctx, called_off.id)
    await factory.event(tree["paris"], publish=False, title="Brouillon")
    await factory.event(tree["paris"], visibility="members", title="Entre nous")
    response = await client.get("/v1/chapters/paris/events.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    found = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    assert set(found) == {"Atelier", "Pique-nique"}
    assert str(found["Atelier"]["uid"]) == f"{paris.id}@makesense"
    assert str(found["Pique-nique"]["status"]) == "CANCELLED"
    assert int(found["Pique-nique"]["sequence"]) >= 2
    assert found["Atelier"]["dtstart"].params["TZID"] == "Europe/Paris"
    assert [str(z["tzid"]) for z in cal.walk("VTIMEZONE")] == ["Europe/Paris"]
    etag = response.headers["etag"]
    again = await client.get("/v1/chapters/paris/events.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304
    world = icalendar.Calendar.from_ical((await client.get("/v1/chapters/net/events.ics")).content)
    assert {str(z["tzid"]) for z in world.walk("VTIMEZONE")} == {"Europe/Paris", "Africa/Lagos"}
    assert f"{lagos.id}@makesense" in {str(e["uid"]) for e in world.walk("VEVENT")}
    assert_problem(await client.get("/v1/chapters/atlantis/events.ics"), 404, "not_found")


async def test_event_as_schema_org_json_ld(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    event = await factory.event(tree["paris"], title="Atelier", capacity=10)
    response = await client.get(f"/v1/events/{event.id}",
                                headers={"Accept": "application/ld+json"})
    assert response.headers["content-type"] == "application/ld+json"
    doc = response.json()
    assert (doc["@context"], doc["@type"], doc["name"]) == ("https://schema.org", "Event", "Atelier")
    assert doc["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert doc["location"]["name"] == "La Ruche" and doc["remainingAttendeeCapacity"] == 10
    assert doc["startDate"].endswith(("+01:00", "+02:00"))
    plain = await client.get(f"/v1/events/{event.id}")
    assert plain.headers["content-type"] == "application/json"
    assert plain.headers["etag"] != response.headers["etag"]


# -- registration change feeds -------------------------------------------------------------


async def test_event_registrations_feed_for_organizers(
    client: httpx.AsyncClient, factory: Factory, tree: Tree
) -> None:
    from makesense_api.events import registrations

    event = await factory.event(tree["paris"], capacity=1)
    early = await factory.registration(event.id, await factory.member(tree["paris"]))
    since = utcnow().isoformat()
    first = await factory.registration(event.id, await factory.member(tree["paris"]))
    second = await factory.registration(event.id, await factory.member(tree["paris"]))
    assert (first.status, second.status) == ("waitlisted", "waitlisted")
    await registrations.cancel(factory.ctx, early.id)  # `first` is promoted
    deleted = uuid.uuid4()
    elsewhere = uuid.uuid4()
    factory.ctx.session.add_all([
        Tombstone(entity="registration", entity_id=deleted, chapter_id=tree["paris"].id),
        Tombstone(entity="registration", entity_id=elsewhere, chapter_id=tree["lagos"].id),
    ])
    path = f"/v1/events/{event.id}/registrations"
    organizer = bearer(await factory.token(await factory.member(tree["france"], "organizer"),
                                           {"registrations:read"}))
    items = await feed(client, path, since, organizer, limit=2)
    by_id = {i["id"]: i for i in items}
    assert set(by_id) == {str(r.id) for r in (early, first, second)} | {str(deleted)}
    assert by_id[str(early.id)]["status"] == "cancelled"
    assert by_id[str(first.id)]["status"] == "registered"
    assert by_id[str(second.id)]["waitlist_position"] == 1
    assert by_id[str(deleted)]["deleted"] is True
    stamps = [i.get("updated_at") or i["deleted_at"] for i in items]
    assert stamps == sorted(stamps)
    later = await feed(client, path, utcnow().isoformat(), organizer)
    assert later == []
    member = bearer(await factory.token(await factory.member(tree["paris"]),
                                        {"registrations:read"}))
    assert_problem(await client.get(path, params={"updated_since": since}, headers=member),
                   404, "not_found")
    other = bearer(await factory.token(await factory.member(tree["lyon"], "organizer"),
                                       {"registrations:read"}))
    assert_problem(await client.get(path, params={"updated_since": since}, headers=other),
                   404, "not_found")
    mixed = await client.get(path, params={"updated_since": since, "status": "registered"},
                             headers=organizer)
    assert assert_problem(mixed, 422, "validation_failed")["errors"][0]["field"] == "status"


async def test_my_registrations_feed(
    client: httpx.AsyncClient, system: Ctx, factory: Factory, tree: Tree
) -> None:
    from makesense_api.authz.principal import Principal
    from makesense_api.events import registrations
    from makesense_api.feeds import registrations as registration_feeds
    from makesense_api.kit.errors import Forbidden

    me = await factory.member(tree["paris"])
    old = await factory.registration((await factory.event(tree["paris"])).id, me)
    since = utcnow()
    new = await factory.registration((await factory.event(tree["lyon"])).id, me)
    await factory.registration((await factory.event(tree["paris"])).id,
                               await factory.member(tree["paris"]))
    mine = as_person(system.session, me, scopes={"profile", "registrations:write"})
    page = await registration_feeds.my_changes(mine, since)
    assert [r.id for r in page.items] == [new.id]
    await registrations.cancel(mine, old.id)
    page = await registration_feeds.my_changes(mine, since)
    assert [(r.id, r.status) for r in page.items] == [(new.id, "registered"),
                                                      (old.id, "cancelled")]
    token = bearer(await factory.token(me, {"profile"}))
    items = await feed(client, "/v1/me/registrations", since.isoformat(), token, limit=1)
    assert [(i["id"], i["status"]) for i in items] == [(str(new.id), "registered"),
                                                       (str(old.id), "cancelled")]
    mixed = await client.get("/v1/me/registrations", headers=token,
                             params={"updated_since": since.isoformat(), "status": "registered"})
    assert assert_problem(mixed, 422, "validation_failed")["errors"][0]["field"] == "status"
    with pytest.raises(Unauthenticated):
        await registration_feeds.my_changes(Ctx.of(system.session, Principal.anonymous()), since)
    partner = await factory.partner()
    with pytest.raises(Forbidden):
        await registration_feeds.my_changes(
            Ctx.of(system.session, Principal.partner(partner.id, {"registrations:read"})), since
        )
