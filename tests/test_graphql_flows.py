"""End-to-end GraphQL flows over HTTP, with bearer tokens, as real clients use the API."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from makesense_api.chapters.schemas import ChapterView
from makesense_api.graphql.relay import to_global_id
from tests.factories import Factory

GQL = {"Accept": "application/graphql-response+json"}


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
    token: str | None = None, language: str | None = None,
) -> dict[str, Any]:
    headers = dict(GQL)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if language:
        headers["Accept-Language"] = language
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                 headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def world(factory: Factory) -> dict[str, ChapterView]:
    root = await factory.root(slug="net")
    france = await factory.chapter(root, slug="france", kind="country", country_code="FR")
    paris = await factory.chapter(france, slug="paris", city="Paris", country_code="FR",
                                  name="Paris", translations={"en": {"name": "Paris (en)"}})
    lagos = await factory.chapter(root, slug="lagos", city="Lagos", country_code="NG",
                                  timezone="Africa/Lagos")
    return {"root": root, "france": france, "paris": paris, "lagos": lagos}


SITE = """query($slug: String!) {
  chapter(slug: $slug) {
    name language
    events(first: 10) { edges { node { title seatsLeft capacity startsAt hostChapter { slug } } } }
  }
  events(filter: {country: "FR"}, first: 10) { totalCount edges { node { id title } } }
}"""


async def test_chapter_site_reads_public_pages_anonymously(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    places = await world(factory)
    start = datetime.now(UTC) + timedelta(days=7)
    await factory.event(places["paris"], title="Repair café", capacity=12, starts_at=start,
                        ends_at=start + timedelta(hours=2))
    await factory.event(places["paris"], publish=False, title="Draft planning")
    await factory.event(places["lagos"], title="Lagos meetup")
    data = await gql(client, SITE, {"slug": "paris"}, language="en-GB")
    assert data["chapter"]["name"] == "Paris (en)"
    listed = data["chapter"]["events"]["edges"]
    assert [e["node"]["title"] for e in listed] == ["Repair café"]
    assert listed[0]["node"]["seatsLeft"] == 12
    assert data["events"]["totalCount"] == 1


REGISTER = """mutation($id: ID!) { eventRegister(input: {eventId: $id}) {
  __typename ... on RegistrationPayload { registration { id status } } ... on Error { code } } }"""
CANCEL = """mutation($id: ID!) { registrationCancel(input: {id: $id}) {
  __typename ... on RegistrationPayload { registration { status } } ... on Error { code } } }"""
MINE = "{ viewer { registrations(first: 10) { edges { node { status event { title } } } } } }"
SEATS = "query($id: ID!) { node(id: $id) { ... on Event { seatsTaken seatsLeft } } }"


async def test_mobile_app_registers_sees_and_cancels(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    places = await world(factory)
    event = await factory.event(places["paris"], title="Climate fresk", capacity=1)
    event_id = to_global_id("Event", event.id)
    first = await factory.person()
    second = await factory.person()
    app_scopes = ["profile", "registrations:write", "events:read"]
    first_token = await factory.token(first, app_scopes)
    second_token = await factory.token(second, app_scopes)

    seated = (await gql(client, REGISTER, {"id": event_id}, first_token))["eventRegister"]
    assert seated["registration"]["status"] == "REGISTERED"
    queued = (await gql(client, REGISTER, {"id": event_id}, second_token))["eventRegister"]
    assert queued["registration"]["status"] == "WAITLISTED"
    mine = await gql(client, MINE, token=second_token)
    edges = mine["viewer"]["registrations"]["edges"]
    assert [(e["node"]["status"], e["node"]["event"]["title"]) for e in edges] == [
        ("WAITLISTED", "Climate fresk")
    ]
    cancelled = await gql(client, CANCEL, {"id": seated["registration"]["id"]}, first_token)
    assert cancelled["registrationCancel"]["registration"]["status"] == "CANCELLED"
    promoted = await gql(client, MINE, token=second_token)
    assert promoted["viewer"]["registrations"]["edges"][0]["node"]["status"] == "REGISTERED"
    assert (await gql(client, SEATS, {"id": event_id}))["node"] == {"seatsTaken": 1,
                                                                      "seatsLeft": 0}
    anonymous = await gql(client, REGISTER, {"id": event_id})
    assert anonymous["eventRegister"]["__typename"] == "UnauthenticatedError"


CREATE = """mutation($input: EventCreateInput!) { eventCreate(input: $input) {
  __typename ... on EventPayload { event { id status } } ... on Error { code }
  ... on ValidationError { fields { field } } } }"""
PUBLISH = """mutation($id: ID!) { eventPublish(input: {id: $id}) {
  __typename ... on EventPayload { event { status checkInCode } } ... on Error { code } } }"""
CHECK_IN = """mutation($id: ID!) { registrationCheckIn(input: {id: $id}) {
  __typename ... on RegistrationPayload { registration { status checkedInAt } }
  ... on Error { code } } }"""


async def test_organizer_runs_an_event_and_outsiders_cannot(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    places = await world(factory)
    organizer = await factory.member(places["france"], "organizer")
    token = await factory.token(organizer, ["events:write", "registrations:write", "profile"])
    outsider = await factory.member(places["lagos"], "organizer")
    outsider_token = await factory.token(outsider, ["events:write"])
    start = datetime.now(UTC) + timedelta(days=3)
    event_input = {
        "chapterId": to_global_id("Chapter", places["paris"].id), "title": "Workshop",
        "format": "IN_PERSON", "timezone": "Europe/Paris", "language": "fr",
        "venueName": "La Ruche", "startsAt": start.isoformat(),
        "endsAt": (start + timedelta(hours=2)).isoformat(), "capacity": 20,
    }
    denied = await gql(client, CREATE, {"input": event_input}, outsider_token)
    assert denied["eventCreate"]["__typename"] == "ForbiddenError"
    invalid = await gql(client, CREATE, {"input": {**event_input, "timezone": "Mars/Olympus"}},
                        token)
    assert invalid["eventCreate"]["__typename"] == "ValidationError"
    assert [f["field"] for f in invalid["eventCreate"]["fields"]] == ["timezone"]
    created = (await gql(client, CREATE, {"input": event_input}, token))["eventCreate"]
    assert created["event"]["status"] == "DRAFT"
    event_id = created["event"]["id"]
    published = (await gql(client, PUBLISH, {"id": event_id}, token))["eventPublish"]
    assert published["event"]["status"] == "PUBLISHED"
    assert published["event"]["checkInCode"]
    attendee = await factory.person()
    attendee_token = await factory.token(attendee, ["profile", "registrations:write"])
    seat = (await gql(client, REGISTER, {"id": event_id}, attendee_token))["eventRegister"]
    registration_id = seat["registration"]["id"]
    refused = await gql(client, CHECK_IN, {"id": registration_id}, outsider_token)
    assert refused["registrationCheckIn"]["__typename"] in {"ForbiddenError", "NotFoundError"}
    checked = (await gql(client, CHECK_IN, {"id": registration_id}, token))["registrationCheckIn"]
    assert checked["registration"]["status"] == "ATTENDED"
    assert checked["registration"]["checkedInAt"]
