"""`/v1/people` and `/v1/me`: volunteers' profiles, within what the caller may see."""

import uuid

from pydantic import Field

from makesense_api.authz.principal import Scope
from makesense_api.events import registrations
from makesense_api.events.models import RegistrationStatus
from makesense_api.events.schemas import RegistrationView
from makesense_api.feeds import collections
from makesense_api.feeds import registrations as registration_feeds
from makesense_api.feeds.changes import Gone
from makesense_api.kit.pagination import Page
from makesense_api.people import service as people
from makesense_api.people.schemas import PersonCreate, PersonView
from makesense_api.rest import schemas
from makesense_api.rest.operations import Call, NoQuery, Registry
from makesense_api.rest.params import FeedQuery

api = Registry("people")


class PeopleQuery(FeedQuery):
    chapter_id: uuid.UUID | None = Field(
        default=None, description="Members of this chapter's subtree."
    )
    skill: str | None = Field(default=None, max_length=64)


class PersonRegistration(PersonCreate):
    home_chapter_id: uuid.UUID = Field(
        description="The chapter the person joins as a member (one the caller organizes)."
    )


class MyRegistrationQuery(FeedQuery):
    status: RegistrationStatus | None = None


@api.get(
    "/people", "List people", response=schemas.Person, collection=True,
    scope=Scope.PEOPLE_READ, feed=True,
)
async def list_people(c: Call[PeopleQuery, None]) -> Page[PersonView] | Page[PersonView | Gone]:
    """People the caller may see: members of chapters they organize (with `people:read`), and
    themself. Contact details follow the same rule. With `updated_since`, people who joined
    those chapters come back, and those who left them (or the caller's reach) as gone."""
    q = c.query
    if q.updated_since is not None:
        return await collections.people_changes(c.ctx, q.updated_since, q.cursor, q.limit)
    return await people.list_people(c.ctx, q.chapter_id, q.skill, q.cursor, q.limit)


@api.post(
    "/people", "Register a person", response=schemas.Person, status=201,
    scope=Scope.PEOPLE_WRITE,
    location=lambda v: f"/v1/people/{v.id}",
)
async def create_person(c: Call[NoQuery, PersonRegistration]) -> PersonView:
    """Register a person without a login as a member of a chapter (its organizers, and
    partner tools granted `people:write` there)."""
    return await people.create(c.ctx, c.body.home_chapter_id, c.body)


@api.get("/people/{person_id:uuid}", "Get a person", response=schemas.Person,
         scope=Scope.PEOPLE_READ)
async def get_person(c: Call[NoQuery, None]) -> PersonView:
    """One person, if the caller may see them."""
    return await people.get(c.ctx, c.id("person_id"))


@api.get("/me", "Who am I", response=schemas.Me, scope=Scope.PROFILE)
async def get_me(c: Call[NoQuery, None]) -> people.CallerView:
    """The caller: the token's scopes and chapter reach, and the person's own profile when
    the token carries `profile`."""
    return await people.caller(c.ctx)


@api.get(
    "/me/registrations", "My registrations", response=schemas.Registration, collection=True,
    scope=Scope.PROFILE, feed=True,
)
async def my_registrations(
    c: Call[MyRegistrationQuery, None],
) -> Page[RegistrationView] | Page[RegistrationView | Gone]:
    """The caller's own registrations, in the order they were made (`profile` or
    `registrations:read`); with `updated_since`, those changed since."""
    q = c.query
    if q.updated_since is not None:
        return await registration_feeds.my_changes(c.ctx, q.updated_since, q.cursor, q.limit)
    status = q.status.value if q.status else None
    return await registrations.my_registrations(c.ctx, q.cursor, q.limit, status)
