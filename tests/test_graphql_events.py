"""Events, series, registrations and check-in through the GraphQL schema."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.events import service as events
from makesense_api.events.models import Event, Registration
from makesense_api.graphql.relay import to_global_id
from makesense_api.kit.clock import utcnow
from makesense_api.people import service as people
from makesense_api.people.schemas import PersonCreate
from tests.factories import Factory
from tests.gql import count_statements, execute, run

Tree = dict[str, ChapterView]
PARIS = {"latitude": 48.8566, "longitude": 2.3522}


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


async def named(
    factory: Factory, name: str, chapter: ChapterView | None = None, role: str = "member"
) -> uuid.UUID:
    """A person called `name`, member of `chapter` when given."""
    person = await people.new_person(factory.ctx, PersonCreate(display_name=name))
    if chapter is not None:
        await people.set_role(factory.ctx, chapter.id, person.id, role)
    return person.id


@pytest.fixture
async def who(factory: Factory, tree: Tree) -> dict[str, Principal]:
    """Callers with every scope: Paris organizers and members, an organizer elsewhere."""
    return {
        "org": Principal.person(await named(factory, "Paula", tree["paris"], "organizer")),
        "lagos_org": Principal.person(await named(factory, "Lami", tree["lagos"], "organizer")),
        "vera": Principal.person(await named(factory, "Vera", tree["paris"])),
        "omar": Principal.person(await named(factory, "Omar", tree["paris"])),
    }


def pid(principal: Principal) -> uuid.UUID:
    assert principal.person_id is not None
    return principal.person_id


def gid(type_name: str, view: Any) -> str:
    return to_global_id(type_name, view.id)


def soon(days: float = 7) -> Any:
    return (utcnow() + timedelta(days=days)).replace(microsecond=0)


async def rows(session: AsyncSession, model: type[SQLModel]) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


SELECTIONS = {
    "event": "... on EventPayload { event { id title status seatsLeft checkInCode "
    "hostChapter { slug } } }",
    "eventSeries": "... on EventSeriesPayload { series { id localStart durationMinutes "
    "occurrences { id status startsAt } } }",
    "registrationCheckInMany": "... on RegistrationCheckInManyPayload { registrations { id "
    "status checkedInAt } }",
    "registration": "... on RegistrationPayload { registration { id status waitlistPosition "
    "promotedAt checkedInAt event { seatsLeft } person { displayName } } }",
}
PAYLOAD_OF = {
    "eventRegister": "registration",
    "eventSelfCheckIn": "registration",
    "eventUpdateFollowing": "eventSeries",
}


async def mutate(
    session: AsyncSession, name: str, input: dict[str, Any], principal: Principal | None = None
) -> dict[str, Any]:
    """Run one mutation and return its result, whatever its type."""
    kind = PAYLOAD_OF.get(name) or max((k for k in SELECTIONS if name.startswith(k)), key=len)
    query = f"""mutation($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) {{
      __typename {SELECTIONS[kind]}
      ... on Error {{ code message }} ... on ValidationError {{ fields {{ field message }} }} }} }}"""
    result: dict[str, Any] = (await run(session, query, {"input": input}, principal))[name]
    return result


def fields_of(result: dict[str, Any]) -> set[str]:
    assert result["__typename"] == "ValidationError", result
    return {f["field"] for f in result["fields"]}


# -- the chapter site ---------------------------------------------------------------------

CHAPTER_PAGE = """query($slug: String!, $filter: ChapterEventFilterInput) {
  chapter(slug: $slug) { name events(first: 10, filter: $filter) {
    edges { cursor node { id title format startsAt timezone seatsLeft capacity causes
      venue { name } location { latitude } onlineUrl hostChapter { slug } } }
    pageInfo { hasNextPage } } } }"""

SEARCH = """query($filter: EventFilterInput, $first: Int) { events(filter: $filter, first: $first) {
  totalCount edges { node { title cohosts { slug } } } pageInfo { hasNextPage endCursor } } }"""


async def test_a_chapter_site_lists_upcoming_events_with_filters(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    fresk = await factory.event(
        tree["paris"], title="Fresque du climat", capacity=12, causes=[13], **PARIS
    )
    await factory.event(
        tree["paris"],
        title="Online meetup",
        format="online",
        venue_name=None,
        online_url="https://meet.example.org/x",
        language="en",
        starts_at=soon(8),
        ends_at=soon(8) + timedelta(hours=1),
    )
    await factory.event(tree["paris"], title="Draft", publish=False)
    await factory.event(tree["lyon"], title="Lyon cleanup", cohost_ids=[tree["paris"].id])
    await factory.registration(fresk.id, await factory.person())

    page = (await run(session, CHAPTER_PAGE, {"slug": "paris"}))["chapter"]
    listed = [e["node"] for e in page["events"]["edges"]]
    assert [e["title"] for e in listed] == ["Fresque du climat", "Online meetup"]
    first = listed[0]
    assert first["id"] == gid("Event", fresk)
    assert first["startsAt"] == fresk.starts_local.isoformat()  # the offset of the event's zone
    assert (first["timezone"], first["format"]) == ("Europe/Paris", "IN_PERSON")
    assert (first["capacity"], first["seatsLeft"], first["causes"]) == (12, 11, [13])
    assert first["venue"] == {"name": "La Ruche"}
    assert first["location"] == {"latitude": PARIS["latitude"]}
    assert first["hostChapter"] == {"slug": "paris"}
    assert listed[1]["onlineUrl"] is None  # only for people holding a seat, and organizers
    assert not page["events"]["pageInfo"]["hasNextPage"]

    online = {"format": "ONLINE", "language": "en"}
    page = (await run(session, CHAPTER_PAGE, {"slug": "paris", "filter": online}))["chapter"]
    assert [e["node"]["title"] for e in page["events"]["edges"]] == ["Online meetup"]

    found = await run(session, SEARCH, {"filter": {"subtree": gid("Chapter", tree["france"])}})
    assert found["events"]["totalCount"] == 3  # co-hosted Lyon event included, the draft not
    near = {"near": {**PARIS, "radiusKm": 5}, "cause": 13, "country": "FR"}
    found = await run(session, SEARCH, {"filter": near})
    assert [e["node"]["title"] for e in found["events"]["edges"]] == ["Fresque du climat"]
    paged = (await run(session, SEARCH, {"filter": {"text": "e"}, "first": 2}))["events"]
    assert paged["totalCount"] == 3 and len(paged["edges"]) == 2
    assert paged["pageInfo"]["hasNextPage"]
    assert [e["node"] for e in paged["edges"]] == [
        {"title": "Fresque du climat", "cohosts": []},
        {"title": "Lyon cleanup", "cohosts": [{"slug": "paris"}]},
    ]

    bad = await execute(session, SEARCH, {"filter": {"subtree": "garbage"}})
    assert bad.errors[0].message == "filter.subtree: not a valid global ID"
    far = await execute(session, SEARCH, {"filter": {"near": {**PARIS, "radiusKm": -1}}})
    assert far.errors[0].message.startswith("near.radius_km:")


EVENT_PAGE = """query($id: ID!) { event(id: $id) { title description textLanguage language
  capacity seatsTaken seatsLeft waitlistEnabled status visibility registrationClosesAt
  checkInCode viewerRegistration { status } } }"""


async def test_an_event_page_shows_seats_left_in_the_callers_language(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    closes = soon(6)
    fresk = await factory.event(
        tree["paris"],
        title="Fresque",
        description="En français",
        translations={"en": {"title": "Climate fresk"}},
        capacity=3,
        registration_closes_at=closes,
    )
    await factory.registration(fresk.id, pid(who["vera"]))
    page = await run(session, EVENT_PAGE, {"id": gid("Event", fresk)}, languages=("en",))
    event = page["event"]
    assert (event["title"], event["textLanguage"], event["language"]) == (
        "Climate fresk",
        "en",
        "fr",
    )
    assert event["description"] == "En français"  # falls back to the default text
    assert (event["seatsTaken"], event["seatsLeft"]) == (1, 2)
    assert (event["status"], event["visibility"]) == ("PUBLISHED", "PUBLIC")
    assert event["registrationClosesAt"] == closes.astimezone(fresk.starts_local.tzinfo).isoformat()
    assert event["checkInCode"] is None and event["viewerRegistration"] is None
    mine = (await run(session, EVENT_PAGE, {"id": gid("Event", fresk)}, who["vera"]))["event"]
    assert mine["viewerRegistration"] == {"status": "REGISTERED"}
    organized = await run(session, EVENT_PAGE, {"id": gid("Event", fresk)}, who["org"])
    assert organized["event"]["checkInCode"]
    wrong_kind = await execute(session, EVENT_PAGE, {"id": gid("Chapter", tree["paris"])})
    assert wrong_kind.errors[0].message == "id: expected a Event ID"


NODE = """query($id: ID!) { node(id: $id) { id __typename
  ... on Event { title status }
  ... on Registration { state: status event { title } person { displayName } }
  ... on EventSeries { localStart occurrences { title } } } }"""


async def test_drafts_and_registrations_stay_hidden_from_those_who_may_not_see_them(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    draft = await factory.event(tree["paris"], title="Secret", publish=False)
    public = await factory.event(tree["paris"], title="Open")
    registration = await factory.registration(public.id, pid(who["vera"]))
    for hidden in (gid("Event", draft), gid("Registration", registration)):
        assert (await run(session, NODE, {"id": hidden}))["node"] is None
        assert (await run(session, NODE, {"id": hidden}, who["lagos_org"]))["node"] is None
    assert (await run(session, NODE, {"id": gid("Event", draft)}, who["org"]))["node"] == {
        "id": gid("Event", draft),
        "__typename": "Event",
        "title": "Secret",
        "status": "DRAFT",
    }
    expected = {"state": "REGISTERED", "event": {"title": "Open"}}
    own = await run(session, NODE, {"id": gid("Registration", registration)}, who["vera"])
    assert own["node"] == {
        "id": gid("Registration", registration),
        "__typename": "Registration",
        **expected,
        "person": {"displayName": "Vera"},
    }
    # Organizers read the attendee list; another member sees neither it nor the person.
    listed = """query($id: ID!) { event(id: $id) { registrations(first: 5) {
      edges { node { status person { displayName } } } } } }"""
    as_org = (await run(session, listed, {"id": gid("Event", public)}, who["org"]))["event"]
    assert as_org["registrations"]["edges"] == [
        {"node": {"status": "REGISTERED", "person": {"displayName": "Vera"}}}
    ]
    as_omar = (await run(session, listed, {"id": gid("Event", public)}, who["omar"]))["event"]
    assert as_omar["registrations"]["edges"] == []


# -- the mobile app -----------------------------------------------------------------------

MINE = """{ viewer { registrations(first: 10) { edges { node { id status waitlistPosition
  promotedAt event { title onlineUrl viewerRegistration { status } } } } } } }"""


async def test_the_mobile_app_registers_lists_and_cancels(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    call = await factory.event(
        tree["paris"],
        title="Online call",
        format="online",
        venue_name=None,
        online_url="https://meet.example.org/call",
        capacity=1,
    )
    event_id = gid("Event", call)
    vera = await mutate(session, "eventRegister", {"eventId": event_id}, who["vera"])
    assert vera["registration"]["status"] == "REGISTERED"
    assert vera["registration"]["event"] == {"seatsLeft": 0}
    again = await mutate(session, "eventRegister", {"eventId": event_id}, who["vera"])
    assert again["registration"]["id"] == vera["registration"]["id"]  # idempotent
    omar = await mutate(session, "eventRegister", {"eventId": event_id}, who["omar"])
    assert (omar["registration"]["status"], omar["registration"]["waitlistPosition"]) == (
        "WAITLISTED",
        1,
    )

    mine = (await run(session, MINE, principal=who["vera"]))["viewer"]["registrations"]
    assert [e["node"]["event"] for e in mine["edges"]] == [
        {
            "title": "Online call",
            "onlineUrl": "https://meet.example.org/call",  # she holds a seat
            "viewerRegistration": {"status": "REGISTERED"},
        }
    ]
    waiting = (await run(session, MINE, principal=who["omar"]))["viewer"]["registrations"]
    assert waiting["edges"][0]["node"]["event"]["onlineUrl"] is None

    cancelled = await mutate(
        session, "registrationCancel", {"id": vera["registration"]["id"]}, who["vera"]
    )
    assert cancelled["registration"]["status"] == "CANCELLED"
    promoted = (await run(session, MINE, principal=who["omar"]))["viewer"]["registrations"]
    node = promoted["edges"][0]["node"]
    assert (node["status"], node["waitlistPosition"]) == ("REGISTERED", None)
    assert node["promotedAt"] is not None
    assert node["event"]["onlineUrl"] == "https://meet.example.org/call"

    anonymous = await execute(session, MINE)
    assert anonymous.errors[0].message == "authentication required"
    foreign = await mutate(
        session, "registrationCancel", {"id": omar["registration"]["id"]}, who["vera"]
    )
    assert foreign["__typename"] == "NotFoundError"  # someone else's registration is invisible


# -- organizers ---------------------------------------------------------------------------


def new_event(chapter: ChapterView, **overrides: Any) -> dict[str, Any]:
    starts = soon()
    return {
        "chapterId": gid("Chapter", chapter),
        "title": "Fresque du climat",
        "format": "IN_PERSON",
        "venueName": "La Ruche",
        "timezone": "Europe/Paris",
        "language": "fr",
        "startsAt": starts.isoformat(),
        "endsAt": (starts + timedelta(hours=3)).isoformat(),
        **overrides,
    }


async def test_organizers_create_publish_check_in_and_cancel(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    org = who["org"]
    now = utcnow().replace(microsecond=0)
    today = {
        "startsAt": (now - timedelta(minutes=30)).isoformat(),
        "endsAt": (now + timedelta(hours=2)).isoformat(),
    }
    created = await mutate(
        session, "eventCreate", new_event(tree["paris"], capacity=3, causes=[13], **today), org
    )
    event = created["event"]
    assert (event["status"], event["hostChapter"], event["checkInCode"]) == (
        "DRAFT",
        {"slug": "paris"},
        None,
    )
    assert (await run(session, NODE, {"id": event["id"]}))["node"] is None
    updated = await mutate(session, "eventUpdate", {"id": event["id"], "capacity": 2}, org)
    assert updated["event"]["seatsLeft"] == 2
    published = (await mutate(session, "eventPublish", {"id": event["id"]}, org))["event"]
    assert published["status"] == "PUBLISHED" and published["checkInCode"]
    assert (await run(session, NODE, {"id": event["id"]}))["node"]["status"] == "PUBLISHED"

    # Organizers register people they may see: their chapters' members.
    attendees = [await named(factory, n, tree["paris"]) for n in ("Ana", "Bo", "Cy")]
    outsider = await named(factory, "Dee")
    refused = await mutate(
        session, "eventRegister",
        {"eventId": event["id"], "personId": to_global_id("Person", outsider)}, org,
    )
    assert refused["__typename"] == "ValidationError"
    regs = [
        await mutate(
            session,
            "eventRegister",
            {"eventId": event["id"], "personId": to_global_id("Person", p)},
            org,
        )
        for p in attendees
    ]
    assert [r["registration"]["status"] for r in regs] == ["REGISTERED", "REGISTERED", "WAITLISTED"]
    assert [r["registration"]["person"] for r in regs] == [
        {"displayName": "Ana"}, {"displayName": "Bo"}, {"displayName": "Cy"}
    ]
    ids = [r["registration"]["id"] for r in regs]

    one = await mutate(session, "registrationCheckIn", {"id": ids[0]}, org)
    assert one["registration"]["status"] == "ATTENDED" and one["registration"]["checkedInAt"]
    before = await rows(session, Registration)
    refused = await mutate(
        session, "registrationCheckInMany", {"eventId": event["id"], "registrationIds": ids}, org
    )
    assert fields_of(refused) == {"registration_ids.2"}  # the waitlisted one holds no seat
    bulk = await mutate(
        session,
        "registrationCheckInMany",
        {"eventId": event["id"], "registrationIds": ids[:2], "status": "NO_SHOW"},
        org,
    )
    assert [r["status"] for r in bulk["registrations"]] == ["NO_SHOW", "NO_SHOW"]
    assert await rows(session, Registration) == before

    me = who["vera"]
    own = await mutate(session, "eventRegister", {"eventId": event["id"]}, me)
    assert own["registration"]["status"] == "WAITLISTED"
    code = published["checkInCode"]
    checking = {"eventId": event["id"], "code": code}
    no_seat = await mutate(session, "eventSelfCheckIn", checking, me)
    assert no_seat["__typename"] == "ConflictError"
    await mutate(session, "eventUpdate", {"id": event["id"], "capacity": 4}, org)  # promotes
    wrong = await mutate(session, "eventSelfCheckIn", {**checking, "code": "NOPE"}, me)
    assert fields_of(wrong) == {"code"}
    done = await mutate(session, "eventSelfCheckIn", checking, me)
    assert done["registration"]["status"] == "ATTENDED"

    cancelled = await mutate(session, "eventCancel", {"id": event["id"]}, org)
    assert cancelled["event"]["status"] == "CANCELLED"
    again = await mutate(session, "eventPublish", {"id": event["id"]}, org)
    assert again["__typename"] == "ConflictError"
    late = await mutate(session, "eventRegister", {"eventId": event["id"]}, who["omar"])
    assert late["__typename"] == "ConflictError"


async def test_typed_failures_write_nothing(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    org, before = who["org"], await rows(session, Event)
    bad = await mutate(session, "eventCreate", new_event(tree["paris"], title="", capacity=0), org)
    assert fields_of(bad) == {"title", "capacity"}
    zone = new_event(tree["paris"], timezone="Mars/Base", language="??")
    assert fields_of(await mutate(session, "eventCreate", zone, org)) == {"timezone", "language"}
    reversed_times = new_event(tree["paris"], endsAt=soon(6).isoformat())
    assert fields_of(await mutate(session, "eventCreate", reversed_times, org)) == {"ends_at"}
    bad_id = await mutate(session, "eventCreate", new_event(tree["paris"], chapterId="x"), org)
    assert fields_of(bad_id) == {"chapter_id"}
    cohost = new_event(tree["paris"], cohostIds=[gid("Chapter", tree["lyon"]), "x"])
    assert fields_of(await mutate(session, "eventCreate", cohost, org)) == {"cohost_ids.1"}
    anonymous = await mutate(session, "eventCreate", new_event(tree["paris"]))
    assert (anonymous["__typename"], anonymous["code"]) == (
        "UnauthenticatedError",
        "unauthenticated",
    )
    elsewhere = await mutate(session, "eventCreate", new_event(tree["paris"]), who["lagos_org"])
    assert (elsewhere["__typename"], elsewhere["code"]) == ("ForbiddenError", "forbidden")
    member = await mutate(session, "eventCreate", new_event(tree["paris"]), who["vera"])
    assert member["__typename"] == "ForbiddenError"
    assert await rows(session, Event) == before

    full = await factory.event(tree["paris"], capacity=1, waitlist_enabled=False)
    await factory.registration(full.id, pid(who["omar"]))
    seats = await rows(session, Registration)
    refused = await mutate(session, "eventRegister", {"eventId": gid("Event", full)}, who["vera"])
    assert (refused["__typename"], refused["code"]) == ("ConflictError", "capacity_full")
    assert await rows(session, Registration) == seats
    not_an_event = await mutate(
        session, "eventRegister", {"eventId": gid("Chapter", tree["paris"])}, who["vera"]
    )
    assert fields_of(not_an_event) == {"eventId"}

    published = gid("Event", full)
    foreign = await mutate(
        session, "eventUpdate", {"id": published, "title": "X"}, who["lagos_org"]
    )
    assert foreign["__typename"] == "ForbiddenError"
    unchanged = await mutate(
        session, "eventUpdate", {"id": published, "title": "X", "capacity": 0}, org
    )
    assert fields_of(unchanged) == {"capacity"}
    assert (await events.get_event(factory.ctx, full.id)).title == full.title
    twice = await mutate(session, "eventPublish", {"id": published}, org)
    assert twice["__typename"] == "ConflictError"
    draft = await factory.event(tree["paris"], publish=False)
    hidden = await mutate(session, "eventPublish", {"id": gid("Event", draft)}, who["lagos_org"])
    assert hidden["__typename"] == "NotFoundError"  # a draft elsewhere is not even visible


async def test_series_are_created_published_and_edited_from_an_occurrence_on(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    org = who["org"]
    template = {
        k: v for k, v in new_event(tree["paris"]).items() if k not in ("startsAt", "endsAt")
    }
    rule = {
        "startDate": soon(1).date().isoformat(),
        "localStart": "19:00",
        "durationMinutes": 90,
        "frequency": "WEEKLY",
        "count": 3,
    }
    created = await mutate(session, "eventSeriesCreate", {**template, **rule}, org)
    series = created["series"]
    assert series["localStart"] == "19:00"
    assert [o["status"] for o in series["occurrences"]] == ["DRAFT"] * 3
    assert all("T19:00:00+" in o["startsAt"] for o in series["occurrences"])
    published = await mutate(session, "eventSeriesPublish", {"id": series["id"]}, org)
    assert [o["status"] for o in published["series"]["occurrences"]] == ["PUBLISHED"] * 3
    second = series["occurrences"][1]["id"]
    edited = await mutate(
        session, "eventUpdateFollowing", {"eventId": second, "localStart": "20:00"}, org
    )
    tail = edited["series"]
    assert tail["id"] != series["id"] and tail["localStart"] == "20:00"
    assert [o["id"] for o in tail["occurrences"]] == [o["id"] for o in series["occurrences"][1:]]
    assert all("T20:00:00+" in o["startsAt"] for o in tail["occurrences"])
    node = (await run(session, NODE, {"id": series["id"]}))["node"]
    assert (node["localStart"], len(node["occurrences"])) == ("19:00", 1)
    of_event = """query($id: ID!) { event(id: $id) { series { id } } }"""
    assert (await run(session, of_event, {"id": second}))["event"]["series"] == {"id": tail["id"]}
    bad = await mutate(
        session, "eventSeriesCreate", {**template, **rule, "count": None, "until": None}, org
    )
    assert fields_of(bad) == {"count"}
    lone = gid("Event", await factory.event(tree["paris"]))
    alone = await mutate(session, "eventUpdateFollowing", {"eventId": lone, "title": "x"}, org)
    assert fields_of(alone) == {"event_id"}


# -- cost ---------------------------------------------------------------------------------

LISTING = """query($n: Int!, $chapter: ID!) { events(first: $n, filter: {subtree: $chapter}) {
  totalCount edges { node { title hostChapter { slug } cohosts { slug } program { slug }
    series { id } viewerRegistration { status }
    registrations(first: 5) { edges { node { status person { displayName } event { id } } } }
  } } } }"""


async def test_listing_events_with_registrations_costs_the_same_for_5_or_50(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    organizer = await factory.member(tree["france"], "organizer")
    program = await factory.program(tree["france"])
    volunteers = [await factory.person() for _ in range(2)]
    for chapter, n in (("paris", 5), ("lyon", 50)):
        for i in range(n):
            starts = soon(2 + i / 100)
            event = await factory.event(
                tree[chapter],
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                cohost_ids=[tree["lagos"].id],
                program_id=program.id,
            )
            for person in (*volunteers, organizer):
                await factory.registration(event.id, person)
    counts = []
    for chapter, n in (("paris", 5), ("lyon", 50)):
        variables = {"n": n, "chapter": gid("Chapter", tree[chapter])}
        with count_statements(session) as statements:
            data = await run(session, LISTING, variables, Principal.person(organizer))
        edges = data["events"]["edges"]
        assert len(edges) == data["events"]["totalCount"] == n
        for edge in edges:
            node = edge["node"]
            assert len(node["registrations"]["edges"]) == 3
            assert node["viewerRegistration"] == {"status": "REGISTERED"}
            assert node["program"] == {"slug": program.slug}
            assert node["cohosts"] == [{"slug": "lagos"}]
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
