"""Registering people and editing one's profile through GraphQL."""

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.graphql.relay import to_global_id
from makesense_api.people.models import Person
from tests.factories import Factory
from tests.gql import run

CREATE = """mutation($input: PersonCreateInput!) { personCreate(input: $input) {
  __typename ... on PersonPayload { person { displayName email skills homeChapter { slug } } }
  ... on Error { code } ... on ValidationError { fields { field } } } }"""
UPDATE = """mutation($input: PersonUpdateInput!) { personUpdate(input: $input) {
  __typename ... on PersonPayload { person { displayName city causes } }
  ... on Error { code } ... on ValidationError { fields { field } } } }"""


async def people_count(session: AsyncSession) -> int:
    return (await session.exec(select(func.count()).select_from(Person))).one()


async def test_organizers_register_people_and_people_edit_themselves(
    session: AsyncSession, factory: Factory
) -> None:
    tree = await factory.tree()
    paris = to_global_id("Chapter", tree["paris"].id)
    organizer = Principal.person(await factory.member(tree["paris"], "organizer"))
    new = {"chapterId": paris, "displayName": "Awa", "email": "awa@example.org",
           "skills": ["Web Design"]}
    made = (await run(session, CREATE, {"input": new}, principal=organizer))["personCreate"]
    assert made["person"] == {"displayName": "Awa", "email": "awa@example.org",
                              "skills": ["web-design"], "homeChapter": {"slug": "paris"}}
    outsider = Principal.person(await factory.member(tree["lagos"], "organizer"))
    before = await people_count(session)
    bad = await run(session, CREATE, {"input": {**new, "causes": [18]}}, principal=organizer)
    assert bad["personCreate"]["__typename"] == "ValidationError"
    assert bad["personCreate"]["fields"] == [{"field": "causes.0"}]
    denied = await run(session, CREATE, {"input": new}, principal=outsider)
    assert denied["personCreate"]["__typename"] == "ForbiddenError"
    assert await people_count(session) == before

    me = await factory.member(tree["paris"])
    mine = {"id": to_global_id("Person", me), "city": "Paris", "causes": [13, 4]}
    edited = await run(session, UPDATE, {"input": mine}, principal=Principal.person(me))
    assert edited["personUpdate"]["person"]["causes"] == [4, 13]
    other = await run(session, UPDATE, {"input": mine}, principal=organizer)
    assert other["personUpdate"]["__typename"] == "ForbiddenError"
    anonymous = await run(session, UPDATE, {"input": mine})
    assert anonymous["personUpdate"]["__typename"] == "NotFoundError"
